// public.test.mjs: the public pages in chromium on a phone-sized screen (360 x 740), against the
// demo data, first with JavaScript and then again without it. BROWSER_TIMEOUT=480
//
// Find M-PACT near you: a parent in Medway (ME4 4UH) finds the Gun Wharf Family Centre first,
// nearest first by distance (km and miles), with its upcoming group, places left and whether
// families can refer themselves; an unknown postcode and a malformed one get the error summary
// linked to the field (with JavaScript the link moves focus to it); from a postcode far from
// every site (ZE1 0AA, Shetland, added to the postcode table for this test) nothing is within
// the radius and the nearest provider beyond it is shown. With JavaScript, "Use my location"
// appears and searches from the browser's position without ever showing the coordinates;
// without it, there is no such button. Check a facilitator: by registration number (as the
// public API has it) with the status tag and what it means, by a name several people share
// (a table linking to each number), and a suspended one in red. Every page: no axe violation,
// no console error, page error or CSP violation, and a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { assertCleanPage, checkA11y, openBrowser, shot, url } from './lib.mjs';

const PHONE = { width: 360, height: 740 };

// A postcode far from every demo site (the demo has none north of Edinburgh).
execFileSync('psql', [
  process.env.DATABASE_URL,
  '-qAtc',
  "INSERT INTO postcode (postcode, latitude, longitude) VALUES ('ZE1 0AA', 60.1550, -1.1450)" +
    ' ON CONFLICT DO NOTHING',
]);

async function api(path) {
  const res = await fetch(url(path));
  assert.equal(res.status, 200, `${path} answered ${res.status}`);
  return res.json();
}

// Every page the user sees: axe clean, clean, and a screenshot.
async function checkPage(page, name) {
  await checkA11y(page, name);
  await shot(page, name);
  assertCleanPage(page);
}

async function search(page, postcode, radius) {
  await page.goto(url('/find'));
  await page.getByLabel('Postcode').fill(postcode);
  if (radius) {
    await page.getByLabel('How far can you travel?').selectOption(radius);
  }
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForLoadState();
}

// Distances in km shown on the results page, in page order.
async function distances(page) {
  const texts = await page.locator('.app-distance').allTextContents();
  return texts.map((t) => {
    const m = /^([0-9.]+) miles \(([0-9.]+) km\) away$/.exec(t.trim());
    assert.ok(m, `distance text "${t}"`);
    return Number(m[2]);
  });
}

