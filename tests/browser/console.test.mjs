// console.test.mjs: the licensing body's console in a real browser, against the demo data.
// An admin signs in; creates an organisation (after seeing the error summary of an empty form),
// issues it a licence and activates it, suspends it with a reason and finds that reason in the
// audit trail; checks a facilitator's history and eligibility verdict; schedules a training
// session, enrols a facilitator, and records the outcomes of this week's session for several
// people in the one table; sees the reports' charts with their data tables. A licensee signing in
// to the console is told so and offered the portal. Every view: axe-clean, no console error or
// CSP violation, a screenshot; results are checked through the API as well.
// BROWSER_TIMEOUT=300
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as lib from './lib.mjs';
import { apiAs, assertErrorsAgree, daysFromNow, fillDate, forgiveFailedRequests, pageToken, signIn, url, withBrowser } from './lib.mjs';
import { TAG_COLOURS } from '../../static/assets/js/app/ui.mjs';

// Every screen at 1280 px and at 390 px: axe-clean, fits the width, dates in words, clean.
const view = (page, name) => lib.viewBoth(page, 'console', name);

const ADMIN = 'admin@mpact-registry.example';

test('an admin licenses a new organisation, suspends the licence, and sees it in the audit trail', () =>
  withBrowser(async (page) => {
    await page.goto(url('/console'));
    assert.equal(await page.locator('h1').textContent(), 'Sign in to the licensing body console');
    await view(page, 'sign-in');

    // A wrong password is an error linked to the email field, and nothing else happens.
    await page.locator('#f-email').fill(ADMIN);
    await page.locator('#f-password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.govuk-error-summary').waitFor();
    assert.match(await page.locator('.govuk-error-summary').textContent(), /Enter a correct email address and password/);
    assert.match(await page.title(), /^Error: /);
    assert.equal(forgiveFailedRequests(page, [401]), 1);
    await view(page, 'sign-in-error');

    await signIn(page, 'console', ADMIN);
    assert.equal((await page.locator('h1').textContent()).trim(), 'Licensing body console');
    await view(page, 'home');

    // Labels in words from a table, not capitalised codes: "NHS", not "Nhs"; no licence in words.
    await page.goto(url('/console#/organisations?kind=nhs'));
    await page.locator('table', { hasText: 'Norfolk and Waveney Family Health' }).waitFor();
    const kinds = await page.locator('table tbody td:nth-child(2)').allTextContents();
    assert.ok(kinds.length > 0 && kinds.every((k) => k === 'NHS'), `kinds: ${kinds}`);
    assert.equal(await page.locator('#f-kind option[value="nhs"]').textContent(), 'NHS');
    await view(page, 'organisations-nhs');

    // Create an organisation: the empty form is refused field by field, each linked.
    await page.getByRole('link', { name: 'Organisations', exact: true }).first().click();
    await page.getByRole('button', { name: 'Create an organisation' }).click();
    await page.getByRole('button', { name: 'Create organisation' }).click();
    const summary = page.locator('.govuk-error-summary');
    await summary.waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    for (const f of ['name', 'kind', 'address_lines', 'town', 'postcode']) {
      assert.equal(await summary.locator(`a[href="#f-${f}"]`).count(), 1, `the summary links to ${f}`);
      assert.equal(await page.locator(`[data-field="${f}"].govuk-form-group--error`).count(), 1, `${f} is marked`);
    }
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains('govuk-error-summary')), true);
    // In the Design System's words, the same by the field as in the summary.
    const said = await assertErrorsAgree(page);
    for (const words of ['Enter the organisation’s name', 'Select the kind of organisation', 'Enter the first line of the address', 'Enter the town or city', 'Enter the postcode']) {
      assert.ok(said.summary.includes(words), `the summary says "${words}": ${JSON.stringify(said.summary)}`);
      assert.ok(said.fields.includes(words), `a field says "${words}"`);
    }
    assert.doesNotMatch(said.summary.join(' '), /is required|: /);
    await view(page, 'organisation-new-errors');
    await summary.locator('a[href="#f-postcode"]').click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-postcode');

    const name = `Kent Family Links ${Date.now()}`;
    await page.locator('#f-name').fill(name);
    await page.locator('#f-kind').selectOption('charity');
    await page.locator('#f-address_lines').fill('1 High Street\nRochester');
    await page.locator('#f-town').fill('Rochester');
    await page.locator('#f-postcode').fill('ME1 1AA');
    await page.locator('#f-email').fill('hello@kent-family-links.example');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await page.locator('h1', { hasText: name }).waitFor();
    assert.match(await page.locator('.govuk-notification-banner--success').textContent(), /has been created/);
    await view(page, 'organisation');

    // Issue a licence, then activate it. Its dates are GOV.UK date inputs: a date without its
    // month is refused on the page, in words.
    await page.locator('#f-valid_until').fill('3');
    await page.getByRole('button', { name: 'Create licence' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'Valid until must include a month and year' }).waitFor();
    await assertErrorsAgree(page);
    // The summary links to the first box missing; only the missing boxes are marked.
    assert.equal(await page.locator('.govuk-error-summary a[href="#f-valid_until-month"]').count(), 1);
    assert.deepEqual(
      await page.locator('[data-field="valid_until"] input.govuk-input--error').evaluateAll((xs) => xs.map((x) => x.dataset.datePart)),
      ['month', 'year'],
    );
    await view(page, 'licence-new-date-error');
    await fillDate(page, 'valid_until', daysFromNow(3 * 365));
    await page.locator('#f-reason').fill('Licensed after practitioner training');
    await page.getByRole('button', { name: 'Create licence' }).click();
    await page.locator('h1', { hasText: /Licence MPL-/ }).waitFor();
    const licenceId = page.url().split('#/licences/')[1];
    assert.match(await page.locator('.govuk-summary-list').textContent(), /Pending/);
    await view(page, 'licence-pending');

    // A status change needs a reason: the service refuses it without one.
    await page.getByLabel('Activate').check();
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('.govuk-error-summary a[href="#f-reason"]', { hasText: 'Enter the reason for the change' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    await assertErrorsAgree(page);
    await page.locator('#f-reason').fill('First practitioners accredited');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'is now active' }).waitFor();
    await view(page, 'licence-active');

    // Suspend with a reason.
    const reason = 'Supervision arrangements under review';
    await page.getByLabel('Suspend').check();
    await page.locator('#f-reason').fill(reason);
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'is now suspended' }).waitFor();
    assert.match(await page.locator('.govuk-summary-list').textContent(), /Suspended/);
    assert.match(await page.locator('.govuk-summary-list').textContent(), new RegExp(reason));
    await view(page, 'licence-suspended');

    const token = await pageToken(page);
    const lic = await apiAs(token, `/v1/licences/${licenceId}`);
    assert.equal(lic.status, 200);
    assert.equal(lic.body.status, 'suspended');
    assert.equal(lic.body.reason, reason);

    // Revoking is final: a confirmation page first, which can be left without revoking.
    await page.getByLabel('Revoke').check();
    await page.locator('#f-reason').fill('Supervision failed');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('h1', { hasText: /Are you sure you want to revoke licence MPL-/ }).waitFor();
    assert.match(await page.locator('main').textContent(), /cannot be restored/);
    await view(page, 'licence-revoke-confirm');
    await page.locator('#cancel').click();
    await page.locator('h1', { hasText: /Licence MPL-/ }).waitFor();
    assert.equal((await apiAs(token, `/v1/licences/${licenceId}`)).body.status, 'suspended', 'Cancel revokes nothing');
    await page.getByLabel('Revoke').check();
    await page.locator('#f-reason').fill('Supervision failed');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.getByRole('button', { name: 'Revoke licence' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'is now revoked' }).waitFor();
    assert.equal((await apiAs(token, `/v1/licences/${licenceId}`)).body.status, 'revoked');
    // One colour per status: the summary's tag is the map's.
    assert.match(await page.locator('.govuk-summary-list strong.govuk-tag').first().getAttribute('class'), new RegExp(`govuk-tag--${TAG_COLOURS.revoked}`));

    // The audit trail of the licence: the revocation, the suspension, the activation and the
    // creation, newest first, each saying who (email and role), what (before → after) and when.
    await page.getByRole('link', { name: 'Audit trail' }).last().click();
    await page.locator('h1', { hasText: 'Audit trail' }).waitFor();
    const cards = page.locator('[data-audit]');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 4);
    const suspension = cards.nth(1);
    assert.match(await suspension.locator('.govuk-summary-card__title').textContent(), /^Changed licence MPL-/);
    assert.match(await suspension.textContent(), /Status: Active → Suspended/);
    assert.match(await suspension.textContent(), new RegExp(`Reason: First practitioners accredited → ${reason}`));
    assert.match(await suspension.textContent(), new RegExp(`${ADMIN} \\(Licensing body admin\\)`));
    assert.match(await suspension.textContent(), /When\s*\d{1,2} [A-Z][a-z]+ \d{4} at (\d{1,2}:\d{2}[ap]m|midday|midnight)/);
    assert.match(await cards.nth(3).locator('.govuk-summary-card__title').textContent(), /^Created licence/);
    assert.equal(await page.locator('#f-resource_type').inputValue(), 'licence');
    await view(page, 'audit-licence');
    const audit = await apiAs(token, `/v1/audit?resource_type=licence&resource_id=${licenceId}`);
    assert.deepEqual(
      audit.body.items.map((a) => a.after?.status),
      ['revoked', 'suspended', 'active', 'pending'],
    );

    // Filters: by person, action and date (today), for every kind of record.
    // Only the hash changes, so the licence's trail stays drawn until the router replaces it:
    // wait for the unfiltered view (no kind of record chosen, filter closed) before opening it.
    await page.goto(url('/console#/audit'));
    await page.locator('h1', { hasText: 'Audit trail' }).waitFor();
    await page.waitForFunction(() => document.querySelector('#f-resource_type')?.value === ''
      && !document.querySelector('details.govuk-details')?.open);
    await page.locator('details.govuk-details summary').click();
    await page.locator('details.govuk-details[open] #f-actor_email').waitFor();
    await page.locator('#f-actor_email').fill(ADMIN.toUpperCase());
    await page.locator('#f-action').selectOption('create');
    const today = daysFromNow(0);
    await fillDate(page, 'from', today);
    await fillDate(page, 'to', today);
    await page.getByRole('button', { name: 'Show changes' }).click();
    await page.waitForURL(/actor_email=/);
    // The filtered list replaces the whole one: wait for it to be drawn.
    await page.locator('details.govuk-details[open] #f-actor_email').waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-audit] .govuk-summary-card__title')].every((t) => t.textContent.startsWith('Created ')));
    const titles = await page.locator('[data-audit] .govuk-summary-card__title').allTextContents();
    assert.ok(titles.length >= 2, 'the organisation and the licence created today');
    for (const t of titles) {
      assert.match(t, /^Created /);
    }
    assert.ok(titles.some((t) => t.includes(name)), 'the organisation created today is listed');
    for (const who of await page.locator('[data-audit] .govuk-summary-list__row:nth-child(2) dd').allTextContents()) {
      assert.match(who, new RegExp(ADMIN));
    }
    await view(page, 'audit-filtered');
    // Nobody by that address: nothing, said in words.
    await page.locator('#f-actor_email').fill('nobody@example.org');
    await page.getByRole('button', { name: 'Show changes' }).click();
    await page.locator('main', { hasText: 'No change matches these filters.' }).waitFor();

    // Signing out ends the session: the sign-in page, and the token's refresh is revoked.
    await page.locator('#sign-out').click();
    await page.locator('h1', { hasText: 'Sign in to the licensing body console' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mpact-registry.session')), null);
    await view(page, 'signed-out');
  }));

