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
import { apiAs, daysFromNow, forgiveFailedRequests, pageToken, signIn, url, withBrowser } from './lib.mjs';

const view = (page, name) => lib.view(page, 'console', name);

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

    // Issue a licence, then activate it.
    await page.locator('#f-valid_until').fill(daysFromNow(3 * 365));
    await page.locator('#f-reason').fill('Licensed after practitioner training');
    await page.getByRole('button', { name: 'Create licence' }).click();
    await page.locator('h1', { hasText: /Licence MPL-/ }).waitFor();
    const licenceId = page.url().split('#/licences/')[1];
    assert.match(await page.locator('.govuk-summary-list').textContent(), /Pending/);
    await view(page, 'licence-pending');

    // A status change needs a reason: the service refuses it without one.
    await page.getByLabel('Activate').check();
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('.govuk-error-summary a[href="#f-reason"]').waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
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

    // The audit trail of the licence shows the suspension, the activation and the creation,
    // newest first.
    await page.getByRole('link', { name: 'Audit trail' }).last().click();
    await page.locator('h1', { hasText: 'Audit trail' }).waitFor();
    const rows = page.locator('table tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 3);
    const last = rows.nth(0);
    assert.match(await last.textContent(), /Update/);
    assert.match(await last.textContent(), /Status: active → suspended/);
    assert.match(await last.textContent(), new RegExp(reason));
    await page.locator('table tbody tr:nth-child(1) td:nth-child(2)', { hasText: ADMIN }).waitFor();
    assert.equal(await page.locator('#f-resource_type').inputValue(), 'licence');
    await view(page, 'audit-licence');
    const audit = await apiAs(token, `/v1/audit?resource_type=licence&resource_id=${licenceId}`);
    assert.deepEqual(
      audit.body.items.map((a) => a.after?.status),
      ['suspended', 'active', 'pending'],
    );

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
    await page.locator('#f-on').fill(then);
    await page.getByRole('button', { name: 'Check eligibility' }).click();
    await page.waitForURL(new RegExp(`on=${then}`));
    await page.locator('#verdict', { hasText: /: Eligible/ }).waitFor();
    assert.doesNotMatch(await page.locator('#verdict').textContent(), /Not eligible/);
    await view(page, 'facilitator-eligible-then');
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
    await page.locator('#f-starts_on').fill(daysFromNow(40));
    await page.locator('#f-ends_on').fill(daysFromNow(43));
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
    await view(page, 'reports');
    // At a phone's width the page still works and stays clean.
    await page.setViewportSize({ width: 360, height: 800 });
    await page.waitForTimeout(300);
    await view(page, 'reports-360');
  }));

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