for (const javaScript of [true, false]) {
  const mode = javaScript ? 'js' : 'nojs';

  test(`find M-PACT near a Medway postcode on a phone (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
    const { browser, page } = await openBrowser({ javaScript, ...PHONE });
    try {
      await page.goto(url('/'));
      assert.equal(await page.title(), 'M-PACT Registry');
      await checkPage(page, `${mode}-01-start`);
      await page.getByRole('button', { name: 'Find M-PACT near you' }).click();
      await page.waitForLoadState();
      assert.equal(new URL(page.url()).pathname, '/find');
      assert.equal(await page.title(), 'Find M-PACT near you – M-PACT Registry');
      const useLocation = page.getByRole('button', { name: 'Use my location' });
      assert.equal(await useLocation.count(), javaScript ? 1 : 0);
      await checkPage(page, `${mode}-02-find`);

      await search(page, 'me4 4uh', '10');
      await page.getByRole('heading', { name: 'M-PACT within 6 miles (10 km) of ME4 4UH' }).waitFor();
      const results = page.locator('.app-result');
      assert.ok((await results.count()) >= 2, 'both Medway sites are listed');
      const km = await distances(page);
      assert.deepEqual(km, [...km].sort((a, b) => a - b), 'nearest first');
      assert.ok(km[0] < 1, `the nearest is under 1 km (${km[0]})`);
      const first = results.first();
      assert.equal(await first.locator('h3').textContent(), 'Gun Wharf Family Centre');
      // The result leads with its next group: start date, places left, self-referral.
      const next = first.locator('.app-next + dl');
      assert.equal(await next.count(), 1, 'a next group');
      const row = await next.textContent();
      assert.match(row, /Start(s|ed)\s*\d{1,2} [A-Z][a-z]+ \d{4}/);
      assert.match(row, /4 of 8/);
      assert.match(row, /Yes, families can refer themselves/);
      assert.equal(await first.locator('a[href^="tel:"]').count(), 1);
      // Nothing is wider than the phone's screen (the page does not scroll sideways).
      // (Measured by script, so with JavaScript only; the markup is the same without.)
      if (javaScript) {
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= PHONE.width, `the page is ${width} px wide`);
      }
      await checkPage(page, `${mode}-03-results-medway`);
    } finally {
      await browser.close();
    }
  });

  test(`find: unknown, malformed and far-away postcodes (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
    const { browser, page } = await openBrowser({ javaScript, ...PHONE });
    try {
      await search(page, 'ZZ9 9ZZ');
      assert.match(await page.title(), /^Error: Find M-PACT near you/);
      const summary = page.locator('.govuk-error-summary');
      assert.match(await summary.textContent(), /We could not find that postcode/);
      assert.match(await page.locator('#postcode-error').textContent(), /We could not find that postcode/);
      await checkPage(page, `${mode}-04-unknown-postcode`);

      await search(page, 'NOT 4 POSTCODE');
      const link = summary.getByRole('link', { name: 'Enter a real postcode, like ME4 4AB' });
      assert.equal(await link.getAttribute('href'), '#postcode');
      const field = page.getByLabel('Postcode');
      assert.equal(await field.inputValue(), 'NOT 4 POSTCODE');
      assert.match((await field.getAttribute('aria-describedby')) ?? '', /\bpostcode-error\b/);
      await checkPage(page, `${mode}-05-malformed-postcode`);
      await link.click();
      if (javaScript) {
        // GOV.UK Frontend's error summary moves focus to the field.
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'postcode');
      } else {
        assert.equal(new URL(page.url()).hash, '#postcode');
      }

      await search(page, 'ZE1 0AA', '5');
      await page.getByRole('heading', { name: 'No M-PACT within 3 miles (5 km) of ZE1 0AA' }).waitFor();
      assert.match(await page.locator('main').textContent(), /The nearest M-PACT is further away/);
      assert.equal(await page.locator('.app-result').count(), 1);
      const [km] = await distances(page);
      assert.ok(km > 5, `the nearest beyond is beyond the radius (${km} km)`);
      await checkPage(page, `${mode}-06-nothing-nearby`);
    } finally {
      await browser.close();
    }
  });

  test(`check a facilitator by number and by name (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
    const { browser, page } = await openBrowser({ javaScript, ...PHONE });
    try {
      const accredited = await api('/v1/public/facilitators/MPF-000003');
      assert.equal(accredited.status, 'accredited');
      await page.goto(url('/'));
      await page.locator('main').getByRole('link', { name: 'Check a facilitator' }).click();
      await page.waitForLoadState();
      assert.equal(await page.title(), 'Check a facilitator – M-PACT Registry');
      await checkPage(page, `${mode}-07-check`);

      await page.getByLabel('Registration number or name').fill('mpf000003');
      await page.getByRole('button', { name: 'Check', exact: true }).click();
      await page.waitForLoadState();
      const name = `${accredited.given_name} ${accredited.family_name}`;
      await page.getByRole('heading', { name }).waitFor();
      const tag = page.locator('.govuk-summary-list strong.govuk-tag');
      assert.equal((await tag.textContent()).trim(), 'Accredited');
      assert.match((await tag.getAttribute('class')) ?? '', /govuk-tag--green/);
      assert.match(await page.locator('.app-meaning').textContent(), /may deliver M-PACT/);
      const [y, m, d] = accredited.accredited_until.split('-').map(Number);
      const until = new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', {
        day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
      });
      assert.match(await page.locator('.govuk-summary-list').textContent(), new RegExp(`Accredited until\\s*${until}`));
      await checkPage(page, `${mode}-08-check-number`);

      // A given name several people on the register share: a table linking to each number.
      const shared = await api(`/v1/public/facilitators?name=${encodeURIComponent(accredited.given_name)}`);
      assert.ok(shared.items.length >= 2, `several people called ${accredited.given_name}`);
      await page.getByLabel('Registration number or name').fill(accredited.given_name);
      await page.getByRole('button', { name: 'Check', exact: true }).click();
      await page.waitForLoadState();
      const rows = page.locator('table.govuk-table tbody tr');
      assert.equal(await rows.count(), shared.items.length);
      await checkPage(page, `${mode}-09-check-name`);
      const other = shared.items.find((f) => f.registration_number !== accredited.registration_number);
      await page.getByRole('link', { name: `${other.given_name} ${other.family_name}` }).click();
      await page.waitForLoadState();
      assert.equal(new URL(page.url()).searchParams.get('q'), other.registration_number);
      await page.getByRole('heading', { name: `${other.given_name} ${other.family_name}` }).waitFor();
      await checkPage(page, `${mode}-10-check-linked`);

      // Suspended: red, and plainly must not deliver.
      const suspended = await api('/v1/public/facilitators/MPF-000049');
      assert.equal(suspended.status, 'suspended');
      await page.goto(url('/check?q=MPF-000049'));
      const red = page.locator('.govuk-summary-list strong.govuk-tag');
      assert.equal((await red.textContent()).trim(), 'Suspended');
      assert.match((await red.getAttribute('class')) ?? '', /govuk-tag--red/);
      assert.match(await page.locator('.app-meaning').textContent(), /must not deliver M-PACT/);
      await checkPage(page, `${mode}-11-check-suspended`);

      await page.goto(url('/check?q=MPF-999999'));
      await page.getByRole('heading', { name: 'Not on the register' }).waitFor();
      await checkPage(page, `${mode}-12-check-unknown`);
    } finally {
      await browser.close();
    }
  });

  test(`what M-PACT has achieved: the public impact page (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
    const { browser, page } = await openBrowser({ javaScript, ...PHONE });
    try {
      const impact = await api('/v1/public/impact');
      assert.ok(impact.years.length >= 1, 'the demo has completed runs');
      await page.goto(url('/'));
      await page.locator('main').getByRole('link', { name: "See M-PACT's impact" }).click();
      await page.waitForLoadState();
      assert.equal(new URL(page.url()).pathname, '/impact');
      assert.equal(await page.title(), 'What M-PACT has achieved – M-PACT Registry');
      // Each year and the total as the API has them; a withheld figure reads "withheld".
      const keys = ['practitioners_trained', 'runs', 'families', 'participants', 'locations'];
      const want = [...impact.years, impact.since_start];
      const rows = page.locator('table.app-impact tbody tr');
      assert.equal(await rows.count(), want.length);
      for (let i = 0; i < want.length; i++) {
        const head = (await rows.nth(i).locator('th').textContent()).trim();
        assert.equal(head, i < impact.years.length ? String(want[i].year) : 'Since the start');
        const cells = (await rows.nth(i).locator('td').allTextContents()).map((t) => t.trim());
        assert.deepEqual(cells, keys.map((k) => (want[i][k] === null ? 'withheld' : want[i][k].toLocaleString('en-GB'))));
      }
      const main = await page.locator('main').textContent();
      assert.match(main, /Before the registry/);
      assert.match(main, /446 practitioners trained by the end of 2018, 2,500 participants from 700 families at about 50 locations since 2006/);
      // The table scrolls in its own region; the page itself never scrolls sideways.
      if (javaScript) {
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= PHONE.width, `the page is ${width} px wide`);
      }
      await checkPage(page, `${mode}-15-impact`);
    } finally {
      await browser.close();
    }
  });
}

