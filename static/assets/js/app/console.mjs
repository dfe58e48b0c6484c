// console.mjs: the licensing body's console (role admin). Organisations and licences,
// facilitators, training sessions and their outcomes, reports and the audit trail, all through
// the /v1 API.
import { api, ApiError, get, getAll, session } from './api.mjs';
import { briefingView } from './briefing.mjs';
import { confirmPage, CONTACT_MESSAGES, form, placeMessages, showProblem } from './forms.mjs';
import { pagedList, pagedTable } from './lists.mjs';
import { hashWith, navigate, render, route, setFlash, stale } from './router.mjs';
import { startApp } from './shell.mjs';
import {
  backLink,
  banner,
  button,
  buttonGroup,
  buttonLink,
  date,
  dateTime,
  details,
  h,
  h2,
  heading,
  inset,
  link,
  p,
  REASON_WORDS,
  summaryList,
  table,
  tag,
  today,
  words,
} from './ui.mjs';

const ORG_KINDS = ['local_authority', 'nhs', 'charity', 'prison', 'school', 'other'];
const LICENCE_STATUSES = ['pending', 'active', 'suspended', 'expired', 'revoked', 'none'];
const FAC_STATUSES = ['in_training', 'accredited', 'lapsed', 'suspended', 'withdrawn'];
const AUDIT_TYPES = ['organisation', 'licence', 'facilitator', 'training_session', 'enrolment', 'course', 'location', 'programme', 'programme_outcome', 'employment_request', 'user', 'api_client', 'webhook', 'setting'];

const opts = (list, { any } = {}) => [...(any ? [{ value: '', text: any }] : []), ...list.map((v) => ({ value: v, text: words(v) }))];

function success(title, body) {
  setFlash(banner(title, body ? p(body) : null, { success: true }));
}

// A licence status as a tag: an organisation without one reads "No licence".
const licenceTag = (status) => tag(status ?? 'none', !status || status === 'none' ? 'No licence' : undefined);

function auditLink(type, id) {
  return link('Audit trail', hashWith('/audit', { resource_type: type, resource_id: id }));
}

// Home --------------------------------------------------------------------------------------

function home() {
  const item = (href, text, hint) => h('li', {}, link(text, href), h('p', { class: 'govuk-body-s govuk-!-margin-top-1', text: hint }));
  render(
    'Home',
    heading('Licensing body console'),
    h(
      'ul',
      { class: 'govuk-list govuk-list--spaced' },
      item('#/organisations', 'Organisations and licences', 'Create organisations, issue licences, activate, suspend or revoke them.'),
      item('#/facilitators', 'Facilitators', 'Search the register, see status history, change a status, check eligibility.'),
      item('#/training', 'Training sessions', 'Schedule sessions, enrol facilitators and record outcomes.'),
      item('#/reports', 'Reports', 'Practitioners trained, programme runs and families reached, and what expires soon.'),
      item('#/briefing', 'Delivery briefing', 'What M-PACT delivered and achieved in an area, for an organisation or nationally, as a paper to print.'),
      item('#/audit', 'Audit trail', 'Who changed what, and when, for any record.'),
    ),
  );
}

// Organisations -----------------------------------------------------------------------------

