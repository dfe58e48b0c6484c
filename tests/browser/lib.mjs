// lib.mjs: what every browser test (tests/browser/<name>.test.mjs) shares.
//
// A browser test is a node:test script run by tests/integration/browser_run.c against the real
// server on a fresh database holding the demo data. Its environment:
//   BASE_URL        http://127.0.0.1:<port> of the server
//   DEMO_PASSWORD   the password of every demo account
//   SCREENSHOT_DIR  where shot() writes (exists)
//   CHROMIUM        the browser binary (/usr/bin/chromium)
//   DATABASE_URL    libpq conninfo of the test database (for the rare check that needs SQL)
//
//     import { test } from 'node:test';
//     import assert from 'node:assert/strict';
//     import { openBrowser, assertCleanPage, checkA11y, shot, url } from './lib.mjs';
//
//     test('home page', async () => {
//       const { browser, page } = await openBrowser();
//       try {
//         await page.goto(url('/'));
//         assert.equal(await page.title(), 'M-PACT Registry');
//         await checkA11y(page, 'home');
//         await shot(page, 'home');
//         assertCleanPage(page);
//       } finally {
//         await browser.close();
//       }
//     });
//
// Other helpers may ADD exports at the end of this file; the existing ones keep their meaning.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function env(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`lib.mjs: ${name} is not set (run browser tests through ctest: browser_run)`);
  }
  return v;
}

// BASE_URL + path.
export function url(p) {
  return env('BASE_URL') + p;
}

// What a page reported: console errors, uncaught errors and CSP violations, per page.
const problems = new WeakMap();

function record(page, what) {
  problems.get(page)?.push(what);
}

function watch(page) {
  if (problems.has(page)) {
    return;
  }
  problems.set(page, []);
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      // Chromium reports a page answered with 4xx/5xx as a failed resource. The page's own
      // status is the test's to check (an unknown postcode is a 404 on purpose); a failed
      // script, style sheet or image still counts.
      if (msg.text().startsWith('Failed to load resource') && loc?.url && loc.url === page.url()) {
        return;
      }
      record(page, `console error: ${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
    } else if (msg.type() === 'warning' && msg.text().startsWith('mpact-csp-violation ')) {
      record(page, `CSP violation: ${msg.text().slice('mpact-csp-violation '.length)}`);
    }
  });
  page.on('pageerror', (err) => record(page, `page error: ${err.message}`));
}

// Reported to the console, where watch() sees it (also for violations in frames and workers).
function cspListener() {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.warn(
      `mpact-csp-violation ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}` +
        ` at ${e.sourceFile || document.location.href}:${e.lineNumber}`,
    );
  });
}

// Starts Debian's chromium headless through playwright-core and opens one page of the given
// size, with JavaScript on or off. The page records console errors, page errors and CSP
// violations for assertCleanPage. Close with browser.close().
export async function openBrowser({ javaScript = true, width = 1280, height = 900 } = {}) {
  const browser = await chromium.launch({
    executablePath: env('CHROMIUM'),
    headless: true,
    args: [
      '--no-sandbox', // tests run as root
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const context = await browser.newContext({
      javaScriptEnabled: javaScript,
      viewport: { width, height },
      locale: 'en-GB',
      timezoneId: 'Europe/London',
    });
    // Generous: the suite runs two tests at a time on two cores, once under ASan, and some steps
    // wait on a password hash (sign-in, API client secrets).
    context.setDefaultTimeout(60000);
    context.setDefaultNavigationTimeout(60000);
    context.on('page', (p) => {
      watch(p);
      if (!javaScript) {
        noScript.add(p);
      }
    });
    await context.addInitScript(cspListener);
    const page = await context.newPage();
    watch(page);
    if (!javaScript) {
      noScript.add(page);
    }
    return { browser, context, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

// Throws if the page saw any console error, uncaught page error or CSP violation so far. (The
// error Chromium logs for a page whose own HTTP status is 4xx or 5xx is not counted: check
// that status in the test; a subresource that fails to load is counted.)
export function assertCleanPage(page) {
  const seen = problems.get(page) ?? [];
  if (seen.length > 0) {
    throw new Error(`page ${page.url()} is not clean:\n  ${seen.join('\n  ')}`);
  }
}

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
let axeSource;

// Pages opened with JavaScript off (axe cannot run in them: evaluation waits for a script
// context that never comes).
const noScript = new WeakSet();

async function axeViolations(page) {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) {
    await page.evaluate(axeSource);
  }
  return page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  }, AXE_TAGS);
}

// For a page without JavaScript: its document as the browser built it (read over CDP, which
// needs no script), without its <script> elements, is served at the same address to a page of
// the same size with JavaScript on (so axe can run) in a context of its own; the style sheets
// and images still come from the server. What axe sees is what the user without JavaScript got.
async function axeViolationsNoScript(page) {
  const cdp = await page.context().newCDPSession(page);
  let html;
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    ({ outerHTML: html } = await cdp.send('DOM.getOuterHTML', { nodeId: root.nodeId }));
  } finally {
    await cdp.detach();
  }
  html = '<!DOCTYPE html>' + html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
  const address = page.url().replace(/#.*$/, '');
  const side = await page.context().browser().newContext({
    viewport: page.viewportSize(),
    locale: 'en-GB',
  });
  try {
    const copy = await side.newPage();
    await copy.route(
      (u) => u.href.replace(/#.*$/, '') === address,
      (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
    );
    await copy.goto(address);
    return await axeViolations(copy);
  } finally {
    await side.close();
  }
}

// Runs axe-core on the page (WCAG 2.0/2.1 A and AA, 2.2 AA) and throws listing every violation.
// axe is injected by evaluation (not a <script>), which the page's CSP does not block.
export async function checkA11y(page, label) {
  const violations = noScript.has(page) ? await axeViolationsNoScript(page) : await axeViolations(page);
  if (violations.length > 0) {
    const text = violations
      .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join('\n    ')}`)
      .join('\n  ');
    throw new Error(`axe: ${violations.length} violation(s) on ${label} (${page.url()}):\n  ${text}`);
  }
}