test('an admin reads a facilitator’s history and eligibility verdict', () =>
  withBrowser(async (page) => {
    await signIn(page, 'console', ADMIN);
    await page.getByRole('link', { name: 'Facilitators', exact: true }).first().click();
    await page.locator('h1', { hasText: 'Facilitators' }).waitFor();
    await page.locator('#f-q').fill('MPF-000049');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'MPF-000049' }).click();
    await page.locator('h1', { hasText: 'MPF-000049' }).waitFor();
    assert.match(await page.locator('table', { hasText: 'Status history' }).textContent(), /Suspended pending a practice review/);

    // Today: suspended, so not eligible, and the page says why in words.
    await page.getByRole('button', { name: 'Check eligibility' }).click();
    await page.locator('#verdict').waitFor();
    assert.match(await page.locator('#verdict').textContent(), /Not eligible/);
    assert.match(await page.locator('#verdict').textContent(), /They are suspended\./);
    await view(page, 'facilitator-not-eligible');

    // Before the suspension (about six months ago) they were eligible.
    const then = daysFromNow(-240);
    await fillDate(page, 'on', then);
    await page.getByRole('button', { name: 'Check eligibility' }).click();
    await page.waitForURL(new RegExp(`on=${then}`));
    await page.locator('#verdict', { hasText: /: Eligible/ }).waitFor();
    assert.doesNotMatch(await page.locator('#verdict').textContent(), /Not eligible/);
    await view(page, 'facilitator-eligible-then');

    // The public register shows the same colour for the same status.
    const suspended = await page.locator('.govuk-summary-list strong.govuk-tag').first().getAttribute('class');
    assert.match(suspended, new RegExp(`govuk-tag--${TAG_COLOURS.suspended}\\b`));
    const pub = await page.context().newPage();
    await pub.goto(url('/check?q=MPF-000049'));
    assert.equal(await pub.locator('.govuk-summary-list strong.govuk-tag').getAttribute('class'), suspended);
    await pub.goto(url('/check?q=MPF-000003'));
    assert.match(await pub.locator('.govuk-summary-list strong.govuk-tag').getAttribute('class'), new RegExp(`govuk-tag--${TAG_COLOURS.accredited}\\b`));
    await pub.close();

    // Withdrawing is final: a confirmation page first.
    const token = await pageToken(page);
    await page.locator('#f-status').selectOption('withdrawn');
    await page.locator('#f-reason').fill('Left the profession');
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('h1', { hasText: /Are you sure you want to withdraw/ }).waitFor();
    assert.equal((await apiAs(token, '/v1/facilitators/MPF-000049')).body.status, 'suspended', 'nothing changes before confirming');
    await view(page, 'facilitator-withdraw-confirm');
    await page.getByRole('button', { name: 'Withdraw facilitator' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'is now withdrawn' }).waitFor();
    assert.equal((await apiAs(token, '/v1/facilitators/MPF-000049')).body.status, 'withdrawn');
  }));