async function organisations({ query, gen }) {
  const specs = [
    { name: 'q', label: 'Name contains', value: query.q, width: 'govuk-!-width-one-half' },
    { name: 'kind', label: 'Kind', type: 'select', options: opts(ORG_KINDS, { any: 'Any kind' }), value: query.kind },
    { name: 'licence_status', label: 'Licence status', type: 'select', options: opts(LICENCE_STATUSES, { any: 'Any status' }).map((o) => (o.value === 'none' ? { ...o, text: 'No licence' } : o)), value: query.licence_status },
  ];
  const filter = form({ specs, submit: 'Filter', variant: 'secondary', onSubmit: async (v) => navigate(hashWith('/organisations', v)) });
  const list = pagedTable({
    path: '/v1/organisations',
    query: { q: query.q, kind: query.kind, licence_status: query.licence_status },
    caption: 'Organisations',
    empty: 'No organisation matches.',
    columns: [
      { head: 'Name', cell: (o) => link(o.name, `#/organisations/${o.id}`) },
      { head: 'Kind', cell: (o) => words(o.kind) },
      { head: 'Town', cell: (o) => o.town },
      { head: 'Licence', cell: (o) => licenceTag(o.licence_status) },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  render('Organisations', heading('Organisations'), buttonLink('Create an organisation', '#/organisations/new'), details('Filter organisations', filter), list.el);
  if (query.q || query.kind || query.licence_status) {
    document.querySelector('details.govuk-details')?.setAttribute('open', '');
  }
}

// The organisation form's messages (forms.messageFor), by field and rule.
const ORG_MESSAGES = {
  ...placeMessages('organisation’s'),
  kind: { required: 'Select the kind of organisation', invalid: 'Select the kind of organisation' },
};

const orgSpecs = (o = {}) => [
  { name: 'name', label: 'Name', value: o.name },
  { name: 'kind', label: 'Kind of organisation', type: 'select', options: opts(ORG_KINDS, { any: 'Choose a kind' }), value: o.kind },
  { name: 'address_lines', label: 'Address', hint: 'One to three lines, one a line (not the town or postcode)', type: 'textarea', rows: 3, lines: true, value: (o.address_lines ?? []).join('\n') },
  { name: 'town', label: 'Town or city', value: o.town, width: 'govuk-!-width-two-thirds' },
  { name: 'postcode', label: 'Postcode', value: o.postcode, width: 'govuk-input--width-10', autocomplete: 'postal-code' },
  { name: 'phone', label: 'Phone (optional)', type: 'tel', value: o.phone, width: 'govuk-input--width-20', nullable: true },
  { name: 'email', label: 'Email (optional)', type: 'email', value: o.email, nullable: true, spellcheck: 'false' },
  { name: 'website', label: 'Website (optional)', type: 'url', value: o.website, nullable: true },
  { name: 'public_contact', label: 'Show these contact details to the public', type: 'checkbox', value: o.public_contact },
];

function organisationNew() {
  const specs = orgSpecs();
  render(
    'Create an organisation',
    backLink('#/organisations'),
    heading('Create an organisation'),
    form({
      specs,
      submit: 'Create organisation',
      messages: ORG_MESSAGES,
      onSubmit: async (v) => {
        const { data } = await api('/v1/organisations', { method: 'POST', body: dropNulls(v) });
        success(`${data.name} has been created`, 'Next, issue it a licence.');
        navigate(`#/organisations/${data.id}`);
      },
    }),
  );
}

function dropNulls(v) {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null));
}

async function organisation({ params, gen }) {
  const [org, licences] = await Promise.all([get(`/v1/organisations/${params.id}`), getAll(`/v1/organisations/${params.id}/licences`)]);
  if (stale(gen)) return;
  const open = licences.find((l) => ['pending', 'active', 'suspended'].includes(l.status));
  const specs = [
    { name: 'valid_from', label: 'Valid from', type: 'date', value: today() },
    { name: 'valid_until', label: 'Valid until', type: 'date', hint: 'Usually three years after the start' },
    { name: 'reason', label: 'Reason or note (optional)', type: 'textarea', rows: 2 },
  ];
  render(
    org.name,
    backLink('#/organisations', 'All organisations'),
    heading(org.name, { caption: 'Organisation' }),
    summaryList([
      ['Kind', words(org.kind)],
      ['Address', h('span', {}, [...org.address_lines, org.town, org.postcode].flatMap((l, i) => (i ? [h('br'), l] : [l])))],
      ['Phone', org.phone],
      ['Email', org.email],
      ['Website', org.website],
      ['Public contact', org.public_contact ? 'Yes' : 'No'],
      ['Licence', licenceTag(org.licence_status)],
      org.archived_at ? ['Archived', date(org.archived_at)] : null,
    ]),
    p(auditLink('organisation', org.id)),
    h2('Licences'),
    table({
      caption: 'Licences, newest first',
      captionSize: 's',
      head: ['Number', 'Status', 'Valid from', 'Valid until', 'Reason'],
      empty: 'This organisation has no licence.',
      rows: licences.map((l) => [link(l.number, `#/licences/${l.id}`), tag(l.status), date(l.valid_from), date(l.valid_until), l.reason ?? '']),
    }),
    open
      ? inset(`Licence ${open.number} is ${open.status}. An organisation holds at most one open licence: change its status from its page.`)
      : h(
          'div',
          {},
          h2('Issue a licence', 's'),
          form({
            specs,
            submit: 'Create licence',
            id: 'licence-form',
            messages: LICENCE_MESSAGES,
            onSubmit: async (v) => {
              const { data } = await api(`/v1/organisations/${org.id}/licences`, { method: 'POST', body: v });
              success(`Licence ${data.number} has been created`, 'It is pending until you activate it.');
              navigate(`#/licences/${data.id}`);
            },
          }),
        ),
  );
}

const LICENCE_MESSAGES = {
  valid_from: { required: 'Enter the date the licence starts', invalid: 'The date the licence starts must be a real date' },
  valid_until: { required: 'Enter the date the licence ends', invalid: 'The date the licence ends must be after the date it starts' },
  reason: { invalid: 'The reason must be 500 characters or fewer' },
  status: { required: 'Select what you want to do', invalid: 'Select what you want to do' },
};
const STATUS_CHANGE_MESSAGES = {
  status: { required: 'Select the new status', invalid: 'Select one of the statuses offered' },
  reason: { required: 'Enter the reason for the change', invalid: 'The reason must be 500 characters or fewer' },
};

const LICENCE_ACTIONS = {
  pending: [{ value: 'active', text: 'Activate' }],
  active: [
    { value: 'suspended', text: 'Suspend', hint: 'The organisation may not start programme runs while suspended' },
    { value: 'revoked', text: 'Revoke', hint: 'Final: a revoked licence cannot be restored' },
  ],
  suspended: [
    { value: 'active', text: 'Reinstate (make active again)' },
    { value: 'revoked', text: 'Revoke', hint: 'Final: a revoked licence cannot be restored' },
  ],
};

async function licence({ params, gen }) {
  const { data: lic, etag } = await api(`/v1/licences/${params.id}`);
  const org = await get(`/v1/organisations/${lic.organisation_id}`);
  if (stale(gen)) return;
  const actions = LICENCE_ACTIONS[lic.status] ?? [];
  const specs = [
    { name: 'status', label: 'What do you want to do?', type: 'radios', options: actions, legendSize: 'm' },
    { name: 'reason', label: 'Reason', hint: 'Recorded in the licence history and the audit trail', type: 'textarea', rows: 3 },
  ];
  render(
    `Licence ${lic.number}`,
    backLink(`#/organisations/${org.id}`, org.name),
    heading(`Licence ${lic.number}`, { caption: org.name }),
    summaryList([
      ['Status', tag(lic.status)],
      ['Valid from', date(lic.valid_from)],
      ['Valid until', date(lic.valid_until)],
      ['Reason for the last change', lic.reason],
      ['Last changed', dateTime(lic.updated_at)],
    ]),
    p(auditLink('licence', lic.id)),
    actions.length
      ? form({
          specs,
          submit: 'Change status',
          id: 'licence-status',
          messages: { ...LICENCE_MESSAGES, ...STATUS_CHANGE_MESSAGES, status: LICENCE_MESSAGES.status },
          onSubmit: async (v) => {
            if (!v.status) {
              throw new ApiError(422, { errors: [{ field: 'status', text: 'Select what you want to do' }] });
            }
            const change = async () => {
              const { data } = await api(`/v1/licences/${lic.id}`, { method: 'PATCH', body: v, etag });
              success(`Licence ${data.number} is now ${words(data.status).toLowerCase()}`);
              route();
            };
            if (v.status !== 'revoked') {
              await change();
              return;
            }
            // Revoking is final: a page of its own says so first.
            if (!v.reason) {
              throw new ApiError(422, { errors: [{ field: 'reason', text: 'Enter the reason for revoking the licence' }] });
            }
            confirmPage({
              title: `Are you sure you want to revoke licence ${lic.number}?`,
              caption: org.name,
              rows: [
                ['Licence', lic.number],
                ['Organisation', org.name],
                ['Status now', tag(lic.status)],
                ['Reason', v.reason],
              ],
              warningText: `A revoked licence cannot be restored. ${org.name} will not be able to run M-PACT until it is issued a new licence.`,
              confirm: 'Revoke licence',
              onConfirm: change,
            });
          },
        })
      : inset(`A licence that is ${lic.status} cannot change. Issue a new licence from the organisation’s page.`),
  );
}

// Facilitators ------------------------------------------------------------------------------

async function facilitators({ query, gen }) {
  const specs = [
    { name: 'q', label: 'Name or registration number', value: query.q, width: 'govuk-!-width-one-half' },
    { name: 'status', label: 'Status', type: 'select', options: opts(FAC_STATUSES, { any: 'Any status' }), value: query.status },
  ];
  const list = pagedTable({
    path: '/v1/facilitators',
    query: { q: query.q, status: query.status },
    caption: 'Facilitators',
    empty: 'No facilitator matches.',
    columns: [
      { head: 'Registration number', cell: (f) => link(f.registration_number, `#/facilitators/${f.id}`) },
      { head: 'Name', cell: (f) => `${f.given_name} ${f.family_name}` },
      { head: 'Status', cell: (f) => tag(f.status) },
      { head: 'Accredited until', cell: (f) => (f.accredited_until ? date(f.accredited_until) : '') },
      { head: 'Employer', cell: (f) => f.organisation_name ?? 'None' },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  render(
    'Facilitators',
    heading('Facilitators'),
    form({ specs, submit: 'Search', variant: 'secondary', id: 'facilitator-search', onSubmit: async (v) => navigate(hashWith('/facilitators', v)) }),
    list.el,
  );
}

async function facilitator({ params, query, gen }) {
  const { data: f, etag } = await api(`/v1/facilitators/${encodeURIComponent(params.id)}`);
  let verdict = null;
  if (query.on) {
    verdict = await get(`/v1/facilitators/${f.id}/eligibility`, { on: query.on });
  }
  if (stale(gen)) return;
  const statusSpecs = [
    { name: 'status', label: 'New status', type: 'select', options: opts(['accredited', 'suspended', 'withdrawn', 'in_training'], { any: 'Choose a status' }) },
    { name: 'reason', label: 'Reason', hint: 'Recorded in the status history; the employer’s systems are told of the change', type: 'textarea', rows: 3 },
  ];
  const eligSpecs = [{ name: 'on', label: 'Date', type: 'date', value: query.on ?? today(), hint: 'Past dates read the records as they stood then' }];
  render(
    `${f.given_name} ${f.family_name}`,
    backLink('#/facilitators', 'All facilitators'),
    heading(`${f.given_name} ${f.family_name}`, { caption: f.registration_number }),
    summaryList([
      ['Status', tag(f.status)],
      ['Accredited on', f.accredited_on ? date(f.accredited_on) : null],
      ['Accredited until', f.accredited_until ? date(f.accredited_until) : null],
      ['Trainer', f.trainer ? 'Yes' : 'No'],
      ['Reason for the last change', f.reason],
      ['Employer', f.organisation_id ? link(f.organisation_name, `#/organisations/${f.organisation_id}`) : 'None'],
      ['Email', f.email],
      ['Phone', f.phone],
    ]),
    p(auditLink('facilitator', f.id)),
    table({
      caption: 'Status history, oldest first',
      head: ['From', 'Status', 'Accredited until', 'Reason'],
      rows: (f.status_history ?? []).map((s) => [date(s.effective_on), tag(s.status), s.accredited_until ? date(s.accredited_until) : '', s.reason ?? '']),
      empty: 'No status history.',
    }),
    table({
      caption: 'Employment history',
      head: ['Organisation', 'From', 'To'],
      rows: (f.employment_history ?? []).map((e) => [e.organisation_name, date(e.from), e.to ? date(e.to) : 'Now']),
      empty: 'No employment recorded.',
    }),
    h2('Eligibility to deliver M-PACT'),
    verdict
      ? h(
          'div',
          { id: 'verdict' },
          p(
            `On ${date(verdict.on)}: `,
            tag(verdict.eligible ? 'eligible' : 'not_eligible', verdict.eligible ? 'Eligible' : 'Not eligible'),
          ),
          verdict.reasons.length ? h('ul', { class: 'govuk-list govuk-list--bullet' }, verdict.reasons.map((r) => h('li', { text: REASON_WORDS[r] ?? words(r) }))) : null,
        )
      : null,
    form({ specs: eligSpecs, submit: 'Check eligibility', variant: 'secondary', id: 'eligibility', onSubmit: async (v) => navigate(hashWith(`/facilitators/${f.id}`, { on: v.on })) }),
    h2('Change status'),
    form({
      specs: statusSpecs,
      submit: 'Change status',
      id: 'facilitator-status',
      messages: STATUS_CHANGE_MESSAGES,
      onSubmit: async (v) => {
        const change = async () => {
          const { data } = await api(`/v1/facilitators/${f.id}`, { method: 'PATCH', body: v, etag });
          success(`${data.registration_number} is now ${words(data.status).toLowerCase()}`);
          route();
        };
        if (v.status !== 'withdrawn') {
          await change();
          return;
        }
        // Withdrawing someone from the register ends their accreditation: confirm first.
        if (!v.reason) {
          throw new ApiError(422, { errors: [{ field: 'reason', text: 'Enter the reason for withdrawing the facilitator' }] });
        }
        confirmPage({
          title: `Are you sure you want to withdraw ${f.given_name} ${f.family_name}?`,
          caption: f.registration_number,
          rows: [
            ['Facilitator', `${f.given_name} ${f.family_name} (${f.registration_number})`],
            ['Status now', tag(f.status)],
            ['Employer', f.organisation_name ?? 'None'],
            ['Reason', v.reason],
          ],
          warningText: 'Their accreditation ends today and they must not deliver M-PACT. Their employer’s systems are told, and any run they facilitate is at risk. To work again they must be accredited again.',
          confirm: 'Withdraw facilitator',
          onConfirm: change,
        });
      },
    }),
  );
}


// Training ----------------------------------------------------------------------------------

// A session as it reads today: one that has ended awaits its outcomes (the API says so from its
// own calendar; the page's clock agrees between the nightly runs), and only a session still open
// for enrolment has places left to offer.
const sessionStatus = (s) => (s.status === 'scheduled' && s.ends_on < today() ? 'awaiting_outcomes' : s.status);
const placesText = (s) => (sessionStatus(s) === 'scheduled' ? String(s.places_left) : 'Closed');

async function trainingList({ query, gen }) {
  const list = pagedTable({
    path: '/v1/training-sessions',
    query: { status: query.status },
    caption: 'Training sessions',
    empty: 'No training session yet.',
    columns: [
      { head: 'Course', cell: (s) => link(`${s.course_code}: ${s.course_title}`, `#/training/${s.id}`) },
      { head: 'Dates', cell: (s) => `${date(s.starts_on)} to ${date(s.ends_on)}` },
      { head: 'Status', cell: (s) => tag(sessionStatus(s)) },
      { head: 'Enrolled', cell: (s) => String(s.enrolled), numeric: true },
      { head: 'Places left', cell: (s) => placesText(s), numeric: true },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  render('Training sessions', heading('Training sessions'), buttonLink('Schedule a training session', '#/training/new'), list.el);
}

const TRAINING_MESSAGES = {
  course_id: { required: 'Select the course', invalid: 'Select one of the courses offered' },
  starts_on: { required: 'Enter the first day of the session', invalid: 'The first day must be on or before the last day' },
  ends_on: { required: 'Enter the last day of the session', invalid: 'The last day must be on or after the first day' },
  venue: { required: 'Enter the venue', invalid: 'Enter the venue' },
  capacity: { required: 'Enter the number of places', invalid: 'The number of places must be a whole number from 1 to 200' },
};

async function trainingNew({ gen }) {
  const courses = (await getAll('/v1/courses')).filter((c) => c.active);
  if (stale(gen)) return;
  const specs = [
    { name: 'course_id', label: 'Course', type: 'select', options: [{ value: '', text: 'Choose a course' }, ...courses.map((c) => ({ value: c.id, text: `${c.code}: ${c.title}` }))] },
    { name: 'starts_on', label: 'First day', type: 'date' },
    { name: 'ends_on', label: 'Last day', type: 'date' },
    { name: 'venue', label: 'Venue', hint: 'Where the training takes place', width: 'govuk-!-width-two-thirds' },
    { name: 'capacity', label: 'Places', type: 'number', width: 'govuk-input--width-4' },
  ];
  render(
    'Schedule a training session',
    backLink('#/training'),
    heading('Schedule a training session'),
    form({
      specs,
      submit: 'Schedule session',
      messages: TRAINING_MESSAGES,
      onSubmit: async (v) => {
        const { data } = await api('/v1/training-sessions', { method: 'POST', body: v });
        success('The training session has been scheduled', 'Now enrol the facilitators.');
        navigate(`#/training/${data.id}`);
      },
    }),
  );
}

const OUTCOME_CHOICES = {
  enrolled: ['attended', 'passed', 'failed', 'withdrawn'],
  attended: ['passed', 'failed'],
  withdrawn: ['enrolled'],
};

async function trainingSession({ params, gen }) {
  const session = await get(`/v1/training-sessions/${params.id}`);
  const enrolments = await getAll(`/v1/training-sessions/${params.id}/enrolments`);
  const site = session.location_id ? await get(`/v1/locations/${session.location_id}`).catch(() => null) : null;
  if (stale(gen)) return;
  const status = sessionStatus(session);
  const open = status === 'scheduled';

  const enrolSpecs = [
    { name: 'registration_number', label: 'Registration number', hint: 'For example, MPF-000123', width: 'govuk-input--width-10', spellcheck: 'false' },
  ];
  const enrolForm = form({
    specs: enrolSpecs,
    submit: 'Enrol',
    variant: 'secondary',
    id: 'enrol',
    onSubmit: async (v) => {
      if (!v.registration_number) {
        throw new ApiError(422, { errors: [{ field: 'registration_number', text: 'Enter the facilitator’s registration number' }] });
      }
      let fac;
      try {
        fac = await get(`/v1/facilitators/${encodeURIComponent(v.registration_number.toUpperCase())}`);
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
          throw new ApiError(422, { errors: [{ field: 'registration_number', text: `No facilitator has the number ${v.registration_number}` }] });
        }
        throw err;
      }
      try {
        await api(`/v1/training-sessions/${session.id}/enrolments`, { method: 'POST', body: { facilitator_id: fac.id } });
      } catch (err) {
        if (err instanceof ApiError && err.status === 422) {
          throw new ApiError(422, { errors: err.fieldErrors.map((e) => ({ ...e, field: 'registration_number' })) });
        }
        throw err;
      }
      success(`${fac.given_name} ${fac.family_name} (${fac.registration_number}) is enrolled`);
      route();
    },
    messages: { registration_number: { required: 'Enter the facilitator’s registration number' } },
  });

  // Outcomes: one table, one form, one button for the whole session.
  const rows = enrolments.map((e, i) => {
    const choices = OUTCOME_CHOICES[e.status] ?? [];
    const name = `${e.given_name} ${e.family_name}`;
    const control = choices.length && session.status !== 'cancelled'
      ? h(
          'div',
          { class: 'govuk-form-group govuk-!-margin-bottom-0', 'data-field': `outcome-${i}` },
          h('label', { class: 'govuk-label govuk-visually-hidden', for: `f-outcome-${i}`, text: `Outcome for ${name} (${e.registration_number})` }),
          h(
            'select',
            { class: 'govuk-select', id: `f-outcome-${i}`, name: `outcome-${i}`, 'data-enrolment': e.id },
            h('option', { value: '', text: 'No change' }),
            choices.map((c) => h('option', { value: c, text: words(c) })),
          ),
        )
      : h('span', { class: 'govuk-body-s', text: 'Final' });
    return [e.registration_number, name, tag(e.status), control];
  });
  const outcomes = h('form', { id: 'outcomes', novalidate: true });
  outcomes.append(
    table({
      caption: `Enrolments and outcomes (${enrolments.length})`,
      head: ['Number', 'Name', 'Current status', 'Record outcome'],
      rows,
      empty: 'No one is enrolled yet.',
    }),
  );
  // One request for the whole table: all of it is recorded, or none of it, with every failing
  // row named ("[i].status" is the i-th outcome sent). Throws the refusal, each row in words.
  const record = async (items) => {
    try {
      await api(`/v1/training-sessions/${session.id}/outcomes`, {
        method: 'POST',
        body: items.map((x) => ({ enrolment_id: x.enrolment_id, status: x.status })),
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const failures = err.fieldErrors.map((e) => {
          const i = Number(/^\[(\d+)\]/.exec(e.field ?? '')?.[1] ?? -1);
          const x = items[i];
          const field = x ? `outcome-${enrolments.findIndex((en) => en.id === x.enrolment_id)}` : 'outcome-0';
          return { field, text: x ? `${x.label}: ${e.detail}` : e.detail };
        });
        throw new ApiError(422, { ...err.problem, errors: failures });
      }
      throw err;
    }
    const done = items.length;
    success(`Outcomes recorded for ${done} ${done === 1 ? 'person' : 'people'}`);
    route();
  };
  const editable = rows.some((r) => r[3].tagName === 'DIV');
  if (editable) {
    outcomes.append(p('A pass accredits a practitioner, extends a refresher’s accreditation, or grants trainer status. Passed and failed are final.'));
    const save = button('Save outcomes');
    outcomes.append(buttonGroup(save));
    outcomes.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const chosen = [...outcomes.querySelectorAll('select[data-enrolment]')].filter((s) => s.value);
      if (chosen.length === 0) {
        showProblem(outcomes, new ApiError(422, { errors: [{ field: 'outcome-0', text: 'Select an outcome for at least one person' }] }));
        return;
      }
      const items = chosen.map((s) => ({ enrolment_id: s.dataset.enrolment, status: s.value, label: s.labels[0].textContent.replace(/^Outcome for /, '') }));
      // A pass or a fail is final: the page lists them and asks first.
      const finals = chosen.filter((s) => ['passed', 'failed'].includes(s.value));
      if (finals.length) {
        confirmPage({
          title: `Are you sure you want to record ${chosen.length === 1 ? 'this outcome' : `these ${chosen.length} outcomes`}?`,
          caption: `${session.course_code} training session`,
          rows: items.map((x) => [x.label, words(x.status)]),
          warningText: 'Passed and failed are final: they cannot be changed afterwards. A pass accredits the practitioner.',
          confirm: 'Record outcomes',
          onConfirm: () => record(items),
        });
        return;
      }
      save.disabled = true;
      try {
        await record(items);
      } catch (err) {
        showProblem(outcomes, err);
      } finally {
        save.disabled = false;
      }
    });
  }
  render(
    `${session.course_code} training session`,
    backLink('#/training', 'All training sessions'),
    heading(`${session.course_title}`, { caption: `${session.course_code} training session` }),
    summaryList([
      ['Dates', `${date(session.starts_on)} to ${date(session.ends_on)}`],
      ['Status', tag(status)],
      ['Venue', [session.venue, site ? `${site.name}, ${site.town}` : null].filter(Boolean).join('; ')],
      ['Places', open ? `${session.capacity} (${session.enrolled} taken, ${session.places_left} left)` : `${session.capacity} (${session.enrolled} enrolled; enrolment is closed)`],
    ]),
    p(auditLink('training_session', session.id)),
    open ? h('div', {}, h2('Enrol a facilitator', 's'), enrolForm) : null,
    outcomes,
    (open || status === 'awaiting_outcomes') && session.ends_on <= today()
      ? h(
          'form',
          {
            id: 'complete-session',
            onsubmit: (ev) => {
              ev.preventDefault();
              // Completing is final: no enrolment or outcome can change afterwards.
              confirmPage({
                title: 'Are you sure you want to mark the session as completed?',
                caption: `${session.course_code} training session`,
                rows: [
                  ['Dates', `${date(session.starts_on)} to ${date(session.ends_on)}`],
                  ['Enrolled', String(session.enrolled)],
                ],
                warningText: 'A completed session is final: no one can be enrolled and no outcome can be recorded or changed afterwards.',
                confirm: 'Mark as completed',
                onConfirm: async () => {
                  const { etag } = await api(`/v1/training-sessions/${session.id}`);
                  await api(`/v1/training-sessions/${session.id}`, { method: 'PATCH', body: { status: 'completed' }, etag });
                  success('The session is completed');
                  route();
                },
              });
            },
          },
          button('Mark the session as completed', { variant: 'secondary' }),
        )
      : null,
  );
}

// Reports -----------------------------------------------------------------------------------

// GOV.UK's palette; no red or orange, which read as alarms. A run's status has its own colour,
// the one its tag has (ui.TAG_COLOURS): planned blue, running turquoise, completed green, ...
const COLOURS = ['#1d70b8', '#00703c', '#4c2c92', '#28a197', '#505a5f', '#5694ca', '#912b88'];
const STATUS_COLOURS = {
  planned: '#1d70b8',
  recruiting: '#5694ca',
  running: '#28a197',
  completed: '#00703c',
  cancelled: '#505a5f',
};
const TEXT = '#0b0c0c';
const axis = (title) => ({
  title: { display: true, text: title, color: TEXT, font: { size: 16, weight: 'bold' } },
  ticks: { color: TEXT, font: { size: 16 }, precision: 0 },
  grid: { color: '#cecece' },
});

// A chart drawn on a canvas by Chart.js, with the same figures as a table beside it: the chart is
// for sighted readers (aria-hidden), the table for everyone.
function chartWithTable({ id, title, labels, series, stacked = false, tableHead, yTitle }) {
  const canvas = h('canvas', { id: `chart-${id}`, 'aria-hidden': 'true' });
  const box = h('div', { class: 'app-chart' }, canvas);
  box.style.position = 'relative';
  box.style.height = '280px';
  box.style.maxWidth = '100%';
  const fig = h(
    'figure',
    { class: 'govuk-!-margin-0 govuk-!-margin-bottom-6', 'aria-labelledby': `title-${id}` },
    h('h2', { class: 'govuk-heading-m', id: `title-${id}`, text: title }),
    box,
    table({
      caption: `${title}: figures`,
      captionSize: 's',
      head: tableHead ?? ['Year', ...series.map((s) => s.label)],
      rows: labels.map((l, i) => {
        const r = [String(l), ...series.map((s) => String(s.data[i] ?? 0))];
        r.rowHeader = true;
        return r;
      }),
      numeric: series.map((_, i) => i + 1),
      empty: 'No figures yet.',
    }),
  );
  const draw = () => {
    if (typeof window.Chart !== 'function' || labels.length === 0) {
      box.remove();
      return null;
    }
    return new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: labels.map(String),
        datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: s.colour ?? COLOURS[i % COLOURS.length] })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: series.length > 1, labels: { color: TEXT, font: { size: 16 } } } },
        scales: { x: { ...axis('Year'), stacked }, y: { ...axis(yTitle ?? ''), stacked, beginAtZero: true } },
      },
    });
  };
  return { fig, draw };
}

