// portal.test.mjs: the licensee portal in a real browser, against the demo data. Medway's
// org_admin signs in and sees the organisation and its licence; bulk-checks staff by pasting
// numbers (one unknown); schedules a programme run that the service refuses, with every broken
// rule shown in words and linked to its field, then corrects it and sees it accepted and listed;
// adds a site (after a refused postcode), re-confirms its details, is refused a public school
// site and warned about a postcode without coordinates; creates an API client whose
// secret is shown once, rotates and deletes it. Medway's org_staff sees no write action the API
// refuses them; an admin signing in to the portal is offered the console. Every view: axe-clean,
// no console error or CSP violation, a screenshot; results are checked through the API too.
// BROWSER_TIMEOUT=300
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as lib from './lib.mjs';
import { apiAs, assertErrorsAgree, daysFromNow, fillDate, forgiveFailedRequests, pageToken, signIn, url, withBrowser } from './lib.mjs';

// Every screen at 1280 px and at 390 px: axe-clean, fits the width, dates in words, clean.
const view = (page, name) => lib.viewBoth(page, 'portal', name);

const MANAGER = 'manager@medway-recovery.example';
const STAFF = 'staff@medway-recovery.example';
const MEDWAY = '7b0c1a3e-0000-4000-8000-000000000001';

test('a licensee sees their organisation and licence, and bulk-checks staff', () =>
  withBrowser(async (page) => {
    await page.goto(url('/portal'));
    assert.equal(await page.locator('h1').textContent(), 'Sign in to the licensee portal');
    await view(page, 'sign-in');
    await signIn(page, 'portal', MANAGER);
    await page.locator('h1', { hasText: 'Medway Family Recovery Service' }).waitFor();
    assert.match(await page.locator('main').textContent(), /Active/);
    await view(page, 'home');

    await page.getByRole('link', { name: 'Staff', exact: true }).click();
    await page.locator('table', { hasText: 'Your facilitators' }).waitFor();
    assert.match(await page.locator('table', { hasText: 'Your facilitators' }).textContent(), /MPF-000003/);
    await view(page, 'staff');

    // One a line, commas, a lower-case number, a repeat and an unknown number.
    await page.locator('#f-numbers').fill('MPF-000003\nmpf-000049, MPF-999999\nMPF-000003, MPF-000010');
    await page.getByRole('button', { name: 'Check statuses' }).click();
    const results = page.locator('#check-results table');
    await results.waitFor();
    assert.match(await results.locator('caption').textContent(), /4 checked, 1 not found/);
    const rows = await results.locator('tbody tr').allTextContents();
    assert.equal(rows.length, 4);
    assert.match(rows[0], /MPF-000003.*Accredited/);
    assert.match(rows[1], /MPF-000049.*Suspended/);
    assert.match(rows[2], /MPF-999999.*Not found/);
    assert.match(rows[3], /MPF-000010.*Accredited/);
    await view(page, 'bulk-check');

    // Nothing pasted: an error linked to the box.
    await page.locator('#f-numbers').fill('  ');
    await page.getByRole('button', { name: 'Check statuses' }).click();
    await page.locator('.govuk-error-summary a[href="#f-numbers"]', { hasText: 'Enter at least one registration number' }).waitFor();
    await assertErrorsAgree(page);
    await view(page, 'bulk-check-empty');
  }));

