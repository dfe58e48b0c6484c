// briefing.test.mjs: the delivery briefing (issue 16) in a real browser, against the demo data.
// The licensing body makes a commissioner for Medway through the API; the commissioner signs in
// at /console, sees only the briefing (a menu of one item; any other address shows the briefing),
// opens it for the two years of the demo runs and reads the headline figures, with the small
// numbers withheld and the note on suppression; the page is printed to PDF by Chromium, whose
// text (pdftotext) holds the headline figures and none of the navigation or the forms. The
// licensing body's briefing for Medway chosen in the form and for the whole programme has the
// exact figures; the licensee's briefing in the portal has its own runs, exactly. Every view:
// axe-clean, no console error or CSP violation, a screenshot; each chart followed by its table.
// BROWSER_TIMEOUT=300
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import * as lib from './lib.mjs';
import { apiAs, daysFromNow, fillDate, forgiveFailedRequests, signIn, url, withBrowser } from './lib.mjs';

// Every screen at 1280 px and at 390 px: axe-clean, fits the width, dates in words, clean.
const view = (page, name) => lib.viewBoth(page, 'briefing', name);

const ADMIN = 'admin@mpact-registry.example';
const MANAGER = 'manager@medway-recovery.example';
const COMMISSIONER = 'public-health@medway-council.example';
const COMMISSIONER_PASSWORD = 'medway-scrutiny-2026-briefing';
const MEDWAY = 'E06000035';
// The period of the demo runs (they end up to about 700 days before today).
const FROM = daysFromNow(-730);
const TO = daysFromNow(0);