// Every year from the first with figures to this year (or the last with figures, if later):
// a year with none shows as a zero, not as a gap that closes up.
function everyYear(...lists) {
  const seen = lists.flat().map((r) => r.year);
  if (seen.length === 0) {
    return [];
  }
  const first = Math.min(...seen);
  const last = Math.max(...seen, Number(today().slice(0, 4)));
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function byYear(rows, key = 'count') {
  return { years: everyYear(rows), value: (y, pred = () => true) => rows.filter((r) => r.year === y && pred(r)).reduce((n, r) => n + r[key], 0) };
}

// The central contact families are offered when nothing is near (PUT /v1/settings/central-contact:
// the whole setting; an empty field is cleared), and the beta banner's feedback address.
function centralContactForm({ data: c, etag }) {
  return [
    h2('Central contact for families'),
    p('Shown on the start page and by the finder when nothing is near or a site has no phone or email of its own.'),
    form({
      specs: [
        { name: 'name', label: 'Name', hint: 'For example, the family counsellors', value: c.name },
        { name: 'phone', label: 'Phone (optional)', type: 'tel', value: c.phone, width: 'govuk-input--width-20', nullable: true },
        { name: 'email', label: 'Email (optional)', type: 'email', value: c.email, nullable: true, spellcheck: 'false' },
        { name: 'web_chat_url', label: 'Web chat link (optional)', type: 'url', value: c.web_chat_url, nullable: true },
        { name: 'opening_hours', label: 'Opening hours (optional)', value: c.opening_hours, nullable: true },
        { name: 'feedback_email', label: 'Feedback address for the beta banner (optional)', type: 'email', value: c.feedback_email, nullable: true, spellcheck: 'false' },
      ],
      submit: 'Save central contact',
      variant: 'secondary',
      id: 'central-contact-form',
      messages: {
        ...CONTACT_MESSAGES,
        name: { required: 'Enter the name families see', invalid: 'The name must be 200 characters or fewer' },
        web_chat_url: CONTACT_MESSAGES.website,
        opening_hours: { invalid: 'The opening hours must be 300 characters or fewer' },
        feedback_email: CONTACT_MESSAGES.email,
      },
      onSubmit: async (v) => {
        await api('/v1/settings/central-contact', { method: 'PUT', body: v, etag });
        success('The central contact has been saved');
        route();
      },
    }),
  ];
}

// "Ask about a place": counts only (the enquiries are never kept), and the failures to deliver.
function enquiryReport(r) {
  const failed = r.items.filter((i) => i.result === 'failed');
  return [
    h2('Enquiries from families'),
    summaryList([
      ['Delivered to providers', String(r.delivered)],
      ['Not delivered within 7 days (deleted)', String(r.failed)],
      ['Waiting to be delivered now', `${r.pending} (${r.retrying} being retried)`],
    ]),
    failed.length
      ? table({
          caption: 'Enquiries that could not be delivered',
          captionSize: 's',
          head: ['Month', 'Organisation', 'Who asked', 'Enquiries'],
          rows: failed.map((i) => [i.month, link(i.organisation_name, `#/organisations/${i.organisation_id}`), words(i.who), String(i.n)]),
          numeric: [3],
        })
      : null,
  ];
}

async function reports({ query, gen }) {
  const within = /^\d+$/.test(query.within_days ?? '') ? query.within_days : '60';
  const [summary, expiring, enquiries, contact] = await Promise.all([
    get('/v1/reports/summary'),
    get('/v1/reports/expiring', { within_days: within }),
    get('/v1/reports/enquiries'),
    api('/v1/settings/central-contact'),
  ]);
  if (stale(gen)) return;

  const trained = byYear(summary.practitioners_trained);
  const runs = byYear(summary.programme_runs);
  const present = new Set(summary.programme_runs.map((r) => r.status));
  const statuses = [...Object.keys(STATUS_COLOURS).filter((s) => present.has(s)), ...[...present].filter((s) => !STATUS_COLOURS[s])];
  const famYears = everyYear(summary.families_reached, summary.families_completed);
  const reached = byYear(summary.families_reached);
  const completed = byYear(summary.families_completed);

  const charts = [
    chartWithTable({
      id: 'trained',
      title: 'Practitioners trained per year',
      labels: trained.years,
      yTitle: 'Practitioners',
      series: [{ label: 'Practitioners trained', data: trained.years.map((y) => trained.value(y)) }],
    }),
    chartWithTable({
      id: 'runs',
      title: 'Programme runs per year',
      labels: runs.years,
      stacked: true,
      yTitle: 'Programme runs',
      series: statuses.map((s) => ({ label: words(s), colour: STATUS_COLOURS[s], data: runs.years.map((y) => runs.value(y, (r) => r.status === s)) })),
    }),
    chartWithTable({
      id: 'families',
      title: 'Families reached per year',
      labels: famYears,
      yTitle: 'Families',
      series: [
        { label: 'Families started', data: famYears.map((y) => reached.value(y)) },
        { label: 'Families completed', data: famYears.map((y) => completed.value(y)) },
      ],
    }),
  ];

  render(
    'Reports',
    heading('Reports'),
    h(
      'div',
      { class: 'govuk-grid-row' },
      h(
        'div',
        { class: 'govuk-grid-column-one-half' },
        table({
          caption: 'Organisations by licence status',
          captionSize: 's',
          head: ['Licence status', 'Organisations'],
          rows: summary.organisations.map((r) => [!r.licence_status || r.licence_status === 'none' ? 'No licence' : words(r.licence_status), String(r.count)]),
          numeric: [1],
        }),
      ),
      h(
        'div',
        { class: 'govuk-grid-column-one-half' },
        table({
          caption: 'Facilitators by status',
          captionSize: 's',
          head: ['Status', 'Facilitators'],
          rows: summary.facilitators.map((r) => [words(r.status), String(r.count)]),
          numeric: [1],
        }),
      ),
    ),
    charts.map((c) => c.fig),
    enquiryReport(enquiries),
    centralContactForm(contact),
    h2(`Expiring within ${expiring.within_days} days`),
    form({
      specs: [{ name: 'within_days', label: 'Days ahead', type: 'number', value: within, width: 'govuk-input--width-4' }],
      submit: 'Show',
      variant: 'secondary',
      id: 'expiring-form',
      messages: { within_days: 'Enter the number of days ahead as a whole number, like 60' },
      onSubmit: async (v) => navigate(hashWith('/reports', v)),
    }),
    table({
      caption: `Licences and accreditations ending by ${date(addDays(expiring.as_of, expiring.within_days))}`,
      captionSize: 's',
      head: ['What', 'Reference', 'Holder', 'Ends', 'Days left', 'Contact'],
      numeric: [4],
      empty: 'Nothing expires in that time.',
      rows: expiring.items.map((x) => [
        words(x.type),
        x.type === 'accreditation' ? link(x.reference, `#/facilitators/${x.id}`) : x.type === 'licence' ? link(x.reference, `#/licences/${x.id}`) : x.reference,
        x.holder,
        date(x.expires_on),
        String(x.days_left),
        h('span', {}, x.organisation_name ?? '', x.organisation_email ? [h('br'), x.organisation_email] : null, x.organisation_phone ? [h('br'), x.organisation_phone] : null),
      ]),
    }),
  );
  for (const c of charts) {
    c.draw();
  }
}

function addDays(iso, n) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + Number(n));
  return d.toISOString().slice(0, 10);
}

