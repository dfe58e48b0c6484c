// enquiry.test.mjs: "Ask about a place" as a worried parent would, on a 320 px phone without
// JavaScript, and again with it (to measure that nothing scrolls sideways). BROWSER_TIMEOUT=300
//
// The Gun Wharf Family Centre's organisation takes enquiries (set here with SQL). From the
// results for ME4 4UH the parent follows "Ask about a place", sends the form empty (the error
// summary names each answer, the title starts "Error:"), then fills it in and sends it: the
// confirmation says the enquiry was passed on and that the registry kept no copy, and the
// enquiry waits sealed in the outbox (the test server's relay is never reachable). Every page:
// no axe violation (WCAG 2.2 AA), no console error, page error or CSP violation, a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { assertCleanPage, checkA11y, openBrowser, shot, url } from './lib.mjs';

const PHONE = { width: 320, height: 640 };

function sql(query) {
  return execFileSync('psql', [process.env.DATABASE_URL, '-qAtc', query]).toString().trim();
}

sql(
  "UPDATE organisation SET enquiries_enabled = true, enquiry_email = 'enquiries@gunwharf.example'" +
    " WHERE id = (SELECT organisation_id FROM location WHERE name = 'Gun Wharf Family Centre' LIMIT 1)",
);

async function checkPage(page, name, javaScript) {
  await checkA11y(page, name);
  await shot(page, name);
  assertCleanPage(page);
  if (javaScript) {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `${name}: the page is ${width} px wide`);
  }
}

for (const javaScript of [false, true]) {
  const mode = javaScript ? 'js' : 'nojs';

  test(`ask about a place from a phone (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
    const { browser, page } = await openBrowser({ javaScript, ...PHONE });
    try {
      const before = Number(sql('SELECT count(*) FROM enquiry_outbox'));
      await page.goto(url('/find?postcode=ME4+4UH&radius=10'));
      await page.getByRole('heading', { name: /^M-PACT within 6 miles \(10 km\) of ME4 4UH/ }).waitFor();
      const first = page.locator('.app-result').first();
      assert.equal(await first.locator('h3').textContent(), 'Gun Wharf Family Centre');
      assert.match(await first.textContent(), /Who can attend/);
      await checkPage(page, `${mode}-01-results`, javaScript);
      await first.getByRole('link', { name: /^Ask about a place/ }).click();
      await page.waitForLoadState();
      assert.equal(await page.title(), 'Ask about a place – M-PACT Registry');
      await checkPage(page, `${mode}-02-form`, javaScript);

      // Sent empty: the error summary, each field's message.
      await page.getByRole('button', { name: 'Send enquiry' }).click();
      await page.waitForLoadState();
      assert.match(await page.title(), /^Error: Ask about a place/);
      const summary = page.locator('.govuk-error-summary');
      for (const text of ['Select who you are', 'Enter your name', 'Enter an email address or a phone number', 'Enter your message', 'Select that you agree']) {
        assert.match(await summary.textContent(), new RegExp(text));
      }
      await checkPage(page, `${mode}-03-errors`, javaScript);

      await page.getByLabel('A parent or carer, asking for my family').check();
      await page.getByLabel('Your name').fill('Dana Parent');
      await page.getByLabel('Email address').fill('dana@family.example');
      await page.getByLabel('Your relationship to the child or children').fill('mum');
      await page.getByLabel('Your message').fill('Is there a place for my two children in the next group?');
      await page.getByLabel(/^I agree to my enquiry being passed on/).check();
      await page.getByRole('button', { name: 'Send enquiry' }).click();
      await page.waitForLoadState();
      assert.equal(await page.title(), 'Enquiry sent – M-PACT Registry');
      const main = await page.locator('main').textContent();
      assert.match(main, /We have not kept a copy of what you wrote/);
      await checkPage(page, `${mode}-04-sent`, javaScript);
      assert.equal(Number(sql('SELECT count(*) FROM enquiry_outbox')), before + 1);
      assert.equal(sql("SELECT count(*) FROM enquiry_outbox WHERE strpos(encode(sealed, 'escape'), 'Dana') > 0"), '0');
    } finally {
      await browser.close();
    }
  });
}