test('an admin schedules a session, enrols a facilitator and records outcomes in one table', () =>
  withBrowser(async (page) => {
    await signIn(page, 'console', ADMIN);
    const token = await pageToken(page);

    // Schedule a new session and enrol someone in it.
    await page.goto(url('/console#/training/new'));
    await page.locator('h1', { hasText: 'Schedule a training session' }).waitFor();
    await view(page, 'training-new');
    await page.locator('#f-course_id').selectOption({ label: 'MPACT-PRAC: M-PACT Practitioner Programme' });
    await fillDate(page, 'starts_on', daysFromNow(40));
    await fillDate(page, 'ends_on', daysFromNow(43));
    await page.locator('#f-venue').fill('Chatham Community Hall');
    await page.locator('#f-capacity').fill('12');
    await page.getByRole('button', { name: 'Schedule session' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'has been scheduled' }).waitFor();
    await page.locator('#f-registration_number').fill('MPF-999999');
    await page.getByRole('button', { name: 'Enrol' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'No facilitator has the number MPF-999999' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [404]), 1);
    await page.locator('#f-registration_number').fill('mpf-000001');
    await page.getByRole('button', { name: 'Enrol' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'MPF-000001' }).waitFor();
    assert.equal(await page.locator('#outcomes tbody tr').count(), 1);
    await view(page, 'training-enrolled');

    // This week's session (ended yesterday, so awaiting outcomes): ten people attended; record
    // four outcomes at once.
    await page.getByRole('link', { name: 'Training', exact: true }).first().click();
    await page.locator('table tbody tr', { hasText: 'Awaiting outcomes' }).first().waitFor();
    // A session past its end awaits outcomes and offers no places; none past its end reads
    // "Scheduled".
    for (const row of await page.locator('table tbody tr').all()) {
      const cells = await row.locator('td').allTextContents();
      if (/Awaiting outcomes/.test(cells[2])) {
        assert.equal(cells[4].trim(), 'Closed', `places of ${cells[0]}`);
      }
      const ends = /to (\d{1,2} \w+ \d{4})$/.exec(cells[1].trim())?.[1];
      if (ends && new Date(`${ends} UTC`) < new Date(`${daysFromNow(0)}T00:00:00Z`)) {
        assert.doesNotMatch(cells[2], /Scheduled/, `${cells[0]} ended on ${ends}`);
      }
    }
    await view(page, 'training-list');
    await page
      .locator('table tbody tr')
      .filter({ has: page.locator('strong', { hasText: 'Awaiting outcomes' }) })
      .filter({ has: page.locator('td', { hasText: /^10$/ }) })
      .getByRole('link')
      .click();
    await page.locator('#outcomes').waitFor();
    assert.equal(await page.locator('#outcomes tbody tr').count(), 10);
    await view(page, 'training-outcomes');
    const outcome = (number) => page.getByLabel(new RegExp(`Outcome for .*\\(${number}\\)`));
    await outcome('MPF-000039').selectOption('passed');
    await outcome('MPF-000041').selectOption('passed');
    await outcome('MPF-000043').selectOption('passed');
    await outcome('MPF-000045').selectOption('failed');
    await page.getByRole('button', { name: 'Save outcomes' }).click();
    // Passed and failed are final: the outcomes are listed on a confirmation page first.
    await page.locator('h1', { hasText: 'Are you sure you want to record these 4 outcomes?' }).waitFor();
    assert.match(await page.locator('.govuk-summary-list').textContent(), /MPF-000045\)\s*Failed/);
    await view(page, 'training-outcomes-confirm');
    await page.getByRole('button', { name: 'Record outcomes' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'Outcomes recorded for 4 people' }).waitFor();
    const row = (number) => page.locator('#outcomes tbody tr', { hasText: number });
    for (const n of ['MPF-000039', 'MPF-000041', 'MPF-000043']) {
      assert.match(await row(n).textContent(), /Passed/);
      assert.match(await row(n).textContent(), /Final/);
    }
    assert.match(await row('MPF-000045').textContent(), /Failed/);
    assert.match(await row('MPF-000040').textContent(), /Attended/);
    await view(page, 'training-outcomes-recorded');

    // A pass accredited them (practitioner course: 36 months from the session's last day).
    for (const n of ['MPF-000039', 'MPF-000041', 'MPF-000043']) {
      const f = await apiAs(token, `/v1/facilitators/${n}`);
      assert.equal(f.body.status, 'accredited', n);
      assert.equal(f.body.reason?.length > 0, true);
    }
    assert.equal((await apiAs(token, '/v1/facilitators/MPF-000045')).body.status, 'in_training');
  }));