async function token(email, password) {
  const res = await fetch(url('/v1/auth/token'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200, `sign-in of ${email}`);
  return (await res.json()).access_token;
}

// The headline figures as the page shows them: { label: value }.
async function headlines(page) {
  const out = {};
  for (const item of await page.locator('.app-headline').all()) {
    out[(await item.locator('dt').textContent()).trim()] = (await item.locator('dd').first().textContent()).trim();
  }
  return out;
}

// The cells of the table captioned `caption` (row header first), as arrays of text.
async function rows(page, caption) {
  const t = page.locator('table', { has: page.locator('caption', { hasText: caption }) });
  return (await t.locator('tbody tr').all()).length
    ? Promise.all((await t.locator('tbody tr').all()).map(async (r) => (await r.locator('th, td').allTextContents()).map((x) => x.trim())))
    : [];
}

// Every chart is drawn (a canvas with a size) and followed by its table; a chart of withheld
// figures only is not drawn, and says so. Returns the number of charts drawn.
async function chartsHaveTables(page) {
  const figures = await page.locator('figure.app-figure').all();
  assert.ok(figures.length >= 6, `figures: ${figures.length}`);
  let drawn = 0;
  for (const f of figures) {
    const canvas = f.locator('.app-chart canvas');
    if ((await canvas.count()) === 0) {
      assert.equal(await f.locator('p', { hasText: 'No chart: every figure here is withheld.' }).count(), 1);
      assert.ok((await f.locator('tbody td').allTextContents()).every((t) => t === 'withheld'));
      continue;
    }
    assert.ok((await canvas.evaluate((c) => c.width)) > 0, 'the chart is drawn');
    assert.equal(await f.locator('.app-chart ~ .app-table .app-table-wrapper table').count(), 1, 'a table after the chart');
    drawn++;
  }
  assert.equal(await page.evaluate(() => typeof window.Chart), 'function');
  return drawn;
}

// Opens the briefing of the demo period and waits until it is drawn (its period in words).
const LONG = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
async function openBriefing(page, app) {
  await page.goto(url(`/${app}#/briefing?from=${FROM}&to=${TO}`));
  const period = `Programme runs ending from ${LONG.format(new Date(`${FROM}T00:00:00Z`))} to ${LONG.format(new Date(`${TO}T00:00:00Z`))}.`;
  await page.locator('main p', { hasText: period }).waitFor();
  await page.locator('.app-headline').first().waitFor();
}

test('a commissioner for Medway sees only the briefing, with small numbers withheld, and prints it', async () => {
  const admin = await token(ADMIN, process.env.DEMO_PASSWORD);
  const made = await apiAs(admin, '/v1/users', {
    method: 'POST',
    body: { email: COMMISSIONER, password: COMMISSIONER_PASSWORD, role: 'commissioner', areas: [MEDWAY] },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));

  await withBrowser(async (page) => {
    await page.goto(url('/console'));
    await page.locator('#f-email').fill(COMMISSIONER);
    await page.locator('#f-password').fill(COMMISSIONER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Straight to the briefing, with a menu of the briefing only.
    await page.locator('h1', { hasText: 'M-PACT in Medway' }).waitFor();
    assert.match(page.url(), /#\/briefing$/);
    assert.deepEqual(await page.locator('#navigation a').allTextContents(), ['Briefing']);
    // Another address of the console shows the briefing too (the API would refuse it anyway).
    // Only the hash changes and the briefing is already drawn: wait for the router to send the
    // address back, or the check would pass (or fail) on the page before it.
    await page.goto(url('/console#/organisations'));
    await page.waitForURL(/#\/briefing$/);
    await page.locator('h1', { hasText: 'M-PACT in Medway' }).waitFor();

    await openBriefing(page, 'console');
    const figures = await headlines(page);
    assert.equal(figures['Programme runs completed'], '2');
    assert.equal(figures['Families started'], '13');
    assert.equal(figures['Families completed'], '11');
    assert.equal(figures['Adults and children taking part'], '39');
    assert.equal(figures['Sessions delivered'], '95%');
    assert.equal(figures['Cost per family completed'], '£980');
    assert.equal(figures['Social return (estimate)'], '£2.26 per £1');
    // Small numbers: withheld in the tables, with the note saying why.
    const note = await page.locator('.govuk-inset-text', { hasText: 'About small numbers' }).textContent();
    assert.match(note, /any count from 1 to 4 \(fewer than 5\) is withheld/);
    assert.match(note, /\d+ figures are withheld in this briefing/);
    const adults = Object.fromEntries((await rows(page, 'Adults by relationship to the child: figures')).map((r) => [r[0], r.slice(1)]));
    assert.deepEqual(adults.Mother, ['8', '0'], 'female, male');
    assert.deepEqual(adults.Father, ['0', 'withheld']);
    assert.ok((await rows(page, 'Where referrals came from: figures')).every((r) => r[1] === 'withheld'));
    const ages = await rows(page, 'Children by age: figures');
    assert.deepEqual(ages.map((r) => r[0]), ['8 to 11', '12 to 14', '15 to 17'], 'youngest first');
    assert.deepEqual(ages[0], ['8 to 11', 'withheld', '6'], 'female, male');
    assert.match(await page.locator('main').textContent(), /17 adults and 22 children took part\./);
    assert.match(await page.locator('main').textContent(), /The share of men among the adults is withheld\./, 'the share of men would give a withheld count back');
    // The runs in Medway only, with their dates.
    const runs = await rows(page, 'Programme runs (2)');
    assert.equal(runs.length, 2);
    assert.ok(runs.every((r) => r[0] === 'Medway Family Recovery Service' && r[2] === 'Medway'));
    // Outcomes with their confidence intervals; the estimate says it is one, with its source.
    const outcomes = await rows(page, 'Outcome measures: change from before to after');
    assert.equal(outcomes.length, 5);
    assert.ok(outcomes.every((r) => / to /.test(r[6])), 'a 95% confidence interval for every measure');
    const cost = await page.locator('.govuk-summary-list', { hasText: 'Social return on investment' }).textContent();
    assert.match(cost, /Estimate: £2\.26 saved for every £1 spent/);
    assert.match(cost, /£2,213 per family completed, from M-PACT independent social return on investment study.*\(2014\)/);
    const drawn = await chartsHaveTables(page);
    assert.ok(drawn >= 4, `charts drawn: ${drawn}`);
    assert.equal(await page.locator('figure', { hasText: 'Where referrals came from' }).locator('canvas').count(), 0, 'every referral count is withheld');
    await view(page, 'commissioner');

    // A period without a completed run says so instead of a page of empty figures.
    await page.goto(url('/console#/briefing?from=2001-01-01&to=2001-12-31'));
    await page.locator('.govuk-inset-text', { hasText: 'No programme run was completed in this period' }).waitFor();
    assert.equal(await page.locator('figure').count(), 0);
    assert.equal(await page.locator('h1').textContent(), 'M-PACT delivery briefingM-PACT in your areas');
    await view(page, 'commissioner-empty');
    await openBriefing(page, 'console');

    // Printed: an A4 paper with the figures as text and no navigation, header, footer or form.
    const file = path.join(process.env.SCREENSHOT_DIR, 'commissioner-briefing.pdf');
    await page.pdf({ path: file, preferCSSPageSize: true, printBackground: true });
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    assert.match(info, /Page size:\s+59\d\.\d+ x 84\d\.\d+ pts \(A4\)/);
    assert.ok(Number(/Pages:\s+(\d+)/.exec(info)[1]) >= 2);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    for (const want of ['M-PACT in Medway', 'Programme runs completed', 'Families started', 'Families completed', '13', '11', '£980', '£2.26 per £1', 'fewer than 5', 'withheld', 'Estimate']) {
      assert.ok(text.includes(want), `the PDF has "${want}"`);
    }
    assert.match(text, /Page 1 of \d+/, 'numbered pages');
    // Every chart drawn on the screen is on the paper (Chromium prints a canvas as an image).
    const images = execFileSync('pdfimages', ['-list', file], { encoding: 'utf8' }).split('\n').filter((l) => /^\s*\d+\s+\d+\s+image\s/.test(l));
    assert.equal(images.length, drawn, 'one image a chart');
    for (const unwanted of ['Sign out', 'Show briefing', 'Print or save as PDF', 'Skip to main content', 'API documentation', 'Runs ending from', 'Beta']) {
      assert.ok(!text.includes(unwanted), `the PDF has no "${unwanted}"`);
    }
  });
});

test('a commissioner signing in to the portal is sent to the console', () =>
  withBrowser(async (page) => {
    await page.goto(url('/portal'));
    await page.locator('#f-email').fill(COMMISSIONER);
    await page.locator('#f-password').fill(COMMISSIONER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h1', { hasText: 'This is the licensee portal' }).waitFor();
    assert.match(await page.locator('main').textContent(), /commissioner’s account/);
    assert.equal(await page.locator('#other-app').getAttribute('href'), '/console');
    await view(page, 'commissioner-portal');
  }));

test('the licensing body chooses Medway and gets the exact figures, then the whole programme', () =>
  withBrowser(async (page) => {
    await signIn(page, 'console', ADMIN);
    await page.getByRole('link', { name: 'Briefing', exact: true }).click();
    await page.locator('.app-headline').first().waitFor();
    await fillDate(page, 'from', FROM);
    await fillDate(page, 'to', TO);
    await page.getByLabel('Medway (E06000035)').check();
    await page.getByRole('button', { name: 'Show briefing' }).click();
    await page.locator('h1', { hasText: 'M-PACT in Medway' }).waitFor();
    assert.match(page.url(), /local_authority=E06000035/);
    const figures = await headlines(page);
    assert.equal(figures['Families started'], '13');
    assert.equal(figures['Families completed'], '11');
    const text = await page.locator('main').textContent();
    assert.doesNotMatch(text, /withheld/i, 'the licensing body sees every figure');
    assert.doesNotMatch(text, /About small numbers/);
    const adults = Object.fromEntries((await rows(page, 'Adults by relationship to the child: figures')).map((r) => [r[0], r.slice(1)]));
    assert.deepEqual(adults.Father, ['0', '2']);
    assert.match(text, /17 adults and 22 children took part\. 24% of the adults were men\./);
    const refs = Object.fromEntries((await rows(page, 'Where referrals came from: figures')).map((r) => [r[0], r[1]]));
    assert.equal(Object.values(refs).reduce((n, v) => n + Number(v), 0), 16, 'every referral counted');
    assert.equal(await chartsHaveTables(page), await page.locator('figure.app-figure').count(), 'every chart drawn');
    await view(page, 'licensing-body-medway');

    // The whole programme: nothing ticked.
    await page.getByLabel('Medway (E06000035)').uncheck();
    await page.getByRole('button', { name: 'Show briefing' }).click();
    await page.locator('h1', { hasText: 'M-PACT in the whole programme' }).waitFor();
    const all = await headlines(page);
    assert.equal(all['Programme runs completed'], '7');
    assert.equal(all['Families started'], '47');
    assert.equal(all['Families completed'], '40');
    assert.equal(all['Adults and children taking part'], '145');
    const file = path.join(process.env.SCREENSHOT_DIR, 'national-briefing.pdf');
    await page.pdf({ path: file, preferCSSPageSize: true, printBackground: true });
    const paper = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    for (const want of ['M-PACT in the whole programme', 'Families started', '47', '40', '145', 'Social return (estimate)']) {
      assert.ok(paper.includes(want), `the national PDF has "${want}"`);
    }
    assert.ok(!/withheld/i.test(paper), 'nothing withheld from the licensing body');
    const previous = await rows(page, 'Compared with the previous period of the same length');
    assert.equal(previous.length, 5);
    assert.deepEqual(previous[0], ['Programme runs completed', '7', '0'], 'no demo run ended in the two years before');
    await view(page, 'licensing-body-national');

    // A period that ends before it starts: refused, with the message by the field.
    await fillDate(page, 'from', TO);
    await fillDate(page, 'to', FROM);
    await page.getByRole('button', { name: 'Show briefing' }).click();
    const problem = page.locator('.govuk-error-summary');
    await problem.waitFor();
    assert.equal(forgiveFailedRequests(page, [400]), 1);
    assert.match(await problem.textContent(), /The end of the period must be on or after its start/);
    assert.equal(await problem.locator('a[href="#f-to"]').count(), 1);
    await view(page, 'licensing-body-refused');
    await fillDate(page, 'from', FROM);
    await fillDate(page, 'to', TO);

    // One organisation, chosen by name.
    await page.locator('#f-organisation_id').selectOption({ label: 'Manchester Families First' });
    await page.getByRole('button', { name: 'Show briefing' }).click();
    await page.locator('h1', { hasText: 'M-PACT in Manchester Families First' }).waitFor();
    const one = await headlines(page);
    assert.equal(one['Programme runs completed'], '1');
    assert.equal(one['Families started'], '6');
    assert.ok((await rows(page, 'Programme runs (1)')).every((r) => r[0] === 'Manchester Families First'));

    // One variant: the aftercare run only (Leeds, 5 families).
    await page.locator('#f-organisation_id').selectOption({ label: 'Any organisation' });
    await page.locator('#f-variant').selectOption({ label: 'Aftercare' });
    await page.getByRole('button', { name: 'Show briefing' }).click();
    await page.locator('h1', { hasText: 'M-PACT in the whole programme (aftercare variant)' }).waitFor();
    assert.equal((await headlines(page))['Families started'], '5');
    await page.locator('#f-variant').selectOption({ label: 'Every variant' });

    // More runs than a paper holds are counted by area instead (the rule on three made-up runs).
    const byArea = await page.evaluate(async () => {
      const { runsByArea } = await import('/assets/js/app/briefing.mjs');
      const run = (area, ends, status, started, completed) => ({ local_authority: area ? { code: 'X', name: area } : null, ends_on: ends, status, families_started: started, families_completed: completed });
      const el = runsByArea([run('Medway', '2026-02-01', 'completed', 7, 6), run('Medway', '2026-05-01', 'completed', 5, null), run('Medway', '2026-09-01', 'running', null, null), run(null, '2026-03-01', 'completed', 8, 8)]);
      return [el.querySelector('caption').textContent, ...[...el.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent).join('|'))];
    });
    assert.deepEqual(byArea, [
      'Programme runs by area (4 runs in 2 areas: choose an area to list its runs)',
      'Medway|2|1|1 February 2026|1 September 2026|12|withheld',
      'Not known|1|0|1 March 2026|1 March 2026|8|8',
    ]);
  }));

test('a licensee sees the briefing of its own runs, exactly', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', MANAGER);
    await page.getByRole('link', { name: 'Briefing', exact: true }).click();
    await page.locator('h1', { hasText: 'M-PACT in Medway Family Recovery Service' }).waitFor();
    await openBriefing(page, 'portal');
    const figures = await headlines(page);
    assert.equal(figures['Programme runs completed'], '2');
    assert.equal(figures['Families started'], '13');
    assert.equal(figures['Cost per family completed'], '£980');
    const runs = await rows(page, 'Programme runs (2)');
    assert.ok(runs.every((r) => r[0] === 'Medway Family Recovery Service'));
    assert.doesNotMatch(await page.locator('main').textContent(), /withheld/i);
    // Reference names, not codes: the portal may read the reference list.
    const names = (await rows(page, 'Where referrals came from: figures')).map((r) => r[0]);
    assert.ok(!names.some((n) => /_/.test(n)), names.join(', '));
    assert.equal(await chartsHaveTables(page), await page.locator('figure.app-figure').count(), 'every chart drawn');
    await view(page, 'licensee');
  }));