// Saves a full-page PNG as SCREENSHOT_DIR/<name>.png and returns its path.
export async function shot(page, name) {
  const file = path.join(env('SCREENSHOT_DIR'), `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Added for the console and portal tests (CONSOLE) ---------------------------------------------

// Signs in to the console or the portal (`app` 'console' | 'portal') as a demo account and waits
// for the first view after sign-in. Returns the page.
export async function signIn(page, app, email) {
  await page.goto(url(`/${app}`));
  await page.locator('#f-email').fill(email);
  await page.locator('#f-password').fill(env('DEMO_PASSWORD'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#account button#sign-out').waitFor();
  return page;
}

// The signed-in user's access token, as the page keeps it (to check results through the API).
export async function pageToken(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('mpact-registry.session')).access_token);
}

// GET (or another method) on the API with a bearer token; returns { status, body }.
export async function apiAs(token, path, { method = 'GET', body } = {}) {
  const res = await fetch(url(path), {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// The browser reports every HTTP error answer to a fetch as a console error ("Failed to load
// resource: ... status of 422"). Where a test provokes such an answer on purpose (a wrong
// password, a form the service refuses), it calls this right after: it drops those reports for
// the given statuses, and returns how many it dropped (the caller asserts there was one). Every
// other console error, page error and CSP violation still fails assertCleanPage.
export function forgiveFailedRequests(page, statuses) {
  const seen = problems.get(page) ?? [];
  const re = new RegExp(`^console error: Failed to load resource: the server responded with a status of (${statuses.join('|')}) `);
  const keep = seen.filter((s) => !re.test(s));
  const dropped = seen.length - keep.length;
  seen.splice(0, seen.length, ...keep);
  return dropped;
}

// The date n days from today (UTC), as YYYY-MM-DD.
export function daysFromNow(n) {
  return new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
}

// Every view a test visits goes through this: it is drawn (an h1), accessible, clean, and
// photographed as `<prefix>-<name>`.
export async function view(page, prefix, name) {
  await page.locator('h1').first().waitFor();
  await checkA11y(page, name);
  await shot(page, `${prefix}-${name}`);
  assertCleanPage(page);
}

// Runs fn(page) in a fresh browser (openBrowser's options), closing it whatever happens.
export async function withBrowser(fn, opts) {
  const { browser, page } = await openBrowser(opts);
  try {
    await fn(page);
  } finally {
    await browser.close();
  }
}

// Added for the Design System screens (SCREENS) ---------------------------------------------

// The widths every console and portal screen is checked at: a desktop and a phone.
export const DESKTOP = 1280;
export const PHONE_WIDTH = 390;

// Fills the GOV.UK date input `name` (its boxes #f-<name>, #f-<name>-month, #f-<name>-year) with
// an ISO date (YYYY-MM-DD).
export async function fillDate(page, name, iso) {
  const [y, m, d] = iso.split('-');
  await page.locator(`#f-${name}`).fill(String(Number(d)));
  await page.locator(`#f-${name}-month`).fill(String(Number(m)));
  await page.locator(`#f-${name}-year`).fill(y);
}

// Throws unless the page fits its width: nothing makes the document scroll sideways (a wide
// table scrolls inside its own region instead).
export async function assertFits(page, label) {
  const { doc, win, wide } = await page.evaluate(() => {
    const w = window.innerWidth;
    // The innermost elements that reach past the window, named for the message.
    const out = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > w + 0.5 && ![...el.children].some((c) => c.getBoundingClientRect().right > w + 0.5))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)} px)`);
    return { doc: document.documentElement.scrollWidth, win: w, wide: out };
  });
  if (doc > win) {
    throw new Error(`${label}: the page is ${doc} px wide in a ${win} px window: ${wide.join(', ')}`);
  }
}

// The error summary's items and the messages by the fields, in words: { summary: [text],
// fields: [text] } (without GOV.UK's hidden "Error:" prefix).
export async function errorTexts(page) {
  return page.evaluate(() => ({
    summary: [...document.querySelectorAll('.govuk-error-summary__list li')].map((li) => li.textContent.trim()),
    fields: [...document.querySelectorAll('.govuk-error-message [data-error]')].map((s) => s.textContent.trim()),
  }));
}

// Throws unless every field message says exactly what its line in the summary says, and no
// message ends in a full stop (the Design System's error messages have none).
export async function assertErrorsAgree(page) {
  const { summary, fields } = await errorTexts(page);
  for (const t of fields) {
    if (!summary.includes(t)) {
      throw new Error(`the field message "${t}" is not in the error summary: ${JSON.stringify(summary)}`);
    }
  }
  for (const t of summary) {
    if (/\.$/.test(t)) {
      throw new Error(`the error message "${t}" ends in a full stop`);
    }
  }
  return { summary, fields };
}

// Throws if the page shows a date with an abbreviated month ("2 Dec 2026") or a bare 24-hour
// timestamp beside a date ("2 December 2026, 07:19").
export async function assertDatesInWords(page, label) {
  const text = await page.locator('main').innerText();
  const short = /\b\d{1,2} (Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec) \d{4}\b/.exec(text);
  const stamp = /\d{4}, \d{2}:\d{2}/.exec(text);
  if (short || stamp) {
    throw new Error(`${label}: a date not in words: "${(short ?? stamp)[0]}"`);
  }
}

// view() at both widths: the screen as it is (a desktop, 1280 px), then at a phone's 390 px
// (axe, fits the width, dates in words, a screenshot `<prefix>-<name>-390`), then back.
export async function viewBoth(page, prefix, name) {
  const size = page.viewportSize();
  await page.locator('h1').first().waitFor();
  await checkA11y(page, name);
  await assertFits(page, name);
  await assertDatesInWords(page, name);
  await shot(page, `${prefix}-${name}`);
  await page.setViewportSize({ width: PHONE_WIDTH, height: size.height });
  try {
    await page.waitForTimeout(150);
    await checkA11y(page, `${name} at ${PHONE_WIDTH} px`);
    await assertFits(page, `${name} at ${PHONE_WIDTH} px`);
    await shot(page, `${prefix}-${name}-${PHONE_WIDTH}`);
  } finally {
    await page.setViewportSize(size);
  }
  assertCleanPage(page);
}
