// harness.test.mjs: the browser-test harness works end to end. The server started by browser_run
// answers at BASE_URL with the demo data loaded (a demo account signs in with DEMO_PASSWORD);
// the start page loads in chromium, with and without JavaScript, axe-clean and clean
// (no console error, page error or CSP violation); and the checks can fail: an inline script
// (refused by the CSP), a thrown error and an image without alt text are each caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { assertCleanPage, checkA11y, openBrowser, shot, url } from './lib.mjs';

test('the server has the demo data and the demo password', async () => {
  const res = await fetch(url('/v1/auth/token'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'admin@mpact-registry.example', password: process.env.DEMO_PASSWORD }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(typeof body.access_token, 'string');
});

for (const javaScript of [true, false]) {
  test(`the start page loads clean and accessible (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
    const { browser, page } = await openBrowser({ javaScript });
    try {
      const res = await page.goto(url('/'));
      assert.equal(res.status(), 200);
      assert.match(await page.title(), /M-PACT Registry/);
      assert.equal(await page.locator('h1').count(), 1);
      if (javaScript) {
        // init.js ran: GOV.UK Frontend's body classes are set.
        assert.match((await page.getAttribute('body', 'class')) ?? '', /govuk-frontend-supported/);
      }
      await checkA11y(page, 'start page');
      await shot(page, `start-js-${javaScript ? 'on' : 'off'}`);
      assertCleanPage(page);
    } finally {
      await browser.close();
    }
  });
}

test('the checks catch a CSP violation, a page error and an accessibility failure', async () => {
  const { browser, page } = await openBrowser();
  try {
    await page.goto(url('/'));
    assertCleanPage(page);
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true;';
      document.body.append(s);
    });
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.inlineRan), undefined, 'the CSP let an inline script run');
    assert.throws(() => assertCleanPage(page), /CSP violation: script-src/);
  } finally {
    await browser.close();
  }

  const b2 = await openBrowser();
  try {
    await b2.page.goto(url('/'));
    await b2.page.evaluate(() => setTimeout(() => { throw new Error('deliberate'); }, 0));
    await b2.page.waitForTimeout(200);
    assert.throws(() => assertCleanPage(b2.page), /page error: deliberate/);

    await b2.page.evaluate(() => {
      const img = document.createElement('img');
      img.src = '/assets/govuk/images/favicon.ico';
      document.querySelector('main').append(img);
    });
    await assert.rejects(checkA11y(b2.page, 'broken'), /image-alt/);
  } finally {
    await b2.browser.close();
  }
});