// Audit -------------------------------------------------------------------------------------

const AUDIT_ACTIONS = ['create', 'update', 'delete', 'archive', 'expire', 'password', 'revoke_secret'];
const ACTION_WORDS = {
  create: 'Created',
  update: 'Changed',
  delete: 'Deleted',
  archive: 'Archived',
  expire: 'Expired',
  password: 'Changed the password of',
  revoke_secret: 'Revoked a secret of',
};
const ACTION_OPTIONS = { create: 'Created', update: 'Changed', delete: 'Deleted', archive: 'Archived', expire: 'Expired (the daily job)', password: 'Password changed', revoke_secret: 'Secret revoked' };
// Where a record's page is, for the kinds that have one in the console.
const RECORD_PAGES = { organisation: '#/organisations/', licence: '#/licences/', facilitator: '#/facilitators/', training_session: '#/training/' };
const HIDDEN_KEYS = new Set(['id', 'created_at', 'updated_at', 'version', 'password_hash', 'secret_hash']);
const CODE_KEYS = new Set(['status', 'kind', 'role', 'licence_status', 'variant', 'country']);

const actors = new Map();

async function actorName(id) {
  if (!actors.has(id)) {
    actors.set(
      id,
      get(`/v1/users/${id}`)
        .then((u) => u.email)
        .catch(() => null),
    );
  }
  return actors.get(id);
}