test('the reports page draws its charts, each with a data table, within the CSP', () =>
  withBrowser(async (page) => {
    await signIn(page, 'console', ADMIN);
    await page.getByRole('link', { name: 'Reports', exact: true }).first().click();
    await page.locator('h1', { hasText: 'Reports' }).waitFor();
    for (const id of ['trained', 'runs', 'families']) {
      const canvas = page.locator(`#chart-${id}`);
      await canvas.waitFor();
      const drawn = await canvas.evaluate((c) => ({
        chart: Boolean(window.Chart.getChart(c)),
        width: c.width,
        height: c.height,
        // A drawn chart has painted pixels.
        painted: c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0),
      }));
      assert.equal(drawn.chart, true, `${id} is a Chart.js chart`);
      assert.ok(drawn.width > 100 && drawn.height > 100, `${id} has a size`);
      assert.equal(drawn.painted, true, `${id} is drawn`);
    }
    // Each chart's figures as a table: the demo data's practitioners trained, the runs by status
    // and year, the families reached.
    const trained = page.locator('table', { hasText: 'Practitioners trained per year: figures' });
    assert.equal(await trained.locator('tbody tr').count() > 0, true);
    const token = await pageToken(page);
    const summary = (await apiAs(token, '/v1/reports/summary')).body;
    const total = summary.practitioners_trained.reduce((n, r) => n + r.count, 0);
    const shown = (await trained.locator('tbody td').allTextContents()).reduce((n, t) => n + Number(t), 0);
    assert.equal(shown, total);
    const runs = page.locator('table', { hasText: 'Programme runs per year: figures' });
    const runTotal = summary.programme_runs.reduce((n, r) => n + r.count, 0);
    const runShown = (await runs.locator('tbody td').allTextContents()).reduce((n, t) => n + Number(t), 0);
    assert.equal(runShown, runTotal);
    assert.equal(await page.locator('table', { hasText: 'Families reached per year: figures' }).count(), 1);
    // The expiring list: Manchester's licence runs out within 60 days in the demo data.
    assert.match(await page.locator('table', { hasText: 'Licences and accreditations ending' }).textContent(), /Manchester Families First/);

    // Every year from the first to this one, zero years too, in each chart and its table.
    for (const id of ['trained', 'runs', 'families']) {
      const labels = await page.locator(`#chart-${id}`).evaluate((c) => window.Chart.getChart(c).data.labels.map(Number));
      for (let i = 1; i < labels.length; i++) {
        assert.equal(labels[i], labels[i - 1] + 1, `${id}: no year is left out (${labels})`);
      }
      assert.ok(labels.at(-1) >= new Date().getUTCFullYear(), `${id} reaches this year`);
      const table = page.locator('table', { hasText: `per year: figures` }).nth(['trained', 'runs', 'families'].indexOf(id));
      assert.deepEqual((await table.locator('tbody th').allTextContents()).map(Number), labels);
    }
    const rows = (await trained.locator('tbody tr').allTextContents()).length;
    const years = new Set(summary.practitioners_trained.map((r) => r.year)).size;
    assert.ok(rows >= years, 'the table shows every year the figures have');
    // Planned runs are not in an alarm colour; the axes are named and readable.
    const runChart = await page.locator('#chart-runs').evaluate((c) => {
      const ch = window.Chart.getChart(c);
      return {
        colours: Object.fromEntries(ch.data.datasets.map((d) => [d.label, d.backgroundColor])),
        x: ch.options.scales.x.title.text,
        y: ch.options.scales.y.title.text,
        size: ch.options.scales.x.ticks.font.size,
      };
    });
    assert.equal(runChart.x, 'Year');
    assert.equal(runChart.y, 'Programme runs');
    assert.ok(runChart.size >= 14, 'tick labels of at least 14 px');
    for (const alarm of ['#d4351c', '#ca3535', '#f47738', '#912b88']) {
      assert.notEqual(runChart.colours.Planned, alarm, 'planned is not red or orange');
    }
    await view(page, 'reports');
  }));

