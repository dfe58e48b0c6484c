// router.mjs: hash routes (#/organisations/<id>?q=...) for the console and the portal. Each view
// renders into <main>; on every view the document title is set and focus moves to the h1 (or to
// the error summary or success banner when there is one), so screen readers announce the page.
import { ApiError } from './api.mjs';
import { clear, h, heading, link, p } from './ui.mjs';

let app = null; // { main, service, routes, fallback }
let generation = 0;
let flash = null;

// Shows `node` (a banner) at the top of the next view rendered.
export function setFlash(node) {
  flash = node;
}

export function navigate(hash) {
  if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

// The current route's query (after '?' in the hash) as an object.
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path: path || '/', query: Object.fromEntries(new URLSearchParams(qs)) };
}

export function hashWith(path, query) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') {
      qs.set(k, v);
    }
  }
  const text = qs.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

function match(pattern, path) {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) {
    return null;
  }
  const params = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) {
      if (!b[i]) {
        return null;
      }
      params[a[i].slice(1)] = decodeURIComponent(b[i]);
    } else if (a[i] !== b[i]) {
      return null;
    }
  }
  return params;
}

// Focus order: error summary, success banner, then the h1.
export function focusFirst() {
  const main = app.main;
  const target =
    main.querySelector('.govuk-error-summary') ??
    main.querySelector('.govuk-notification-banner--success') ??
    main.querySelector('h1');
  target?.focus();
}

// Replaces the view: `title` becomes the document title, `nodes` the content of <main>.
export function render(title, ...nodes) {
  clear(app.main);
  if (flash) {
    app.main.append(flash);
    flash = null;
  }
  app.main.append(...nodes.flat().filter(Boolean));
  document.title = `${title} – ${app.service} – M-PACT Registry`;
  focusFirst();
  window.scrollTo(0, 0);
}

// The current view's generation: an async view checks it before rendering, so a slow answer
// never overwrites the page the user has moved on to.
export function current() {
  return generation;
}

export function stale(gen) {
  return gen !== generation;
}

export function renderError(err) {
  if (err instanceof ApiError && err.status === 404) {
    render('Page not found', heading('Page not found'), p('There is no such record, or you cannot see it.'), p(link('Go to the start', '#/')));
  } else if (err instanceof ApiError && err.status === 403) {
    render('Not allowed', heading('You cannot do this'), p(err.problem.detail ?? 'Your account is not allowed to see this page.'), p(link('Go to the start', '#/')));
  } else {
    render(
      'Sorry, there is a problem',
      heading('Sorry, there is a problem with the service'),
      p('Try again later.'),
      err instanceof ApiError && err.problem.detail ? p(h('span', { text: err.problem.detail })) : null,
    );
    if (!(err instanceof ApiError)) {
      // A bug in this page, not an answer from the service: leave a trace for whoever debugs it.
      console.warn(err);
    }
  }
}

export async function route() {
  const gen = ++generation;
  const { path, query } = parseHash();
  for (const r of app.routes) {
    const params = match(r.path, path);
    if (params) {
      try {
        await r.view({ params, query, gen });
      } catch (err) {
        if (!stale(gen)) {
          renderError(err);
        }
      }
      app.onRoute?.(path);
      return;
    }
  }
  render('Page not found', heading('Page not found'), p(link('Go to the start', '#/')));
}

// Starts the router: `guard()` runs before each route and may render something else instead
// (the sign-in page) by returning false.
export function start({ main, service, routes, guard, onRoute }) {
  app = { main, service, routes, onRoute };
  const run = async () => {
    if (guard && !(await guard())) {
      return;
    }
    await route();
  };
  window.addEventListener('hashchange', run);
  run();
  return run;
}