// A value as a reader takes it: dates and moments in words, codes in words, lists with commas.
function shown(key, v) {
  if (v === undefined || v === null || v === '') {
    return 'Not set';
  }
  if (typeof v === 'boolean') {
    return v ? 'Yes' : 'No';
  }
  if (Array.isArray(v)) {
    return v.length ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') : 'None';
  }
  if (typeof v === 'object') {
    return JSON.stringify(v);
  }
  const text = String(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    return date(text);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) {
    return dateTime(text);
  }
  return CODE_KEYS.has(key) ? words(text) : text;
}

// What changed: each field as "Field: before → after" (a record created: its values; deleted:
// what it held).
function changes(before, after) {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].filter(
    (k) => !HIDDEN_KEYS.has(k) && !k.startsWith('_') && JSON.stringify(before?.[k]) !== JSON.stringify(after?.[k]),
  );
  const shownKeys = before && after ? keys : keys.filter((k) => (after ?? before)[k] !== null && (after ?? before)[k] !== undefined);
  if (shownKeys.length === 0) {
    return 'No field changed';
  }
  return h(
    'ul',
    { class: 'govuk-list app-changes' },
    shownKeys.map((k) =>
      h(
        'li',
        {},
        h('strong', { text: `${words(k)}: ` }),
        before && after ? `${shown(k, before[k])} \u2192 ${shown(k, after[k])}` : shown(k, (after ?? before)[k]),
      ),
    ),
  );
}