test('a licensee schedules a run: refused with each rule in words, then accepted and listed', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', MANAGER);
    const token = await pageToken(page);
    const before = (await apiAs(token, `/v1/programmes?organisation_id=${MEDWAY}&limit=100`)).body.items.length;

    await page.getByRole('link', { name: 'Programme runs', exact: true }).click();
    await page.getByRole('button', { name: 'Schedule a programme run' }).click();
    await page.locator('h1', { hasText: 'Schedule a programme run' }).waitFor();
    await view(page, 'run-new');

    // Breaks four rules at once: ends after the licence runs out (Medway's is valid for
    // about 695 more days), one facilitator only, and a suspended one, more families than places.
    const starts = daysFromNow(30);
    await page.locator('#f-location_id').selectOption({ label: 'Gun Wharf Family Centre, Chatham' });
    await fillDate(page, 'starts_on', starts);
    await fillDate(page, 'ends_on', daysFromNow(900));
    await page.locator('#f-capacity_families').fill('8');
    await page.locator('#f-families_enrolled').fill('9');
    await page.getByLabel(/\(MPF-000049\)/).check();
    await page.getByRole('button', { name: 'Schedule run' }).click();
    const summary = page.locator('.govuk-error-summary');
    await summary.waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    const text = await summary.textContent();
    assert.match(text, /Your organisation does not hold an active licence on \d+ \w+ \d{4}/);
    assert.match(text, /This variant needs at least 2 facilitators; you chose 1/);
    assert.match(text, /MPF-000049 cannot deliver M-PACT for your organisation on .*They are suspended/);
    assert.match(text, /9 families are enrolled but there are only 8 places/);
    // The messages by the fields say what the summary says, without a closing full stop.
    await assertErrorsAgree(page);
    assert.doesNotMatch(text, /_/, 'no rule code shows through');
    // Each is linked to the field to change, and marked there.
    assert.equal(await summary.locator('a[href="#f-facilitator_ids"]').count(), 2);
    assert.equal(await summary.locator('a[href="#f-families_enrolled"]').count(), 1);
    assert.equal(await summary.locator('a[href="#f-ends_on"]').count(), 1, 'the licence rule names the last day');
    assert.equal(await page.locator('[data-field="facilitator_ids"].govuk-form-group--error').count(), 1);
    await view(page, 'run-refused');
    // Nothing was written.
    assert.equal((await apiAs(token, `/v1/programmes?organisation_id=${MEDWAY}&limit=100`)).body.items.length, before);

    // Corrected: within the licence, two accredited facilitators, within capacity.
    await fillDate(page, 'ends_on', daysFromNow(100));
    await page.locator('#f-families_enrolled').fill('2');
    await page.getByLabel(/\(MPF-000049\)/).uncheck();
    await page.getByLabel(/\(MPF-000003\)/).check();
    await page.getByLabel(/\(MPF-000010\)/).check();
    await page.locator('#f-start_time').fill('10:00');
    await page.getByRole('button', { name: 'Schedule run' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'has been scheduled' }).waitFor();
    const runId = page.url().split('#/runs/')[1];
    assert.match(await page.locator('.govuk-summary-list').textContent(), /MPF-000003.*MPF-000010/);
    await view(page, 'run-accepted');

    await page.getByRole('link', { name: 'All programme runs' }).click();
    await page.locator(`a[href="#/runs/${runId}"]`).waitFor();
    await view(page, 'runs');
    const run = await apiAs(token, `/v1/programmes/${runId}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.starts_on, starts);
    assert.equal(run.body.families_enrolled, 2);
    assert.equal(run.body.status, 'planned');

    // Cancelling the run is final: a confirmation page says so first.
    await page.locator(`a[href="#/runs/${runId}"]`).click();
    await page.locator('#run-status').waitFor();
    assert.match(await page.locator('.govuk-summary-list strong.govuk-tag').first().getAttribute('class'), /govuk-tag--blue/, 'planned is blue, not an alarm');
    await page.locator('#run-status').getByLabel('Cancelled').check();
    await page.getByRole('button', { name: 'Change status' }).click();
    await page.locator('h1', { hasText: 'Are you sure you want to cancel this programme run?' }).waitFor();
    assert.equal((await apiAs(token, `/v1/programmes/${runId}`)).body.status, 'planned', 'nothing changes before confirming');
    await view(page, 'run-cancel-confirm');
    await page.getByRole('button', { name: 'Cancel the run' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'The run is now cancelled' }).waitFor();
    assert.equal((await apiAs(token, `/v1/programmes/${runId}`)).body.status, 'cancelled');
  }));

test('a licensee records a run’s completion figures', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', MANAGER);
    // A completed demo run: correct its figures, as the service allows.
    await page.goto(url('/portal#/runs/9a000000-0000-4000-8000-000000000001'));
    await page.locator('h2', { hasText: 'Correct the completion figures' }).waitFor();
    await page.locator('#f-families_completed').fill('9');
    await page.getByRole('button', { name: 'Save corrections' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'More families completed than started' }).waitFor();
    await assertErrorsAgree(page);
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    await view(page, 'completion-refused');
    await page.locator('#f-families_completed').fill('7');
    await page.getByRole('button', { name: 'Save corrections' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'completion figures are recorded' }).waitFor();
    assert.match(await page.locator('table', { hasText: 'Completion figures' }).textContent(), /Families who completed\s*7/);
    await view(page, 'completion-recorded');
    const token = await pageToken(page);
    assert.equal((await apiAs(token, '/v1/programmes/9a000000-0000-4000-8000-000000000001')).body.families_completed, 7);
  }));

test('a licensee records a completed run’s delivery record and outcomes', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', MANAGER);
    const token = await pageToken(page);
    const runId = '9a000000-0000-4000-8000-000000000002';
    // Every address the page asks for (no score may travel in one).
    const requested = [];
    page.on('request', (req) => requested.push(req.url()));
    const record = async () => (await apiAs(token, `/v1/programmes/${runId}/delivery`)).body;
    assert.equal((await record()).status, 'completed');
    // The demo data already holds this run's record (sql/seed/demo.sql): the page corrects it.
    const before = await record();
    assert.equal(typeof before.families_referred, 'number');

    await page.goto(url(`/portal#/runs/${runId}`));
    await page.locator('#delivery-link').click();
    await page.locator('h1', { hasText: 'Delivery record' }).waitFor();
    await page.locator('#delivery-form').waitFor();
    // The figures the completion already recorded are there to correct.
    assert.equal(await page.locator('#f-families_started').inputValue(), '6');
    assert.equal(await page.locator('#f-adults').inputValue(), '8');
    await view(page, 'delivery');
    // On a phone the breakdown of adults by relationship and gender (a grid of inputs) scrolls
    // in its own region, and a visible hint says so.
    await page.setViewportSize({ width: lib.PHONE_WIDTH, height: 900 });
    const grid = page.locator('[data-field="adults_by_relationship"]');
    await grid.locator('.app-scroll-hint').waitFor();
    assert.match(await grid.locator('.app-scroll-hint').textContent(), /Scroll the table sideways/);
    assert.ok(await grid.locator('.app-table-wrapper').evaluate((r) => r.scrollWidth > r.clientWidth));
    await lib.assertFits(page, 'delivery');
    await page.setViewportSize({ width: lib.DESKTOP, height: 900 });
    await page.waitForFunction(() => document.querySelector('[data-field="adults_by_relationship"] .app-scroll-hint').hidden);
    // The demo's breakdowns are emptied first, so the totals below are the test's own.
    for (const input of await page.locator('#delivery-form table input').all()) {
      await input.fill('');
    }

    // Every figure, and each breakdown in its table (cells named by row and column).
    const cell = (name) => page.getByLabel(name, { exact: true });
    await page.locator('#f-families_referred').fill('7');
    await page.locator('#f-families_assessed').fill('8');
    await page.locator('#f-families_completed').fill('5');
    await page.locator('#f-sessions_delivered').fill('11');
    await page.locator('#f-delivery_cost_gbp').fill('4812');
    for (const [label, n] of [
      ['Children\'s social care: families referred', '3'],
      ['Drug and alcohol treatment: families referred', '2'],
      ['Self: families referred', '1'],
      ['Domestic abuse service: referrals made', '2'],
      ['Advice (e.g. Citizens Advice): referrals made', '1'],
      ['Mother: Female', '5'],
      ['Grandmother: Female', '2'],
      ['Father: Male', '1'],
      ['8 to 11: Female', '3'],
      ['8 to 11: Male', '2'],
      ['12 to 14: Female', '2'],
      ['12 to 14: Male', '2'],
      ['15 to 17: Male', '1'],
      ['My wellbeing has improved: Agree', '7'],
      ['My wellbeing has improved: Neither agree nor disagree', '1'],
      ['I would recommend M-PACT: Agree', '8'],
    ]) {
      await cell(label).fill(n);
    }
    assert.equal(await page.locator('[data-total="referrals_by_source"]').textContent(), 'Total: 6');

    // Two rules broken: more assessed than referred, and the referrals add up to 6, not 7.
    await page.getByRole('button', { name: 'Save the delivery record' }).click();
    const summary = page.locator('.govuk-error-summary');
    await summary.waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    const text = await summary.textContent();
    assert.match(text, /Families assessed: more families were assessed \(8\) than referred \(7\)/);
    assert.match(text, /Where the families were referred from: these add up to 6, but families referred is 7/);
    await assertErrorsAgree(page);
    assert.doesNotMatch(text, /_/, 'no rule code shows through');
    assert.equal(await summary.locator('a[href="#f-families_assessed"]').count(), 1);
    assert.equal(await summary.locator('a[href="#f-referrals_by_source"]').count(), 1);
    assert.equal(await page.locator('[data-field="referrals_by_source"].govuk-form-group--error').count(), 1);
    // The link takes the user to the table's first cell.
    await summary.locator('a[href="#f-referrals_by_source"]').click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-referrals_by_source');
    await view(page, 'delivery-refused');
    assert.equal((await record()).families_referred, before.families_referred, 'nothing was written');

    // Corrected: saved, and read back in the form and through the API.
    await page.locator('#f-families_assessed').fill('7');
    await cell('School: families referred').fill('1');
    await page.getByRole('button', { name: 'Save the delivery record' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'The delivery record is saved' }).waitFor();
    assert.equal(await page.locator('#f-families_referred').inputValue(), '7');
    assert.equal(await page.locator('#f-delivery_cost_gbp').inputValue(), '4812');
    assert.equal(await cell('Mother: Female').inputValue(), '5');
    assert.equal(await cell('I would recommend M-PACT: Agree').inputValue(), '8');
    assert.equal(await page.locator('[data-total="adults_by_relationship"]').textContent(), 'Total: 8');
    await view(page, 'delivery-saved');
    const saved = await record();
    assert.equal(saved.families_referred, 7);
    assert.equal(saved.families_assessed, 7);
    assert.equal(saved.delivery_cost_gbp, 4812);
    assert.equal(saved.review_held, true);
    assert.deepEqual(saved.referrals_by_source, { childrens_social_care: 3, drug_alcohol_treatment: 2, self: 1, school: 1 });
    assert.deepEqual(saved.onward_referrals, { domestic_abuse: 2, advice: 1 });
    assert.deepEqual(saved.adults_by_relationship, { mother: { female: 5 }, grandmother: { female: 2 }, father: { male: 1 } });
    assert.deepEqual(saved.children_by_age_band, { '8_11': { female: 3, male: 2 }, '12_14': { female: 2, male: 2 }, '15_17': { male: 1 } });
    assert.deepEqual(saved.feedback, { wellbeing_improved: { agree: 7, neither: 1 }, would_recommend: { agree: 8 } });

    // Someone else changes the record meanwhile: saving says so, and writes nothing.
    const current = await fetch(url(`/v1/programmes/${runId}/delivery`), { headers: { Authorization: `Bearer ${token}` } });
    const { programme_id: _p, organisation_id: _o, status: _s, capacity_families: _c, updated_at: _u, ...figures } = await current.json();
    const other = await fetch(url(`/v1/programmes/${runId}/delivery`), {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'If-Match': current.headers.get('ETag') },
      body: JSON.stringify({ ...figures, delivery_cost_gbp: 5000 }),
    });
    assert.equal(other.status, 200);
    await page.locator('#f-delivery_cost_gbp').fill('4900');
    await page.getByRole('button', { name: 'Save the delivery record' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'Someone else changed this record since you opened it' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [412]), 1);
    assert.equal((await record()).delivery_cost_gbp, 5000);

    // Outcomes: the scores of the adults who answered before and after, pasted one pair a line.
    // A score off the measure's scale (1 to 5) is refused, naming the line.
    const outcomesBefore = (await apiAs(token, `/v1/programmes/${runId}/outcomes`)).body;
    const box = page.locator('#f-pairs_coping_efficacy');
    const form = page.locator('#outcome-coping_efficacy');
    await box.fill('2.125, 3.125\n3.25, 7');
    await form.getByRole('button', { name: 'Send scores' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'Scores before and after: line 2: every score is within the measure\'s scale, 1 to 5' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    assert.equal(await page.locator('.govuk-error-summary a[href="#f-pairs_coping_efficacy"]').count(), 1);
    // A line that is not a pair is caught before anything is sent.
    await box.fill('2.125, 3.125\n2.5 and 4');
    await form.getByRole('button', { name: 'Send scores' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'line 2 is not a pair of scores' }).waitFor();
    await view(page, 'outcomes-refused');
    assert.deepEqual((await apiAs(token, `/v1/programmes/${runId}/outcomes`)).body, outcomesBefore, 'nothing was recorded');

    // Commas, tabs and spaces all separate; blank lines are skipped. The changes are 1, 1.5,
    // 0.5 and 1: mean 1, sd 0.408, so the 95% interval is 1 ± 3.182 × 0.204 = 0.35 to 1.65.
    await box.fill('2.125, 3.125\n2.5\t4\n\n3.25 3.75\n1.375,2.375\n');
    await form.locator('#f-pre_only_coping_efficacy').fill('1');
    await form.getByRole('button', { name: 'Send scores' }).click();
    const status = page.locator('[data-status="coping_efficacy"]');
    await status.filter({ hasText: 'holds the totals of 4 pairs' }).waitFor();
    const shown = await page.locator('[data-summary="coping_efficacy"]').textContent();
    assert.match(shown, /Adults with both scores\s*4/);
    assert.match(shown, /Answered before only\s*1/);
    assert.match(shown, /Mean before\s*2\.31/);
    assert.match(shown, /Mean after\s*3\.31/);
    assert.match(shown, /Mean change\s*\+1\.00 \(95% confidence interval \+0\.35 to \+1\.65; higher is better\)/);
    assert.match(shown, /Improved\s*Statistically significant \(p = 0\.016\)/);
    const summaryApi = (await apiAs(token, `/v1/programmes/${runId}/outcomes/coping_efficacy`)).body;
    assert.equal(summaryApi.n, 4);
    assert.ok(Math.abs(summaryApi.ci95[0] - 0.3504) < 0.001 && Math.abs(summaryApi.ci95[1] - 1.6496) < 0.001, `ci95 ${summaryApi.ci95}`);

    // The scores are gone from the page, and were never kept in the browser or the URL.
    assert.equal(await box.inputValue(), '');
    assert.equal(await form.locator('#f-pre_only_coping_efficacy').inputValue(), '');
    const kept = await page.evaluate(() => {
      const all = (s) => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i))}`).join('\n');
      return { local: all(localStorage), session: all(sessionStorage), url: location.href, html: document.documentElement.outerHTML };
    });
    for (const score of ['2.125', '3.125', '1.375', '2.375', '3.75']) {
      for (const where of ['local', 'session', 'url', 'html']) {
        assert.ok(!kept[where].includes(score), `score ${score} found in ${where}`);
      }
    }
    assert.equal(kept.local, '', 'nothing in localStorage');
    for (const score of ['2.125', '3.125', '1.375', '2.375', '3.75']) {
      assert.ok(!requested.some((u) => u.includes(score)), `score ${score} in a requested address`);
    }
    assert.ok(requested.some((u) => u.endsWith(`/v1/programmes/${runId}/outcomes/coping_efficacy`)), 'the scores went in a PUT body');
    await view(page, 'outcomes-recorded');
  }));

test('a licensee adds a site, re-confirms its details, and manages an API client', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', MANAGER);
    const token = await pageToken(page);
    await page.getByRole('link', { name: 'Sites', exact: true }).click();
    await page.getByRole('button', { name: 'Add a site' }).click();
    await page.locator('#f-name').fill('Strood Library Rooms');
    await page.locator('#f-kind').selectOption('community');
    await page.locator('#f-address_lines').fill('32 North Street');
    await page.locator('#f-town').fill('Strood');
    await page.locator('#f-postcode').fill('not a postcode');
    await page.getByRole('button', { name: 'Add site' }).click();
    await page.locator('.govuk-error-summary a[href="#f-postcode"]', { hasText: 'Enter a full UK postcode, like ME4 4AB' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    await assertErrorsAgree(page);
    await view(page, 'site-refused');
    // Nothing in the site's name: the Design System's words, not "Name of the site: is required".
    await page.locator('#f-name').fill('');
    await page.getByRole('button', { name: 'Add site' }).click();
    await page.locator('.govuk-error-summary a[href="#f-name"]', { hasText: 'Enter the site’s name' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    const said = await assertErrorsAgree(page);
    assert.doesNotMatch(said.summary.join(' '), /is required|: /);
    await page.locator('#f-name').fill('Strood Library Rooms');
    await page.locator('#f-postcode').fill('ME4 4UH');
    await page.getByRole('button', { name: 'Add site' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'Strood Library Rooms has been added' }).waitFor();
    await page.getByRole('link', { name: 'Strood Library Rooms' }).click();
    await page.getByRole('button', { name: 'Confirm these details are still correct' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'confirmed' }).waitFor();
    await view(page, 'site');
    const id = page.url().split('#/sites/')[1];
    const site = (await apiAs(token, `/v1/locations/${id}`)).body;
    assert.equal(site.postcode, 'ME4 4UH');
    assert.ok(site.last_verified_on, 'confirmed on a date');
    assert.equal(site.warnings.length, 0);

    // A school site is never public: asking for it is refused, in words.
    await page.locator('#f-kind').selectOption('school');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.govuk-error-summary', { hasText: 'School and prison sites are never shown to the public' }).waitFor();
    assert.equal(forgiveFailedRequests(page, [422]), 1);
    await view(page, 'site-school-public-refused');
    assert.equal((await apiAs(token, `/v1/locations/${id}`)).body.kind, 'community');

    // A postcode the registry has no coordinates for: saved, with the warning that the site
    // cannot appear in the finder, on the banner and on the site's page.
    await page.locator('#f-kind').selectOption('community');
    await page.locator('#f-postcode').fill('ME2 9ZZ');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'cannot appear in the public finder' }).waitFor();
    await page.locator('.govuk-warning-text', { hasText: 'its postcode ME2 9ZZ is not in the registry’s postcode list' }).waitFor();
    await view(page, 'site-no-coordinates');
    const moved = (await apiAs(token, `/v1/locations/${id}`)).body;
    assert.equal(moved.postcode, 'ME2 9ZZ');
    assert.equal(moved.warnings[0].rule, 'no_coordinates');

    // API clients: the secret is shown once.
    await page.getByRole('link', { name: 'API clients', exact: true }).click();
    // The sites page had a #f-name too: wait for the clients page (its list loaded) before typing.
    await page.locator('#client-form').waitFor();
    await page.locator('#f-name').fill('HR system');
    await page.getByLabel('Read facilitators').check();
    await page.getByRole('button', { name: 'Create API client' }).click();
    await page.locator('h1', { hasText: 'HR system has been created' }).waitFor();
    const secret = await page.locator('.app-secret').nth(1).textContent();
    assert.ok(secret.length >= 32);
    await view(page, 'client-secret');
    // The secret works (client credentials) and is never listed again.
    const clientId = await page.locator('.app-secret').first().textContent();
    const grant = await fetch(url('/v1/auth/token'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    assert.equal(grant.status, 200);
    await page.locator('#back-to-list').click();
    const row = page.locator('table tbody tr', { hasText: 'HR system' });
    await row.waitFor();
    assert.doesNotMatch(await page.locator('main').textContent(), new RegExp(secret));
    await view(page, 'clients');
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await page.locator('h1', { hasText: 'New secret for HR system' }).waitFor();
    assert.notEqual(await page.locator('.app-secret').nth(1).textContent(), secret);
    await page.locator('#back-to-list').click();
    // Deleting is final: a confirmation page first; Cancel keeps the client.
    await page.locator('table tbody tr', { hasText: 'HR system' }).getByRole('button', { name: 'Delete' }).click();
    await page.locator('h1', { hasText: 'Are you sure you want to delete the API client HR system?' }).waitFor();
    await view(page, 'client-delete-confirm');
    await page.locator('#cancel').click();
    await page.locator('table tbody tr', { hasText: 'HR system' }).waitFor();
    assert.equal((await apiAs(token, '/v1/clients')).body.items.filter((c) => c.name === 'HR system' && !c.revoked_at).length, 1);
    await page.locator('table tbody tr', { hasText: 'HR system' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete API client' }).click();
    await page.locator('.govuk-notification-banner--success', { hasText: 'HR system has been deleted' }).waitFor();
    assert.equal(await page.locator('table tbody tr', { hasText: 'HR system' }).count(), 0);
    const left = (await apiAs(token, '/v1/clients')).body.items.filter((c) => c.name === 'HR system' && !c.revoked_at);
    assert.equal(left.length, 0);
    await view(page, 'client-deleted');

    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.locator('h1', { hasText: 'Webhooks' }).waitFor();
    await view(page, 'webhooks');
  }));

test('an org_admin stops and restarts the organisation’s email reminders', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', MANAGER);
    await page.locator('h1', { hasText: 'Medway Family Recovery Service' }).waitFor();
    const token = await pageToken(page);
    const reminders = async () => (await apiAs(token, `/v1/organisations/${MEDWAY}`)).body.reminders_enabled;
    assert.equal(await reminders(), true);
    const box = page.locator('#reminder-form input[name="reminders_enabled"]');
    assert.equal(await box.isChecked(), true);
    await box.uncheck();
    await page.getByRole('button', { name: 'Save reminder settings' }).click();
    await page.locator('.govuk-notification-banner', { hasText: 'Your reminder settings have been saved' }).waitFor();
    assert.equal(await reminders(), false);
    assert.match(await page.locator('main').textContent(), /Reminders are not emailed to your organisation/);
    await view(page, 'reminders-off');
    await page.locator('#reminder-form input[name="reminders_enabled"]').check();
    await page.getByRole('button', { name: 'Save reminder settings' }).click();
    // The first save's banner says the same: wait for the page drawn after this save, which no
    // longer says reminders are off.
    await page.waitForFunction(() => !document.querySelector('main').textContent.includes('Reminders are not emailed to your organisation'));
    await page.locator('.govuk-notification-banner', { hasText: 'Your reminder settings have been saved' }).waitFor();
    assert.equal(await reminders(), true);
  }));

test('org_staff sees no write action; an admin in the portal is offered the console', () =>
  withBrowser(async (page) => {
    await signIn(page, 'portal', STAFF);
    await page.locator('h1', { hasText: 'Medway Family Recovery Service' }).waitFor();
    const menu = await page.locator('#navigation').textContent();
    assert.doesNotMatch(menu, /API clients|Webhooks/);
    await page.getByRole('link', { name: 'Programme runs', exact: true }).click();
    await page.locator('table', { hasText: 'Your programme runs' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Schedule a programme run' }).count(), 0);
    await view(page, 'staff-runs');
    await page.locator('a[href^="#/runs/"]').first().click();
    await page.locator('.govuk-summary-list').waitFor();
    assert.equal(await page.locator('main form').count(), 0, 'no form for org_staff on a run');
    // The delivery record is theirs to keep too (the API lets org_staff write it).
    await page.goto(url('/portal#/runs/9a000000-0000-4000-8000-000000000001/delivery'));
    await page.locator('#delivery-form').waitFor();
    assert.equal(await page.locator('#f-families_started').inputValue(), '7');
    await view(page, 'staff-delivery');
    await page.getByRole('link', { name: 'Sites', exact: true }).click();
    await page.locator('table', { hasText: 'Your sites' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add a site' }).count(), 0);
    await page.locator('a[href^="#/sites/"]').first().click();
    await page.locator('.govuk-summary-list').waitFor();
    assert.equal(await page.locator('main form').count(), 0, 'no form for org_staff on a site');
    await view(page, 'staff-site');
    // The API does refuse them, so hiding the actions hides nothing they could do.
    const token = await pageToken(page);
    assert.equal((await apiAs(token, '/v1/clients')).status, 403);

    await page.locator('#sign-out').click();
    await page.locator('h1', { hasText: 'Sign in to the licensee portal' }).waitFor();
    await page.locator('#f-email').fill('admin@mpact-registry.example');
    await page.locator('#f-password').fill(process.env.DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h1', { hasText: 'This is the licensee portal' }).waitFor();
    await view(page, 'wrong-app');
    await page.locator('#other-app').click();
    await page.locator('h1', { hasText: 'Licensing body console' }).waitFor();
  }));

test('on a phone the portal menu closes after navigation, and its tables read as lists', () =>
  withBrowser(
    async (page) => {
      await signIn(page, 'portal', MANAGER);
      await page.locator('h1', { hasText: 'Medway Family Recovery Service' }).waitFor();
      const toggle = page.locator('.govuk-service-navigation__toggle');
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      await page.locator('#navigation').getByRole('link', { name: 'Programme runs', exact: true }).click();
      await page.locator('h1', { hasText: 'Programme runs' }).waitFor();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'the menu closed');
      assert.equal(await page.locator('#navigation').isVisible(), false);
      const row = page.locator('table.app-table--stack tbody tr').first();
      await row.waitFor();
      assert.equal(await row.evaluate((r) => getComputedStyle(r).display), 'block');
      await lib.assertFits(page, 'runs');
      await view(page, 'phone-runs');
    },
    { width: lib.PHONE_WIDTH, height: 800 },
  ));