test('use my location: searches from the browser position and never shows it', async () => {
  const { browser, context, page } = await openBrowser({ ...PHONE });
  try {
    await context.grantPermissions(['geolocation'], { origin: url('') });
    await context.setGeolocation({ latitude: 51.3851, longitude: 0.5259 }); // Chatham
    await page.goto(url('/find'));
    await page.getByLabel('How far can you travel?').selectOption('5');
    await page.getByRole('button', { name: 'Use my location' }).click();
    await page.waitForURL(/\/find\?lat=/);
    const address = new URL(page.url());
    assert.equal(address.searchParams.get('lat'), '51.385'); // rounded to about 100 m
    assert.equal(address.searchParams.get('radius'), '5');
    await page.getByRole('heading', { name: 'M-PACT within 3 miles (5 km) of your location' }).waitFor();
    assert.equal(await page.locator('.app-result h3').first().textContent(), 'Gun Wharf Family Centre');
    const text = await page.locator('body').textContent();
    assert.doesNotMatch(text, /51\.38|0\.52/);
    assert.equal(await page.getByLabel('Postcode').inputValue(), '');
    // Nothing about the search is kept in the browser.
    assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
    assert.equal(await page.evaluate(() => document.cookie), '');
    await checkPage(page, 'js-13-my-location');

    // Far from every site: nothing within the radius, the nearest beyond it.
    await context.setGeolocation({ latitude: 60.155, longitude: -1.145 });
    await page.goto(url('/find'));
    await page.getByLabel('How far can you travel?').selectOption('5');
    await page.getByRole('button', { name: 'Use my location' }).click();
    await page.waitForURL(/\/find\?lat=60/);
    await page.getByRole('heading', { name: 'No M-PACT within 3 miles (5 km) of your location' }).waitFor();
    assert.equal(await page.locator('.app-result').count(), 1);
    await checkPage(page, 'js-14-my-location-far');
  } finally {
    await browser.close();
  }
});