// Who acted: the email and role the row recorded (as they were then); an older row's user is
// looked up; an API client, the daily job or the command line by name.
function actorCell(a) {
  if (a.actor_email) {
    return h('span', {}, h('span', { class: 'app-break', text: a.actor_email }), a.actor_role ? ` (${words(a.actor_role)})` : null);
  }
  if (a.actor_type === 'api_client') {
    return 'An API client';
  }
  if (!a.actor_id) {
    return a.actor_type === 'command_line' ? 'The command line' : 'The registry (a scheduled job)';
  }
  const span = h('span', { class: 'app-break', text: 'A user' });
  actorName(a.actor_id).then((name) => {
    if (name) {
      span.textContent = name;
    }
  });
  return span;
}

// The record's own name, from what the row holds.
function recordName(a) {
  const r = a.after ?? a.before ?? {};
  return r.number ?? r.registration_number ?? r.name ?? r.email ?? r.code ?? r.title ?? (r.given_name ? `${r.given_name} ${r.family_name ?? ''}`.trim() : null);
}

function auditCard(a) {
  const kind = words(a.resource_type).toLowerCase();
  const name = recordName(a);
  const title = `${ACTION_WORDS[a.action] ?? words(a.action)} ${kind}${name ? ` ${name}` : ''}`;
  const page = RECORD_PAGES[a.resource_type];
  return h(
    'div',
    { class: 'govuk-summary-card', 'data-audit': a.id },
    h('div', { class: 'govuk-summary-card__title-wrapper' }, h('h3', { class: 'govuk-summary-card__title', text: title })),
    h(
      'div',
      { class: 'govuk-summary-card__content' },
      summaryList([
        ['When', dateTime(a.at)],
        ['Who', actorCell(a)],
        ['Record', page && a.resource_id && a.action !== 'delete' ? link(`${words(a.resource_type)} ${name ?? a.resource_id}`, `${page}${a.resource_id}`) : `${words(a.resource_type)} ${name ?? a.resource_id ?? ''}`],
        ['What changed', changes(a.before, a.after)],
      ]),
    ),
  );
}