test('on a phone the menu closes after navigation, and wide tables say they scroll', () =>
  withBrowser(
    async (page) => {
      await signIn(page, 'console', ADMIN);
      const toggle = page.locator('.govuk-service-navigation__toggle');
      await toggle.waitFor();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      await page.locator('#navigation').getByRole('link', { name: 'Facilitators', exact: true }).click();
      await page.locator('h1', { hasText: 'Facilitators' }).waitFor();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'the menu closed');
      assert.equal(await page.locator('#navigation').isVisible(), false);
      // The register's table has five columns: on a phone each row reads as a list, each value
      // under its column's name, and nothing scrolls sideways.
      const table = page.locator('table.app-table--stack').first();
      await table.waitFor();
      const row = table.locator('tbody tr').first();
      assert.equal(await row.evaluate((r) => getComputedStyle(r).display), 'block');
      assert.equal(await row.locator('td').first().evaluate((c) => getComputedStyle(c, '::before').content), '"Registration number"');
      assert.equal(await table.getAttribute('role'), 'table', 'still a table to screen readers');
      const region = page.locator('.app-table-wrapper').first();
      assert.equal(await region.evaluate((r) => r.scrollWidth > r.clientWidth), false);
      assert.equal(await page.locator('.app-scroll-hint').first().isVisible(), false);
      await lib.assertFits(page, 'facilitators');
      await view(page, 'phone-facilitators');
      // At a desktop's width the same table has its columns again.
      await page.setViewportSize({ width: 1280, height: 900 });
      assert.equal(await row.evaluate((r) => getComputedStyle(r).display), 'table-row');
    },
    { width: lib.PHONE_WIDTH, height: 800 },
  ));

test('a licensee signing in to the console is told so and offered the portal', () =>
  withBrowser(async (page) => {
    await page.goto(url('/console'));
    await page.locator('#f-email').fill('manager@medway-recovery.example');
    await page.locator('#f-password').fill(process.env.DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h1', { hasText: 'This is the licensing body console' }).waitFor();
    assert.match(await page.locator('main').textContent(), /licensee account/);
    assert.equal(await page.locator('#navigation li').count(), 0, 'no console menu for a licensee');
    await view(page, 'wrong-app');
    await page.locator('#other-app').click();
    await page.locator('h1', { hasText: 'Medway Family Recovery Service' }).waitFor();
    assert.match(page.url(), /\/portal/);
  }));
