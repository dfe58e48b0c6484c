// shell.mjs: what the console and the portal share around their views: the menu, the account
// area, the sign-in guard (the right role for the right app) and signing out.
import { session } from './api.mjs';
import { accountArea, appFor, signedOutBanner, signInView, wrongAppView } from './auth.mjs';
import { route, setFlash, start } from './router.mjs';
import { clear, h } from './ui.mjs';

// Starts an app: `app` is 'console' or 'portal', `nav` [{ href, text, show?(session) }],
// `routes` as router.start takes them.
export function startApp({ app, service, nav, routes }) {
  const main = document.getElementById('main-content');
  const navEl = document.getElementById('app-nav');
  const list = document.getElementById('navigation');
  const account = document.getElementById('account');

  // On a phone the menu is behind a toggle (GOV.UK's service navigation): it closes once the
  // user has gone somewhere, through the component's own toggle so its state stays right.
  const closeMenu = () => {
    const toggle = navEl.querySelector('.govuk-service-navigation__toggle');
    if (toggle && !toggle.hidden && toggle.getAttribute('aria-expanded') === 'true') {
      toggle.click();
    }
  };

  const drawNav = (path) => {
    closeMenu();
    clear(list);
    const s = session();
    navEl.hidden = !s || appFor(s.role) !== app;
    if (navEl.hidden) {
      return;
    }
    for (const item of nav) {
      if (item.show && !item.show(s)) {
        continue;
      }
      const target = item.href.slice(1);
      const active = target === '/' ? path === '/' : path === target || path.startsWith(`${target}/`);
      const a = h('a', { class: 'govuk-service-navigation__link', href: item.href, 'aria-current': active ? 'page' : null }, active ? h('strong', { class: 'govuk-service-navigation__active-fallback', text: item.text }) : item.text);
      list.append(h('li', { class: `govuk-service-navigation__item${active ? ' govuk-service-navigation__item--active' : ''}` }, a));
    }
  };

  const guard = async () => {
    const s = session();
    accountArea(account);
    if (!s) {
      drawNav('');
      signInView(app, async () => {
        accountArea(account);
        if (appFor(session()?.role) !== app) {
          drawNav('');
          wrongAppView(app);
          return;
        }
        drawNav('/');
        await route();
      });
      return false;
    }
    if (appFor(s.role) !== app) {
      drawNav('');
      wrongAppView(app);
      return false;
    }
    return true;
  };

  window.addEventListener('mpact:signed-out', (e) => {
    if (!e.detail?.expired) {
      setFlash(signedOutBanner());
    }
    accountArea(account);
    drawNav('');
    signInView(app, async () => {
      accountArea(account);
      if (appFor(session()?.role) !== app) {
        wrongAppView(app);
        return;
      }
      drawNav('/');
      await route();
    }, { expired: Boolean(e.detail?.expired) });
  });

  start({ main, service, routes, guard, onRoute: drawNav });
}