const AUDIT_MESSAGES = {
  actor_email: { invalid: 'Enter the person’s email address' },
  resource_id: { invalid: 'Enter the record’s id as it is in its page address' },
  from: { invalid: 'The first day must be a real date' },
  to: { invalid: 'The last day must be a real date' },
};

async function audit({ query, gen }) {
  const specs = [
    { name: 'actor_email', label: 'Person', hint: 'Their email address', type: 'email', value: query.actor_email, spellcheck: 'false', width: 'govuk-!-width-two-thirds' },
    { name: 'action', label: 'Action', type: 'select', options: [{ value: '', text: 'Any action' }, ...AUDIT_ACTIONS.map((x) => ({ value: x, text: ACTION_OPTIONS[x] }))], value: query.action },
    { name: 'resource_type', label: 'Kind of record', type: 'select', options: opts(AUDIT_TYPES, { any: 'Any kind' }), value: query.resource_type },
    { name: 'resource_id', label: 'Record id (optional)', hint: 'The record’s id, as in its page address', value: query.resource_id, spellcheck: 'false' },
    { name: 'from', label: 'From (optional)', type: 'date', value: query.from },
    { name: 'to', label: 'To (optional)', type: 'date', value: query.to },
  ];
  const filter = form({ specs, submit: 'Show changes', variant: 'secondary', id: 'audit-filter', messages: AUDIT_MESSAGES, onSubmit: async (v) => navigate(hashWith('/audit', v)) });
  const filtered = ['actor_email', 'action', 'resource_type', 'resource_id', 'from', 'to'].some((k) => query[k]);
  const list = pagedList({
    path: '/v1/audit',
    query: { actor_email: query.actor_email, action: query.action, resource_type: query.resource_type, resource_id: query.resource_id, from: query.from, to: query.to },
    label: 'Changes, newest first',
    empty: filtered ? 'No change matches these filters.' : 'No change is recorded yet.',
    limit: 20,
    draw: (items) => items.map(auditCard),
  });
  const page = (...extra) =>
    render('Audit trail', heading('Audit trail'), p('Who changed what, and when, newest first.'), details('Filter the changes', filter), ...extra);
  try {
    await list.ready;
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      const field = /^(\w+):/.exec(err.problem.detail ?? '')?.[1];
      page();
      document.querySelector('details.govuk-details')?.setAttribute('open', '');
      showProblem(filter, new ApiError(422, { errors: [{ field: specs.some((s) => s.name === field) ? field : 'resource_id', detail: err.problem.detail }] }), { specs, messages: AUDIT_MESSAGES });
      return;
    }
    throw err;
  }
  if (stale(gen)) return;
  page(h2('Changes, newest first'), list.el);
  if (filtered) {
    document.querySelector('details.govuk-details')?.setAttribute('open', '');
  }
}

