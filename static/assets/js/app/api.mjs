// api.mjs: the one way the console and the portal talk to the registry: the /v1 JSON API with
// the signed-in user's bearer token.
//
// - Tokens live in sessionStorage (this tab only; gone when it closes), never in localStorage.
// - A 401 on a signed-in request refreshes once through POST /v1/auth/refresh (refresh tokens
//   are single use: concurrent 401s share one refresh) and repeats the request; when the
//   refresh fails the session ends and the app shows the sign-in page.
// - GET answers carry their ETag; PATCH sends it back as If-Match.
// - Anything but 2xx throws an ApiError holding the RFC 9457 problem.

const KEY = 'mpact-registry.session';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }

  // [{ field, detail, rule?, ... }] of a 422, or [] for other problems.
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

// The session: { access_token, refresh_token, role, org, sub, email } or null.
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
}

// Reads the claims of an access token (the server verified it; this only reads role and org).
function claims(token) {
  const part = token.split('.')[1] ?? '';
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export function setSession(tokens, email) {
  const c = claims(tokens.access_token);
  const s = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    role: c.role,
    org: c.org ?? null,
    sub: c.sub,
    email: email ?? session()?.email ?? null,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

let refreshing = null;

async function refresh() {
  const s = session();
  if (!s?.refresh_token) {
    return false;
  }
  refreshing ??= (async () => {
    try {
      const res = await fetch('/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      });
      if (!res.ok) {
        return false;
      }
      setSession(await res.json());
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => {
        refreshing = null;
      }, 0);
    }
  })();
  return refreshing;
}

async function parse(res) {
  const type = res.headers.get('Content-Type') ?? '';
  if (res.status === 204 || res.headers.get('Content-Length') === '0') {
    return null;
  }
  if (type.includes('json')) {
    try {
      return await res.json();
    } catch {
      return null;
    }
  }
  return await res.text();
}

// api(path, { method, body, query, etag }) -> { status, data, etag }. `query` is an object whose
// empty values are left out. Throws ApiError.
export async function api(path, { method = 'GET', body, query, etag, auth = true } = {}) {
  let target = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') {
        qs.set(k, String(v));
      }
    }
    const text = qs.toString();
    if (text) {
      target += `?${text}`;
    }
  }
  const send = () => {
    const headers = { Accept: 'application/json' };
    const s = session();
    if (auth && s?.access_token) {
      headers.Authorization = `Bearer ${s.access_token}`;
    }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    if (etag) {
      headers['If-Match'] = etag;
    }
    return fetch(target, {
      method,
      headers,
      body: body !== undefined ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  };
  let res = await send();
  if (res.status === 401 && auth && session()) {
    if (await refresh()) {
      res = await send();
    } else {
      clearSession();
      window.dispatchEvent(new CustomEvent('mpact:signed-out', { detail: { expired: true } }));
    }
  }
  const data = await parse(res);
  if (!res.ok) {
    throw new ApiError(res.status, data && typeof data === 'object' ? data : { title: `HTTP ${res.status}`, detail: String(data ?? '') });
  }
  return { status: res.status, data, etag: res.headers.get('ETag') };
}

export const get = (path, query) => api(path, { query }).then((r) => r.data);

// Every page of a list (for small lists: a form's choices). Stops after `max` items.
export async function getAll(path, query = {}, max = 500) {
  const items = [];
  let cursor;
  do {
    const { data } = await api(path, { query: { ...query, limit: 100, cursor } });
    items.push(...data.items);
    cursor = data.next_cursor;
  } while (cursor && items.length < max);
  return items;
}
