// auth.mjs: signing in (POST /v1/auth/token), the wrong-app page, and signing out
// (POST /v1/auth/logout). Tokens are kept by api.mjs in sessionStorage.
import { api, ApiError, clearSession, session, setSession } from './api.mjs';
import { form, showProblem } from './forms.mjs';
import { render } from './router.mjs';
import { banner, button, h, heading, link, p } from './ui.mjs';

const APPS = {
  console: { path: '/console', name: 'licensing body console', roles: ['admin', 'commissioner'] },
  portal: { path: '/portal', name: 'licensee portal', roles: ['org_admin', 'org_staff'] },
};

export function appFor(role) {
  return Object.entries(APPS).find(([, a]) => a.roles.includes(role))?.[0] ?? null;
}

// Renders the sign-in page of `app` ('console' or 'portal'); onSignedIn() runs after success.
export function signInView(app, onSignedIn, { expired = false } = {}) {
  const specs = [
    { name: 'email', label: 'Email address', type: 'email', autocomplete: 'username', spellcheck: 'false' },
    { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
  ];
  const f = form({
    specs,
    submit: 'Sign in',
    id: 'sign-in',
    onSubmit: async (v, el) => {
      const missing = [];
      if (!v.email) {
        missing.push({ field: 'email', detail: 'Enter your email address' });
      }
      if (!v.password) {
        missing.push({ field: 'password', detail: 'Enter your password' });
      }
      if (missing.length) {
        throw new ApiError(422, { errors: missing });
      }
      try {
        const { data } = await api('/v1/auth/token', { method: 'POST', body: { email: v.email, password: v.password }, auth: false });
        setSession(data, v.email);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          showProblem(el, new ApiError(422, { errors: [{ field: 'email', detail: 'Enter a correct email address and password' }] }), {
            describe: (e) => e.detail,
          });
          return;
        }
        throw err;
      }
      await onSignedIn();
    },
    describe: (e) => e.detail,
  });
  render(
    'Sign in',
    heading(`Sign in to the ${APPS[app].name}`),
    expired ? p('Your session has ended. Sign in again to carry on.') : null,
    p(app === 'console' ? 'For the M-PACT licensing body’s staff, and for commissioners reading the delivery briefing for their areas.' : 'For staff of organisations licensed to deliver M-PACT.'),
    f,
  );
}

// The page for a user whose role belongs to the other app.
export function wrongAppView(app) {
  const s = session();
  const other = appFor(s?.role);
  render(
    'Wrong service',
    heading(`This is the ${APPS[app].name}`),
    p(
      app === 'console'
        ? 'You are signed in with a licensee account. The console is only for the M-PACT licensing body and commissioners.'
        : s?.role === 'commissioner'
          ? 'You are signed in with a commissioner’s account. Commissioners read the delivery briefing in the console.'
          : 'You are signed in with a licensing body account. The portal is for licensed organisations.',
    ),
    other
      ? p(h('a', { class: 'govuk-link', href: APPS[other].path, id: 'other-app', text: `Go to the ${APPS[other].name}` }))
      : p('Your account has no access to either service.'),
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          await signOut();
        },
      },
      button('Sign out', { variant: 'secondary' }),
    ),
  );
}

export async function signOut() {
  const s = session();
  clearSession();
  if (s?.refresh_token) {
    try {
      await api('/v1/auth/logout', { method: 'POST', body: { refresh_token: s.refresh_token }, auth: false });
    } catch {
      // The session is gone here whatever the service answers.
    }
  }
  window.dispatchEvent(new CustomEvent('mpact:signed-out', { detail: { expired: false } }));
}

export function signedOutBanner() {
  return banner('You have signed out', null, { success: true });
}

// Fills the header's account area: who is signed in and a sign-out button.
export function accountArea(el) {
  while (el.firstChild) {
    el.firstChild.remove();
  }
  const s = session();
  if (!s) {
    return;
  }
  el.append(
    h('span', { class: 'govuk-body-s govuk-!-margin-right-2', text: `Signed in as ${s.email ?? s.role}` }),
    h(
      'button',
      {
        type: 'button',
        class: 'govuk-button govuk-button--secondary govuk-!-margin-bottom-0',
        id: 'sign-out',
        onclick: () => signOut(),
      },
      'Sign out',
    ),
  );
}

export { link };