// Start -------------------------------------------------------------------------------------

// A commissioner reads the briefing for its areas and nothing else (the API refuses it every
// other route): its menu is the briefing alone, and every other address shows the briefing.
const isCommissioner = () => session()?.role === 'commissioner';
const adminBriefing = briefingView('licensing_body');
const commissionerBriefing = briefingView('commissioner');
const briefing = (ctx) => (isCommissioner() ? commissionerBriefing(ctx) : adminBriefing(ctx));
const staffOnly = (view) => (ctx) => {
  if (isCommissioner()) {
    navigate('#/briefing');
    return undefined;
  }
  return view(ctx);
};
const notCommissioner = (s) => s.role !== 'commissioner';

startApp({
  app: 'console',
  service: 'Console',
  nav: [
    { href: '#/organisations', text: 'Organisations', show: notCommissioner },
    { href: '#/facilitators', text: 'Facilitators', show: notCommissioner },
    { href: '#/training', text: 'Training', show: notCommissioner },
    { href: '#/reports', text: 'Reports', show: notCommissioner },
    { href: '#/briefing', text: 'Briefing' },
    { href: '#/audit', text: 'Audit trail', show: notCommissioner },
  ],
  routes: [
    { path: '/', view: staffOnly(home) },
    { path: '/organisations', view: staffOnly(organisations) },
    { path: '/organisations/new', view: staffOnly(organisationNew) },
    { path: '/organisations/:id', view: staffOnly(organisation) },
    { path: '/licences/:id', view: staffOnly(licence) },
    { path: '/facilitators', view: staffOnly(facilitators) },
    { path: '/facilitators/:id', view: staffOnly(facilitator) },
    { path: '/training', view: staffOnly(trainingList) },
    { path: '/training/new', view: staffOnly(trainingNew) },
    { path: '/training/:id', view: staffOnly(trainingSession) },
    { path: '/reports', view: staffOnly(reports) },
    { path: '/briefing', view: briefing },
    { path: '/audit', view: staffOnly(audit) },
  ],
});
