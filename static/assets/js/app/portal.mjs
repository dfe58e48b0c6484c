// portal.mjs: the licensee portal (roles org_admin and org_staff). Their organisation and
// licence, staff and the bulk status check, sites, programme runs and their delivery records, API
// clients and webhooks, all through the /v1 API. org_staff only read, but for a run's delivery
// record, which the API lets them keep: the write actions the API refuses them are hidden.
import { api, ApiError, get, getAll, session } from './api.mjs';
import { briefingView } from './briefing.mjs';
import { confirmPage, CONTACT_MESSAGES, form, messageFor, placeMessages, showProblem, values } from './forms.mjs';
import { pagedTable } from './lists.mjs';
import { navigate, render, route, setFlash, stale } from './router.mjs';
import { startApp } from './shell.mjs';
import {
  backLink,
  banner,
  button,
  buttonLink,
  clear,
  date,
  dateTime,
  field,
  h,
  h2,
  heading,
  inset,
  link,
  p,
  REASON_WORDS,
  scrollHinted,
  secretPanel,
  summaryList,
  table,
  tag,
  warning,
  words,
} from './ui.mjs';

const LOCATION_KINDS = ['community', 'family_centre', 'health', 'school', 'prison', 'other'];
// The programme variants as radio options, from GET /v1/programme-variants.
const variantOptions = (variants) =>
  variants.map((v) => ({
    value: v.code,
    text: v.title.toLowerCase().startsWith(v.code) ? v.title : `${words(v.code)}: ${v.title.charAt(0).toLowerCase()}${v.title.slice(1)}`,
    hint: `${v.sessions} sessions; at least ${v.min_facilitators} facilitator${v.min_facilitators === 1 ? '' : 's'}`,
  }));
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const SCOPES = [
  { value: 'facilitators:read', text: 'Read facilitators', hint: 'Look up your staff and check anyone’s status' },
  { value: 'programmes:read', text: 'Read programme runs' },
  { value: 'programmes:write', text: 'Schedule and change programme runs', hint: 'Includes reading them' },
  { value: 'locations:write', text: 'Add and change sites', hint: 'Includes reading them' },
];
const EVENTS = [
  { value: 'facilitator.status_changed', text: 'A facilitator’s status changed' },
  { value: 'facilitator.accreditation_expiring', text: 'A facilitator’s accreditation ends in 30 or 7 days' },
  { value: 'licence.status_changed', text: 'Your licence’s status changed' },
  { value: 'licence.expiring', text: 'Your licence ends in 30 or 7 days' },
  { value: 'programme.changed', text: 'A programme run changed' },
  { value: 'programme.at_risk', text: 'A programme run is at risk: one of its facilitators was suspended or withdrawn' },
  { value: 'enquiry.received', text: 'A family asked about a place (sent here instead of by email; https only)' },
];

// Scopes and events in words, from the tables above (a label table, never the codes).
const SCOPE_WORDS = Object.fromEntries(SCOPES.map((x) => [x.value, x.text]));
const scopeWords = (list) => list.map((x) => SCOPE_WORDS[x] ?? x).join('; ');
const EVENT_WORDS = {
  'facilitator.status_changed': 'Facilitator’s status changed',
  'facilitator.accreditation_expiring': 'Accreditation ending',
  'licence.status_changed': 'Licence status changed',
  'licence.expiring': 'Licence ending',
  'programme.changed': 'Programme run changed',
  'programme.at_risk': 'Programme run at risk',
  'enquiry.received': 'Enquiry from a family',
};
const eventWords = (list) => list.map((x) => EVENT_WORDS[x] ?? words(x)).join('; ');

const isAdmin = () => session()?.role === 'org_admin';
const org = () => session()?.org;

function success(title, body) {
  setFlash(banner(title, body ? (body instanceof Node ? body : p(body)) : null, { success: true }));
}

// Home: the organisation and its licence ---------------------------------------------------

// "Ask about a place": whether families may send enquiries through the finder, and where they
// go. An org_admin changes it; others read it.
function enquirySection(o, etag) {
  const state = o.enquiries_enabled
    ? `Families can ask about a place from the finder. Their enquiries are emailed to ${o.enquiry_email}, and the registry keeps no copy.`
    : 'Families cannot ask about a place from the finder: they see your phone number and email instead.';
  if (!isAdmin()) {
    return [h2('Enquiries from families'), p(state)];
  }
  return [
    h2('Enquiries from families'),
    p(state),
    form({
      specs: [
        { name: 'enquiries_enabled', label: 'Let families ask about a place from the finder', type: 'checkbox', value: o.enquiries_enabled },
        {
          name: 'enquiry_email',
          label: 'Email address for enquiries',
          hint: 'Read often: families wait for your reply. The registry passes each enquiry on and then deletes it.',
          type: 'email',
          value: o.enquiry_email,
          nullable: true,
          spellcheck: 'false',
        },
      ],
      submit: 'Save enquiry settings',
      id: 'enquiry-form',
      messages: {
        enquiry_email: {
          required: 'Enter the email address for enquiries',
          invalid: 'Enter the email address for enquiries in the correct format, like name@example.com',
        },
      },
      onSubmit: async (v) => {
        await api(`/v1/organisations/${o.id}`, { method: 'PATCH', body: v, etag });
        success('Your enquiry settings have been saved');
        route();
      },
    }),
  ];
}

// E-mail reminders (licence and accreditation endings, runs at risk, training places) go to
// the organisation's email address; an org_admin may stop them. The licensing body keeps its
// own copy either way.
function reminderSection(o, etag) {
  const state = o.reminders_enabled
    ? `Reminders are emailed to ${o.email ?? 'your organisation\'s email address'}: licences and accreditations ending, runs at risk, and training places confirmed or withdrawn.`
    : 'Reminders are not emailed to your organisation. The licensing body still gets its copy.';
  if (!isAdmin()) {
    return [h2('Email reminders'), p(state)];
  }
  return [
    h2('Email reminders'),
    p(state),
    form({
      specs: [{ name: 'reminders_enabled', label: 'Email reminders to our organisation', type: 'checkbox', value: o.reminders_enabled }],
      submit: 'Save reminder settings',
      id: 'reminder-form',
      onSubmit: async (v) => {
        await api(`/v1/organisations/${o.id}`, { method: 'PATCH', body: v, etag });
        success('Your reminder settings have been saved');
        route();
      },
    }),
  ];
}

async function home({ gen }) {
  const [{ data: o, etag }, licences] = await Promise.all([api(`/v1/organisations/${org()}`), getAll(`/v1/organisations/${org()}/licences`)]);
  if (stale(gen)) return;
  const current = licences[0];
  render(
    o.name,
    heading(o.name, { caption: 'Your organisation' }),
    summaryList([
      ['Kind', words(o.kind)],
      ['Address', h('span', {}, [...o.address_lines, o.town, o.postcode].flatMap((l, i) => (i ? [h('br'), l] : [l])))],
      ['Phone', o.phone],
      ['Email', o.email],
      ['Website', o.website],
    ]),
    enquirySection(o, etag),
    reminderSection(o, etag),
    h2('Licence'),
    current
      ? summaryList([
          ['Number', current.number],
          ['Status', tag(current.status)],
          ['Valid from', date(current.valid_from)],
          ['Valid until', date(current.valid_until)],
          ['Reason for the last change', current.reason],
        ])
      : p('Your organisation holds no licence. Contact the M-PACT licensing body.'),
    current && current.status !== 'active'
      ? warning(`Your licence is ${words(current.status).toLowerCase()}: you cannot schedule programme runs until it is active.`)
      : null,
    licences.length > 1
      ? table({
          caption: 'Earlier licences',
          captionSize: 's',
          head: ['Number', 'Status', 'Valid from', 'Valid until'],
          rows: licences.slice(1).map((l) => [l.number, tag(l.status), date(l.valid_from), date(l.valid_until)]),
        })
      : null,
  );
}

// Staff and the bulk status check ------------------------------------------------------------

async function staff({ gen }) {
  const list = pagedTable({
    path: '/v1/facilitators',
    query: { organisation_id: org() },
    caption: 'Your facilitators',
    empty: 'No facilitator works for your organisation.',
    columns: [
      { head: 'Registration number', cell: (f) => f.registration_number },
      { head: 'Name', cell: (f) => `${f.given_name} ${f.family_name}` },
      { head: 'Status', cell: (f) => tag(f.status) },
      { head: 'Accredited until', cell: (f) => (f.accredited_until ? date(f.accredited_until) : '') },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  const results = h('div', { id: 'check-results' });
  const specs = [
    {
      name: 'numbers',
      label: 'Registration numbers',
      hint: 'Paste up to 100 numbers, one a line or separated by commas, for example MPF-000123',
      type: 'textarea',
      rows: 6,
      spellcheck: 'false',
    },
  ];
  const check = form({
    specs,
    submit: 'Check statuses',
    id: 'bulk-check',
    onSubmit: async (v) => {
      const numbers = [...new Set((v.numbers ?? '').split(/[\s,;]+/).map((x) => x.trim().toUpperCase()).filter(Boolean))];
      if (numbers.length === 0) {
        throw new ApiError(422, { errors: [{ field: 'numbers', text: 'Enter at least one registration number' }] });
      }
      if (numbers.length > 100) {
        throw new ApiError(422, { errors: [{ field: 'numbers', text: `Enter 100 registration numbers or fewer (you entered ${numbers.length})` }] });
      }
      const { data } = await api('/v1/facilitators/status-check', { method: 'POST', body: { registration_numbers: numbers } });
      const unknown = data.results.filter((r) => !r.found).length;
      while (results.firstChild) results.firstChild.remove();
      results.append(
        table({
          caption: `Results: ${data.results.length} checked${unknown ? `, ${unknown} not found` : ''}`,
          head: ['Registration number', 'Name', 'Status', 'Accredited until', 'Employer'],
          rows: data.results.map((r) =>
            r.found
              ? [r.registration_number, `${r.given_name} ${r.family_name}`, tag(r.status), r.accredited_until ? date(r.accredited_until) : '', r.organisation_name ?? 'None']
              : [r.registration_number, '', tag('not_found', 'Not found'), '', ''],
          ),
        }),
      );
      // Focus moves to the results' region (named by the table's caption).
      results.querySelector('.app-table-wrapper').focus();
    },
    messages: { numbers: { invalid: 'Enter registration numbers like MPF-000123, one a line or separated by commas' } },
  });
  render('Staff', heading('Staff'), list.el, h2('Check several facilitators at once'), check, results);
}

// Sites -------------------------------------------------------------------------------------

async function sites({ gen }) {
  const list = pagedTable({
    path: '/v1/locations',
    query: { organisation_id: org() },
    caption: 'Your sites',
    empty: 'Your organisation has no site yet.',
    columns: [
      { head: 'Name', cell: (l) => link(l.name, `#/sites/${l.id}`) },
      { head: 'Kind', cell: (l) => words(l.kind) },
      { head: 'Town', cell: (l) => l.town },
      { head: 'Shown to the public', cell: (l) => (l.public ? 'Yes' : 'No') },
      { head: 'Status', cell: (l) => tag(l.archived_at ? 'archived' : l.active ? 'active' : 'inactive', l.archived_at ? 'Archived' : l.active ? 'Active' : 'Not active') },
      { head: 'Details confirmed', cell: (l) => date(l.last_verified_on) },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  render('Sites', heading('Sites'), isAdmin() ? buttonLink('Add a site', '#/sites/new') : null, list.el);
}

// What keeps a site out of the public finder, in words (the API's `warnings`).
const siteWarnings = (l) =>
  (l.warnings ?? []).map((w) =>
    w.rule === 'no_coordinates'
      ? `This site cannot appear in the public finder until it has map coordinates: its postcode ${l.postcode} is not in the registry’s postcode list. Check the postcode; if it is right, ask the registry team to add the site’s coordinates.`
      : w.detail,
  );

// The site rules the service checks, in words.
const siteRuleWords = (e) =>
  e.rule === 'prison_school_not_public' ? 'School and prison sites are never shown to the public: untick ‘Show this site in the public finder’' : null;

// The site form's messages (forms.messageFor), by field and rule.
const SITE_MESSAGES = {
  ...placeMessages('site’s'),
  kind: { required: 'Select the kind of site', invalid: 'Select the kind of site' },
  accessibility: { invalid: 'The access information must be 2000 characters or fewer' },
};

const siteSpecs = (l = {}, edit = false) => [
  { name: 'name', label: 'Name of the site', value: l.name },
  { name: 'kind', label: 'Kind of site', type: 'select', options: [{ value: '', text: 'Choose a kind' }, ...LOCATION_KINDS.map((k) => ({ value: k, text: words(k) }))], value: l.kind, hint: 'School and prison sites are never shown to the public' },
  { name: 'address_lines', label: 'Address', hint: 'One to three lines, one a line (not the town or postcode)', type: 'textarea', rows: 3, lines: true, value: (l.address_lines ?? []).join('\n') },
  { name: 'town', label: 'Town or city', value: l.town, width: 'govuk-!-width-two-thirds' },
  { name: 'postcode', label: 'Postcode', value: l.postcode, width: 'govuk-input--width-10' },
  { name: 'accessibility', label: 'Access information (optional)', hint: 'For example, step-free entrance, hearing loop', type: 'textarea', rows: 2, value: l.accessibility, nullable: edit },
  { name: 'public', label: 'Show this site in the public finder', type: 'checkbox', value: l.public ?? true },
  edit ? { name: 'active', label: 'The site is in use', type: 'checkbox', value: l.active } : null,
].filter(Boolean);

function siteNew() {
  render(
    'Add a site',
    backLink('#/sites'),
    heading('Add a site'),
    form({
      specs: siteSpecs(),
      submit: 'Add site',
      onSubmit: async (v) => {
        const { data } = await api('/v1/locations', { method: 'POST', body: v });
        const warned = siteWarnings(data);
        success(`${data.name} has been added`, warned.length ? warned.join(' ') : null);
        navigate('#/sites');
      },
      describe: siteRuleWords,
      messages: SITE_MESSAGES,
    }),
  );
}

async function site({ params, gen }) {
  const { data: l, etag } = await api(`/v1/locations/${params.id}`);
  if (stale(gen)) return;
  const confirm = h(
    'form',
    {
      id: 'confirm-site',
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api(`/v1/locations/${l.id}`, { method: 'PATCH', body: { verified: true }, etag });
          success('Thank you: the details are confirmed as correct');
          route();
        } catch (err) {
          showProblem(null, err);
        }
      },
    },
    p(`Details last confirmed on ${date(l.last_verified_on)}.`),
    button('Confirm these details are still correct', { variant: 'secondary' }),
  );
  render(
    l.name,
    backLink('#/sites', 'All sites'),
    heading(l.name, { caption: 'Site' }),
    siteWarnings(l).map((text) => warning(text)),
    isAdmin()
      ? [
          confirm,
          h2('Change the details'),
          form({
            specs: siteSpecs(l, true),
            submit: 'Save changes',
            id: 'site-form',
            onSubmit: async (v) => {
              const { data } = await api(`/v1/locations/${l.id}`, { method: 'PATCH', body: v, etag });
              const warned = siteWarnings(data);
              success('The site has been updated', warned.length ? warned.join(' ') : null);
              route();
            },
            describe: siteRuleWords,
            messages: SITE_MESSAGES,
      messages: SITE_MESSAGES,
          }),
        ]
      : summaryList([
          ['Kind', words(l.kind)],
          ['Address', [...l.address_lines, l.town, l.postcode].join(', ')],
          ['Access information', l.accessibility],
          ['Shown to the public', l.public ? 'Yes' : 'No'],
          ['In use', l.active ? 'Yes' : 'No'],
          ['Details confirmed', date(l.last_verified_on)],
        ]),
  );
}

// Programme runs ----------------------------------------------------------------------------

async function runs({ gen }) {
  const locations = await getAll('/v1/locations', { organisation_id: org() });
  const names = Object.fromEntries(locations.map((l) => [l.id, l.name]));
  const list = pagedTable({
    path: '/v1/programmes',
    query: { organisation_id: org() },
    caption: 'Your programme runs',
    empty: 'No programme run yet.',
    columns: [
      { head: 'Starts', cell: (r) => link(date(r.starts_on), `#/runs/${r.id}`) },
      { head: 'Site', cell: (r) => names[r.location_id] ?? 'Another site' },
      { head: 'Variant', cell: (r) => words(r.variant) },
      { head: 'Status', cell: (r) => tag(r.status) },
      { head: 'Families', cell: (r) => `${r.families_enrolled} of ${r.capacity_families}`, numeric: true },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  render('Programme runs', heading('Programme runs'), isAdmin() ? buttonLink('Schedule a programme run', '#/runs/new') : null, list.el);
}

// Each rule the service checks, in words (programmes.c lists them).
function ruleWords(e, label, starts) {
  const dateIn = (s) => {
    const m = /(\d{4}-\d{2}-\d{2})\s*$/.exec(s ?? '');
    return m ? date(m[1]) : 'those dates';
  };
  const nums = (s) => (s ?? '').match(/\d+/g) ?? [];
  switch (e.rule) {
    case 'licence_not_active':
      return `Your organisation does not hold an active licence on ${dateIn(e.detail)}. A programme run must be covered by an active licence from its first to its last day.`;
    case 'location_not_owned':
      return 'The site is not one of your organisation’s sites.';
    case 'location_inactive':
      return 'The site is not in use (it is marked not active or archived). Choose a site in use.';
    case 'variant_unknown':
      return 'Choose one of the programme variants.';
    case 'too_few_facilitators': {
      const [need, given] = nums(e.detail);
      return `This variant needs at least ${need} facilitators; you chose ${given}.`;
    }
    case 'facilitator_unknown':
      return 'One of the facilitators chosen is not on the register.';
    case 'facilitator_not_eligible': {
      const why = (e.reasons ?? []).map((r) => REASON_WORDS[r] ?? words(r)).join(' ');
      const on = e.ineligible_from ?? starts;
      const when = e.ineligible_from && e.ineligible_from !== starts ? `from ${date(on)}, before the run ends` : `on ${on ? date(on) : 'the start date'}`;
      return `${e.registration_number} cannot deliver M-PACT for your organisation ${when}. ${why}`.trim();
    }
    case 'capacity_out_of_range':
      return 'A run has places for 1 to 8 families.';
    case 'run_not_started':
      return `A run can start running only on or after its first session${starts ? `, ${date(starts)}` : ''}.`;
    case 'run_not_ended':
      return 'A run can be completed only on or after its last session.';
    case 'run_in_past':
      return 'This run ended before today: record it as completed, with its completion figures.';
    case 'started_exceeds_capacity':
      return 'More families started than the run has places.';
    case 'too_few_adults':
      return 'Every family has at least one adult: there are fewer adults than families who started.';
    case 'too_few_children':
      return 'Every family has at least one child: there are fewer children than families who started.';
    case 'over_capacity': {
      const [enrolled, cap] = nums(e.detail);
      return `${enrolled} families are enrolled but there are only ${cap} places.`;
    }
    case 'ends_before_start':
      return 'The last session must be on or after the first.';
    case 'completed_exceeds_started':
      return 'More families completed than started.';
    case 'sessions_exceed_planned':
      return 'More sessions were delivered than planned.';
    default:
      return null;
  }
}

// The programme run forms' messages (forms.messageFor), by field and rule.
const RUN_MESSAGES = {
  location_id: { required: 'Select the site', invalid: 'Select one of your sites' },
  variant: { required: 'Select the variant', invalid: 'Select one of the programme variants' },
  starts_on: { required: 'Enter the date of the first session', invalid: 'The first session must be on or before the last session' },
  ends_on: { required: 'Enter the date of the last session', invalid: 'The last session must be on or after the first session' },
  weekday: { invalid: 'Select the day of the week' },
  start_time: { invalid: 'Enter the start time on the 24-hour clock, like 10:00' },
  capacity_families: { required: 'Enter the number of places for families', invalid: 'The places for families must be a whole number from 1 to 8' },
  families_enrolled: { invalid: 'The families already enrolled must be a whole number, 0 or more' },
  facilitator_ids: { required: 'Select the facilitators', invalid: 'Select the facilitators from your staff' },
  status: { required: 'Select the new status', invalid: 'Select one of the statuses offered' },
  families_started: { required: 'Enter the number of families who started', invalid: 'The families who started must be a whole number, 0 or more' },
  families_completed: { required: 'Enter the number of families who completed', invalid: 'The families who completed must be a whole number, 0 or more' },
  adults: { required: 'Enter the number of adults taking part', invalid: 'The adults taking part must be a whole number, 0 or more' },
  children: { required: 'Enter the number of children taking part', invalid: 'The children taking part must be a whole number, 0 or more' },
  sessions_delivered: { required: 'Enter the number of sessions delivered', invalid: 'The sessions delivered must be a whole number, 0 or more' },
  sessions_planned: { invalid: 'The sessions planned must be a whole number, 0 or more' },
};

// A rule about the licence names the organisation; the date it names is what the user can change.
const linkable = (err) =>
  err instanceof ApiError ? new ApiError(err.status, { ...err.problem, errors: err.fieldErrors.map((e) => (e.field === 'organisation_id' ? { ...e, field: /ends_on/.test(e.detail ?? '') ? 'ends_on' : 'starts_on' } : e)) }) : err;

async function runNew({ gen }) {
  const [locations, staffList, variants] = await Promise.all([
    getAll('/v1/locations', { organisation_id: org(), active: 'true' }),
    getAll('/v1/facilitators', { organisation_id: org() }),
    get('/v1/programme-variants').then((d) => d.items),
  ]);
  if (stale(gen)) return;
  const specs = [
    { name: 'location_id', label: 'Site', type: 'select', options: [{ value: '', text: 'Choose a site' }, ...locations.filter((l) => !l.archived_at).map((l) => ({ value: l.id, text: `${l.name}, ${l.town}` }))] },
    { name: 'variant', label: 'Variant', type: 'radios', options: variantOptions(variants), value: 'standard' },
    { name: 'starts_on', label: 'First session', type: 'date' },
    { name: 'ends_on', label: 'Last session', type: 'date' },
    { name: 'weekday', label: 'Day of the week (optional)', type: 'select', options: [{ value: '', text: 'Not set' }, ...WEEKDAYS.map((d) => ({ value: d, text: words(d) }))] },
    { name: 'start_time', label: 'Start time (optional)', hint: '24-hour clock, for example 10:00', width: 'govuk-input--width-5' },
    { name: 'capacity_families', label: 'Places for families', hint: 'From 1 to 8', type: 'number', width: 'govuk-input--width-3' },
    { name: 'families_enrolled', label: 'Families already enrolled (optional)', type: 'number', width: 'govuk-input--width-3' },
    {
      name: 'facilitator_ids',
      label: 'Facilitators',
      hint: 'Each must be accredited and work for your organisation from the first session to the last',
      type: 'checkboxes',
      small: true,
      options: staffList.map((f) => ({
        value: f.id,
        text: `${f.given_name} ${f.family_name} (${f.registration_number})`,
        hint: `${words(f.status)}${f.accredited_until ? `, accredited until ${date(f.accredited_until)}` : ''}`,
      })),
    },
    { name: 'accepting_referrals', label: 'Accepting referrals now', type: 'checkbox', value: true },
    { name: 'self_referral_allowed', label: 'Families may refer themselves', type: 'checkbox', value: false },
  ];
  let starts = null;
  render(
    'Schedule a programme run',
    backLink('#/runs'),
    heading('Schedule a programme run'),
    p('The registry checks the licensing rules when you schedule: your licence, the site, and each facilitator’s accreditation.'),
    form({
      specs,
      submit: 'Schedule run',
      id: 'run-form',
      onSubmit: async (v) => {
        starts = v.starts_on ?? null;
        try {
          const { data } = await api('/v1/programmes', { method: 'POST', body: v });
          success('The programme run has been scheduled', `It starts on ${date(data.starts_on)}.`);
          navigate(`#/runs/${data.id}`);
        } catch (err) {
          throw linkable(err);
        }
      },
      describe: (e, label) => ruleWords(e, label, starts),
      messages: RUN_MESSAGES,
    }),
  );
}

const NEXT_STATUS = {
  planned: ['recruiting', 'running', 'cancelled'],
  recruiting: ['running', 'cancelled'],
  running: ['cancelled'],
};

async function run({ params, gen }) {
  const { data: r, etag } = await api(`/v1/programmes/${params.id}`);
  const loc = await get(`/v1/locations/${r.location_id}`).catch(() => null);
  if (stale(gen)) return;
  const figures = [
    { name: 'families_started', label: 'Families who started', type: 'number', width: 'govuk-input--width-3', value: r.families_started },
    { name: 'families_completed', label: 'Families who completed', type: 'number', width: 'govuk-input--width-3', value: r.families_completed },
    { name: 'adults', label: 'Adults taking part', type: 'number', width: 'govuk-input--width-4', value: r.adults },
    { name: 'children', label: 'Children taking part', type: 'number', width: 'govuk-input--width-4', value: r.children },
    { name: 'sessions_delivered', label: 'Sessions delivered', type: 'number', width: 'govuk-input--width-3', value: r.sessions_delivered },
    { name: 'sessions_planned', label: 'Sessions planned (optional)', hint: `This variant plans ${r.variant_details.sessions}`, type: 'number', width: 'govuk-input--width-3', value: r.sessions_planned },
    { name: 'review_held', label: 'The family review was held', type: 'checkbox', value: r.review_held },
    { name: 'reunion_held', label: 'The reunion was held', type: 'checkbox', value: r.reunion_held },
  ];
  const next = NEXT_STATUS[r.status] ?? [];
  const canWrite = isAdmin() && !['cancelled'].includes(r.status);
  render(
    `Programme run starting ${date(r.starts_on)}`,
    backLink('#/runs', 'All programme runs'),
    heading(`Programme run starting ${date(r.starts_on)}`, { caption: loc?.name ?? 'Programme run' }),
    (r.at_risk ?? []).length
      ? warning(`This run is at risk: ${r.at_risk.map((x) => `${x.facilitator} is ${x.reason}`).join('; ')}. It is not shown as taking referrals in the public finder until the facilitator is replaced or the run is cancelled.`)
      : null,
    summaryList([
      ['Status', tag(r.status)],
      ['Variant', r.variant_details.title],
      ['Dates', `${date(r.starts_on)} to ${date(r.ends_on)}`],
      ['When', [r.weekday ? `${words(r.weekday)}s` : null, r.start_time].filter(Boolean).join(' at ')],
      ['Families', `${r.families_enrolled} enrolled, ${r.capacity_families} places`],
      ['Facilitators', r.facilitators.map((f) => `${f.given_name} ${f.family_name} (${f.registration_number})`).join(', ')],
      ['Referrals', `${r.accepting_referrals ? 'Accepting referrals' : 'Not accepting referrals'}${r.self_referral_allowed ? '; families may refer themselves' : ''}`],
    ]),
    r.status === 'completed'
      ? table({
          caption: 'Completion figures',
          captionSize: 's',
          head: ['Figure', 'Value'],
          numeric: [1],
          rows: figures.map((f) => [f.label.replace(' (optional)', ''), f.type === 'checkbox' ? (f.value ? 'Yes' : 'No') : String(f.value ?? '')]),
        })
      : null,
    DELIVERY_STATUSES.includes(r.status)
      ? h(
          'div',
          {},
          h2('Delivery record'),
          p('Who the run reached, where families came from and went on to, their feedback, and their scores before and after: as totals only.'),
          p(link(r.status === 'completed' ? 'Record or correct what the run delivered' : 'Record what the run has delivered so far', `#/runs/${r.id}/delivery`, { id: 'delivery-link' })),
        )
      : null,
    canWrite && next.length
      ? h(
          'div',
          {},
          h2('Change the status'),
          form({
            specs: [{ name: 'status', label: 'New status', type: 'radios', options: next.map((s) => ({ value: s, text: words(s) })) }],
            submit: 'Change status',
            variant: 'secondary',
            id: 'run-status',
            onSubmit: async (v) => {
              if (!v.status) {
                throw new ApiError(422, { errors: [{ field: 'status', text: 'Select the new status' }] });
              }
              const change = async () => {
                try {
                  await api(`/v1/programmes/${r.id}`, { method: 'PATCH', body: v, etag });
                } catch (err) {
                  throw linkable(err);
                }
                success(`The run is now ${words(v.status).toLowerCase()}`);
                route();
              };
              if (v.status !== 'cancelled') {
                await change();
                return;
              }
              // Cancelling is final: a page of its own says so first.
              confirmPage({
                title: 'Are you sure you want to cancel this programme run?',
                caption: `Programme run starting ${date(r.starts_on)}`,
                rows: [
                  ['Site', loc?.name ?? 'Another site'],
                  ['Dates', `${date(r.starts_on)} to ${date(r.ends_on)}`],
                  ['Status now', tag(r.status)],
                  ['Families', `${r.families_enrolled} enrolled`],
                ],
                warningText: 'A cancelled run cannot be started again. It leaves the public finder, and the families enrolled need to be told.',
                confirm: 'Cancel the run',
                onConfirm: change,
              });
            },
            describe: (e, label) => ruleWords(e, label, r.starts_on),
            messages: RUN_MESSAGES,
          }),
        )
      : null,
    canWrite && ['running', 'completed'].includes(r.status)
      ? h(
          'div',
          {},
          h2(r.status === 'completed' ? 'Correct the completion figures' : 'Record completion'),
          r.status === 'running' ? p('Recording the figures marks the run as completed. Record totals only: nothing about any family.') : null,
          form({
            specs: figures,
            submit: r.status === 'completed' ? 'Save corrections' : 'Record completion',
            id: 'completion',
            messages: RUN_MESSAGES,
            onSubmit: async (v) => {
              const body = r.status === 'running' ? { ...v, status: 'completed' } : v;
              await api(`/v1/programmes/${r.id}`, { method: 'PATCH', body, etag });
              success('The completion figures are recorded');
              route();
            },
            describe: (e, label) => ruleWords(e, label, r.starts_on),
          }),
        )
      : null,
  );
}

// The delivery record of a run ---------------------------------------------------------------
//
// GET/PUT /v1/programmes/{id}/delivery: the figures, and the breakdowns counted by the reference
// items (GET /v1/reference-items). PUT replaces the whole record, with If-Match. The outcomes
// (PUT /v1/programmes/{id}/outcomes/{measure}): the before/after scores pasted by the
// practitioner are sent once and forgotten. They are never put in storage or the URL, and the
// box is emptied once the service has them. The service keeps only their totals.

const DELIVERY_STATUSES = ['running', 'completed'];
const ANSWERS = [
  { code: 'agree', name: 'Agree' },
  { code: 'neither', name: 'Neither agree nor disagree' },
  { code: 'disagree', name: 'Disagree' },
];

// Each breakdown: its member of the record, the reference kind of its rows and of its columns
// (none: one column of counts; 'answer': the feedback answers).
const BREAKDOWNS = [
  {
    name: 'referrals_by_source',
    kind: 'referral_source',
    label: 'Where the families were referred from',
    hint: 'The families referred, by who referred them. They add up to the families referred.',
    head: 'Families referred',
    rowHead: 'Referred by',
  },
  {
    name: 'onward_referrals',
    kind: 'onward_referral',
    label: 'Where families were referred on to',
    hint: 'The referrals the run made to other services, by kind of service.',
    head: 'Referrals made',
    rowHead: 'Kind of service',
  },
  {
    name: 'adults_by_relationship',
    kind: 'carer_relationship',
    inner: 'gender',
    label: 'Adults, by relationship to the child and gender',
    hint: 'They add up to the adults taking part.',
    head: 'Relationship',
  },
  {
    name: 'children_by_age_band',
    kind: 'age_band',
    inner: 'gender',
    label: 'Children, by age and gender',
    hint: 'They add up to the children taking part.',
    head: 'Age',
  },
  {
    name: 'feedback',
    kind: 'feedback_statement',
    inner: 'answer',
    noTotal: true,
    label: 'Feedback from families',
    hint: 'How many agreed, neither agreed nor disagreed, or disagreed with each statement: for each statement, at most the adults and children taking part.',
    head: 'Statement',
  },
];

const count = (name, label, value, hint) => ({ name, label, hint, type: 'number', width: 'govuk-input--width-4', value, nullable: true });

const deliverySpecs = (d, variantSessions) => [
  {
    legend: 'Families',
    specs: [
      count('families_referred', 'Families referred', d.families_referred),
      count('families_assessed', 'Families assessed', d.families_assessed),
      count('families_started', 'Families who started', d.families_started, `The run has ${d.capacity_families} places`),
      count('families_completed', 'Families who completed', d.families_completed),
    ],
  },
  {
    legend: 'Sessions',
    specs: [
      count('sessions_planned', 'Sessions planned', d.sessions_planned, variantSessions ? `This variant plans ${variantSessions}` : null),
      count('sessions_delivered', 'Sessions delivered', d.sessions_delivered),
      { name: 'review_held', label: 'The family review was held', type: 'checkbox', value: d.review_held },
      { name: 'reunion_held', label: 'The reunion was held', type: 'checkbox', value: d.reunion_held },
    ],
  },
  {
    legend: 'People taking part',
    specs: [count('adults', 'Adults taking part', d.adults), count('children', 'Children taking part', d.children)],
  },
  {
    legend: 'Cost',
    specs: [
      {
        name: 'delivery_cost_gbp',
        label: 'What the run cost your organisation, in pounds (optional)',
        hint: 'Whole pounds, for example 4010',
        type: 'number',
        width: 'govuk-input--width-10',
        value: d.delivery_cost_gbp,
        nullable: true,
      },
    ],
  },
];

// The rows of a breakdown: its kind's active items, and any retired one the record still counts.
function breakdownRows(items, kind, value) {
  return items.filter((i) => i.kind === kind && (i.active || (value && Object.hasOwn(value, i.code)))).map((i) => ({ code: i.code, name: i.active ? i.name : `${i.name} (no longer used)` }));
}

// A table of number inputs, one per row (and column): a form group named by the breakdown, whose
// first input has the id `f-<name>` that error summaries link to.
function breakdownField(b, rows, cols, value) {
  // The total as it is typed (not for the feedback, whose limit is per statement).
  const total = b.noTotal ? null : h('p', { class: 'govuk-body govuk-!-margin-bottom-0', 'aria-live': 'polite', 'data-total': b.name });
  let first = true;
  const cell = (r, c) => {
    const id = first ? `f-${b.name}` : `f-${b.name}-${r.code}${c ? `-${c.code}` : ''}`;
    first = false;
    const v = c ? value?.[r.code]?.[c.code] : value?.[r.code];
    const input = h('input', {
      class: 'govuk-input govuk-input--width-3',
      id,
      type: 'text',
      inputmode: 'numeric',
      autocomplete: 'off',
      'data-breakdown': b.name,
      'data-row': r.code,
      'data-col': c?.code,
    });
    input.value = v === undefined || v === null ? '' : String(v);
    return h('td', { class: 'govuk-table__cell' }, h('label', { class: 'govuk-label govuk-visually-hidden', for: id, text: c ? `${r.name}: ${c.name}` : `${r.name}: ${b.head.toLowerCase()}` }), input);
  };
  const columns = cols ?? [{ code: null, name: b.head }];
  const wrap = h(
    'div',
    { class: 'app-table-wrapper', tabindex: '0', role: 'region', 'aria-label': b.label },
    h(
      'table',
      { class: 'govuk-table govuk-!-margin-bottom-2' },
      h('thead', { class: 'govuk-table__head' }, h('tr', { class: 'govuk-table__row' }, h('th', { scope: 'col', class: 'govuk-table__header', text: cols ? b.head : b.rowHead }), columns.map((c) => h('th', { scope: 'col', class: 'govuk-table__header', text: c.name })))),
      h(
        'tbody',
        { class: 'govuk-table__body' },
        rows.map((r) => h('tr', { class: 'govuk-table__row' }, h('th', { scope: 'row', class: 'govuk-table__header', text: r.name }), columns.map((c) => cell(r, cols ? c : null)))),
      ),
    ),
  );
  wrap.style.overflowX = 'auto';
  const group = h(
    'div',
    { class: 'govuk-form-group', 'data-field': b.name },
    h('fieldset', { class: 'govuk-fieldset', 'aria-describedby': `f-${b.name}-hint` }, h('legend', { class: 'govuk-fieldset__legend govuk-fieldset__legend--s', text: b.label }), h('div', { class: 'govuk-hint', id: `f-${b.name}-hint`, text: b.hint }), scrollHinted(wrap), total),
  );
  const sum = () => {
    if (!total) {
      return;
    }
    let n = 0;
    for (const input of group.querySelectorAll('input[data-breakdown]')) {
      n += /^\d+$/.test(input.value.trim()) ? Number(input.value.trim()) : 0;
    }
    total.textContent = `Total: ${n}`;
  };
  group.addEventListener('input', sum);
  sum();
  return group;
}

// A breakdown as the API takes it: {row: n} or {row: {column: n}}; empty and 0 cells left out, a
// cell that is not a whole number sent as it is (the service refuses it, naming the breakdown).
function readBreakdown(f, name) {
  const out = {};
  for (const input of f.querySelectorAll(`input[data-breakdown="${name}"]`)) {
    const raw = input.value.trim();
    const n = /^\d+$/.test(raw) ? Number(raw) : raw;
    if (raw === '' || n === 0) {
      continue;
    }
    const { row, col } = input.dataset;
    if (col) {
      (out[row] ??= {})[col] = n;
    } else {
      out[row] = n;
    }
  }
  return out;
}

// The delivery rules (delivery.c) in words, each naming its field.
function deliveryWords(e, labels, names) {
  const label = labels[e.field] ?? words(e.field);
  const [x, y] = (e.detail ?? '').match(/\d+/g) ?? [];
  switch (e.rule) {
    case 'run_not_running_or_completed':
      return 'The delivery record can be written only while the run is running or once it is completed.';
    case 'record_incomplete':
      return `${label}: enter it. The run is completed, so its record must be complete (only the cost may be left out).`;
    case 'assessed_exceeds_referred':
      return `${label}: more families were assessed (${x}) than referred (${y}).`;
    case 'started_exceeds_assessed':
      return `${label}: more families started (${x}) than were assessed (${y}).`;
    case 'completed_exceeds_started':
      return `${label}: more families completed (${x}) than started (${y}).`;
    case 'started_exceeds_capacity':
      return `${label}: more families started (${x}) than the run has places (${y}).`;
    case 'too_few_adults':
      return `${label}: every family has at least one adult, but there are ${x} adults for ${y} families.`;
    case 'too_few_children':
      return `${label}: every family has at least one child, but there are ${x} children for ${y} families.`;
    case 'sessions_exceed_planned':
      return `${label}: more sessions were delivered (${x}) than planned (${y}).`;
    case 'referrals_breakdown_mismatch':
    case 'adults_breakdown_mismatch':
    case 'children_breakdown_mismatch': {
      const m = /adds up to (\d+), not (\w+) (\d+)/.exec(e.detail ?? '');
      return m ? `${label}: these add up to ${m[1]}, but ${(labels[m[2]] ?? words(m[2])).toLowerCase()} is ${m[3]}.` : `${label}: ${e.detail}`;
    }
    case 'feedback_exceeds_respondents': {
      const m = /^(\w+) has (\d+) answers, more than the run's (\d+)/.exec(e.detail ?? '');
      return m ? `${label}: ‘${names[m[1]] ?? m[1]}’ has ${m[2]} answers, more than the ${m[3]} adults and children taking part.` : `${label}: ${e.detail}`;
    }
    default:
      return messageFor(e, { name: e.field, label });
  }
}

// "2.4, 1.9" lines to [[2.4, 1.9], ...]; `lines[i]` is the line number of pair i. Throws a 422 of
// the box when a line is not a pair of numbers (naming the line, never echoing a score).
const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)`;
const PAIR = new RegExp(`^(${NUMBER})\\s*(?:[,;\\t]|\\s)\\s*(${NUMBER})$`);

function parsePairs(text, field) {
  const pairs = [];
  const lines = [];
  (text ?? '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') {
      return;
    }
    const m = PAIR.exec(line);
    if (!m) {
      throw new ApiError(422, { errors: [{ field, rule: 'line_not_a_pair', detail: `line ${i + 1} is not a pair of scores: write the score before, a comma, then the score after, for example 2.4, 1.9` }] });
    }
    pairs.push([Number(m[1]), Number(m[2])]);
    lines.push(i + 1);
  });
  return { pairs, lines };
}

const RESPONDENT_COUNTS = { adult: ['adults', 'adults'], child: ['children', 'children'], family: ['families_started', 'families who started'] };
const RESPONDENT_NOUNS = { adult: 'Adults', child: 'Children', family: 'Families' };

const fixed = (x) => (typeof x === 'number' ? x.toFixed(2) : '');
const signed = (x) => (typeof x === 'number' ? `${x > 0 ? '+' : ''}${x.toFixed(2)}` : '');

// The summary of one measure's scores for the run (GET .../outcomes): never the sums, only what a
// reader needs.
function outcomeSummary(o, m) {
  if (!o) {
    return p('No scores are recorded for this measure yet.');
  }
  const better = (m?.higher_is_better ?? o.higher_is_better) ? 'higher is better' : 'lower is better';
  const change = o.change
    ? h(
        'span',
        {},
        tag(o.change === 'improved' ? 'passed' : o.change === 'worsened' ? 'failed' : 'none', words(o.change)),
        typeof o.p_value === 'number' ? ` ${o.significant ? 'Statistically significant' : 'Not statistically significant'} (p = ${o.p_value < 0.001 ? '< 0.001' : o.p_value.toFixed(3)})` : null,
      )
    : null;
  return summaryList([
    [`${RESPONDENT_NOUNS[o.respondent] ?? 'Respondents'} with both scores`, String(o.n)],
    ['Answered before only', String(o.pre_only ?? 0)],
    ['Answered after only', String(o.post_only ?? 0)],
    ['Mean before', fixed(o.mean_before)],
    ['Mean after', fixed(o.mean_after)],
    [
      'Mean change',
      typeof o.mean_change !== 'number'
        ? ''
        : Array.isArray(o.ci95)
          ? `${signed(o.mean_change)} (95% confidence interval ${signed(o.ci95[0])} to ${signed(o.ci95[1])}; ${better})`
          : `${signed(o.mean_change)} (${better}; a confidence interval needs at least 2 pairs)`,
    ],
    ['Change', change],
    typeof o.effect_size_dz === 'number' ? ['Effect size (dz)', fixed(o.effect_size_dz)] : null,
  ]);
}

// One measure: its summary and, while the record may be written, the form its scores are pasted in.
function outcomeSection(runId, m, o, d, writable) {
  const code = m.code;
  const [column, noun] = RESPONDENT_COUNTS[m.respondent] ?? RESPONDENT_COUNTS.family;
  const most = d[column];
  const summary = h('div', { 'data-summary': code }, outcomeSummary(o, m));
  const status = h('div', { role: 'status', 'data-status': code });
  const names = { pairs: `pairs_${code}`, pre_only: `pre_only_${code}`, post_only: `post_only_${code}` };
  const specs = [
    {
      name: names.pairs,
      label: 'Scores before and after',
      hint: `One pair a line: the score before, a comma, then the score after, for example 2.4, 1.9. Scores from ${m.scale_min} to ${m.scale_max}. ${most === null || most === undefined ? '' : `At most ${most} pairs (the run’s ${noun}).`}`.trim(),
      type: 'textarea',
      rows: 6,
      spellcheck: 'false',
    },
    { name: names.pre_only, label: 'Answered before only (optional)', hint: 'How many answered before but not after', type: 'number', width: 'govuk-input--width-3' },
    { name: names.post_only, label: 'Answered after only (optional)', hint: 'How many answered after but not before', type: 'number', width: 'govuk-input--width-3' },
  ];
  let lines = [];
  const f = writable
    ? form({
        specs,
        submit: 'Send scores',
        variant: 'secondary',
        id: `outcome-${code}`,
        onSubmit: async (v, el) => {
          status.textContent = '';
          const parsed = parsePairs(v[names.pairs], names.pairs);
          lines = parsed.lines;
          const body = { pairs: parsed.pairs, pre_only: v[names.pre_only] ?? 0, post_only: v[names.post_only] ?? 0 };
          if (body.pairs.length === 0 && !body.pre_only && !body.post_only) {
            throw new ApiError(422, { errors: [{ field: names.pairs, rule: 'no_pairs', text: 'Paste the scores before and after, one pair a line' }] });
          }
          let data;
          try {
            ({ data } = await api(`/v1/programmes/${runId}/outcomes/${encodeURIComponent(code)}`, { method: 'PUT', body }));
          } catch (err) {
            throw err instanceof ApiError ? new ApiError(err.status, { ...err.problem, errors: err.fieldErrors.map((e) => ({ ...e, field: names[e.field] ?? e.field })) }) : err;
          }
          // Sent: the scores leave the page.
          el.reset();
          clear(summary);
          summary.append(outcomeSummary(data, m));
          status.textContent = `Saved: the registry holds the totals of ${data.n} pair${data.n === 1 ? '' : 's'} for this measure. The scores have been cleared from this page.`;
        },
        describe: (e, label) => {
          const at = /^pairs\[(\d+)\]: (.*)$/.exec(e.detail ?? '');
          if (at) {
            return `${label}: line ${lines[Number(at[1])] ?? Number(at[1]) + 1}: ${at[2]}`;
          }
          switch (e.rule) {
            case 'respondents_unknown':
              return `${label}: record the run’s ${noun} in the figures above first.`;
            case 'too_many_pairs':
              return `${label}: ${(e.detail ?? '').replace(/ families_started$/, ' families who started')}.`;
            case 'measure_retired':
              return 'This measure is retired: it takes no new scores.';
            case 'run_not_running_or_completed':
              return 'Scores can be sent only while the run is running or once it is completed.';
            default:
              return null;
          }
        },
      })
    : null;
  if (f) {
    f.querySelector('textarea').setAttribute('autocomplete', 'off');
  }
  return h('section', { class: 'govuk-!-margin-bottom-8', 'aria-labelledby': `measure-${code}` }, h('h3', { class: 'govuk-heading-s', id: `measure-${code}`, text: m.active ? m.name : `${m.name} (no longer used)` }), summary, status, f);
}

async function delivery({ params, gen }) {
  const [run, record, items, measures, outcomes] = await Promise.all([
    get(`/v1/programmes/${params.id}`),
    api(`/v1/programmes/${params.id}/delivery`),
    get('/v1/reference-items').then((x) => x.items),
    get('/v1/outcome-measures').then((x) => x.items),
    get(`/v1/programmes/${params.id}/outcomes`).then((x) => x.items),
  ]);
  if (stale(gen)) return;
  const { data: d, etag } = record;
  const writable = DELIVERY_STATUSES.includes(d.status);
  const groups = deliverySpecs(d, run.variant_details?.sessions);
  const simple = groups.flatMap((g) => g.specs);
  const labels = Object.fromEntries([...simple.map((s) => [s.name, s.label.replace(/ \(optional\)$/, '')]), ...BREAKDOWNS.map((b) => [b.name, b.label])]);
  const names = Object.fromEntries(items.map((i) => [i.code, i.name]));
  const genders = breakdownRows(items, 'gender', null);
  const tables = BREAKDOWNS.map((b) => breakdownField(b, breakdownRows(items, b.kind, d[b.name]), b.inner === 'answer' ? ANSWERS : b.inner ? genders : null, d[b.name]));
  const title = 'Delivery record';
  const caption = `Programme run starting ${date(run.starts_on)}`;
  if (!writable) {
    render(title, backLink(`#/runs/${run.id}`, 'Back to the run'), heading(title, { caption }), p(`A run’s delivery record is written while it is running or once it is completed. This run is ${words(d.status).toLowerCase()}.`));
    return;
  }
  const fieldsets = groups.map((g) => h('fieldset', { class: 'govuk-fieldset govuk-!-margin-bottom-6' }, h('legend', { class: 'govuk-fieldset__legend govuk-fieldset__legend--m', text: g.legend }), g.specs.map((s) => field(s))));
  const recordForm = form({
    specs: [...fieldsets, h('h2', { class: 'govuk-heading-m', text: 'Breakdowns' }), ...tables],
    submit: 'Save the delivery record',
    id: 'delivery-form',
    onSubmit: async (_, f) => {
      const body = values(f, simple);
      for (const b of BREAKDOWNS) {
        body[b.name] = readBreakdown(f, b.name);
      }
      await api(`/v1/programmes/${run.id}/delivery`, { method: 'PUT', body, etag });
      success('The delivery record is saved');
      route();
    },
    describe: (e) => deliveryWords(e, labels, names),
  });
  const active = measures.filter((m) => m.active);
  const byCode = Object.fromEntries(outcomes.map((o) => [o.measure_code, o]));
  const retired = measures.filter((m) => !m.active && byCode[m.code]);
  render(
    title,
    backLink(`#/runs/${run.id}`, 'Back to the run'),
    heading(title, { caption }),
    p('Record totals only: nothing that identifies a family.'),
    d.status === 'completed' ? inset('The run is completed, so every figure is needed; only the cost may be left out. Saving replaces the whole record.') : inset('Saving replaces the whole record. Once the run is completed, every figure is needed.'),
    recordForm,
    h2('Outcomes'),
    p('For each measure, paste the scores of those who answered both before and after the programme, one pair a line. The registry keeps only the number of pairs and their totals, never anyone’s scores, and this page clears them once they are sent. Sending again replaces what the run holds for that measure.'),
    active.length ? active.map((m) => outcomeSection(run.id, m, byCode[m.code], d, true)) : p('No outcome measure is in use: the licensing body sets them.'),
    retired.map((m) => outcomeSection(run.id, m, byCode[m.code], d, false)),
  );
}

// API clients -------------------------------------------------------------------------------

async function clients({ gen }) {
  const list = await getAll('/v1/clients', { organisation_id: org() });
  if (stale(gen)) return;
  const active = list.filter((c) => !c.revoked_at);
  const rows = active.map((c) => [
    c.name,
    h('code', { text: c.client_id }),
    scopeWords(c.scopes),
    date(c.created_at),
    h(
      'div',
      { class: 'govuk-button-group govuk-!-margin-bottom-0' },
      button('Rotate secret', {
        variant: 'secondary',
        type: 'button',
        onclick: async () => {
          try {
            const { data } = await api(`/v1/clients/${c.id}/secrets`, { method: 'POST', body: {} });
            showSecret(`New secret for ${c.name}`, [['Client id', c.client_id], ['Client secret', data.client_secret]], 'The previous secret keeps working for 24 hours, so your systems can change over.');
          } catch (err) {
            showProblem(null, err);
          }
        },
      }),
      button('Delete', {
        variant: 'warning',
        type: 'button',
        onclick: () =>
          // Deleting is final: a page of its own says so first.
          confirmPage({
            title: `Are you sure you want to delete the API client ${c.name}?`,
            caption: 'API clients',
            rows: [
              ['Name', c.name],
              ['Client id', h('code', { class: 'app-break', text: c.client_id })],
              ['What it may do', scopeWords(c.scopes)],
            ],
            warningText: 'A deleted API client cannot be restored: the systems that use it can no longer get tokens.',
            confirm: 'Delete API client',
            onConfirm: async () => {
              await api(`/v1/clients/${c.id}`, { method: 'DELETE' });
              success(`${c.name} has been deleted`, 'It can no longer get tokens.');
              route();
            },
          }),
      }),
    ),
  ]);
  render(
    'API clients',
    heading('API clients'),
    p('Your own systems (HR, case management) sign in to the registry’s API as API clients.'),
    table({ caption: 'Your API clients', captionSize: 's', head: ['Name', 'Client id', 'What it may do', 'Created', 'Actions'], rows, empty: 'You have no API client.' }),
    h2('Create an API client'),
    form({
      specs: [
        { name: 'name', label: 'Name', hint: 'What the client is, for example HR system' },
        { name: 'scopes', label: 'What it may do', type: 'checkboxes', options: SCOPES, small: true },
      ],
      submit: 'Create API client',
      id: 'client-form',
      messages: {
        name: { required: 'Enter the name of the API client', invalid: 'The name must be 200 characters or fewer' },
        scopes: { required: 'Select what the API client may do', invalid: 'Select what the API client may do' },
      },
      onSubmit: async (v) => {
        const { data } = await api('/v1/clients', { method: 'POST', body: v });
        showSecret(`${data.name} has been created`, [['Client id', data.client_id], ['Client secret', data.client_secret]]);
      },
    }),
  );
}

// A link to the view the page was drawn over (the address did not change, so following it must
// draw that view again rather than wait for a hashchange).
function reload(text, href, id) {
  return link(text, href, {
    id,
    onclick: (e) => {
      e.preventDefault();
      navigate(href);
    },
  });
}

// A secret is shown once, on a page of its own.
function showSecret(title, rows, note) {
  render(
    title,
    heading(title),
    secretPanel('Copy the secret now', rows),
    warning('This is the only time the secret is shown. Store it safely, in your system’s secret store.'),
    note ? p(note) : null,
    p(reload('Back to the list', '#/api-clients', 'back-to-list')),
  );
}

// Webhooks ----------------------------------------------------------------------------------

async function webhooks({ gen }) {
  const list = await getAll('/v1/webhooks', { organisation_id: org() });
  if (stale(gen)) return;
  render(
    'Webhooks',
    heading('Webhooks'),
    p('The registry can tell your systems when something changes, instead of them asking again and again.'),
    table({
      caption: 'Your webhook subscriptions',
      captionSize: 's',
      head: ['Address', 'Events', 'Status', 'Created'],
      rows: list.map((w) => [link(w.url, `#/webhooks/${w.id}`), eventWords(w.events), tag(w.status), date(w.created_at)]),
      empty: 'You have no webhook subscription.',
    }),
    h2('Subscribe'),
    form({
      specs: [
        { name: 'url', label: 'Address to send to', hint: 'An https address of your system', type: 'url', spellcheck: 'false' },
        { name: 'events', label: 'Events', type: 'checkboxes', options: EVENTS, small: true },
      ],
      submit: 'Subscribe',
      id: 'webhook-form',
      messages: {
        url: { required: 'Enter the address to send to', invalid: 'Enter an address that starts with https://, like https://example.com/hooks' },
        events: { required: 'Select at least one event', invalid: 'Select the events from the list' },
      },
      onSubmit: async (v) => {
        const { data } = await api('/v1/webhooks', { method: 'POST', body: v });
        render(
          'Subscribed',
          heading('Subscribed'),
          secretPanel('Copy the signing secret now', [['Signing secret', data.secret]]),
          warning('This is the only time the secret is shown. Your system uses it to check that messages come from the registry.'),
          p(reload('Back to webhooks', '#/webhooks', 'back-to-list')),
        );
      },
    }),
  );
}

async function webhook({ params, gen }) {
  const w = await get(`/v1/webhooks/${params.id}`);
  const list = pagedTable({
    path: `/v1/webhooks/${w.id}/deliveries`,
    caption: 'Deliveries, newest first',
    empty: 'Nothing has been sent yet.',
    columns: [
      { head: 'When', cell: (d) => dateTime(d.attempted_at) },
      { head: 'Event', cell: (d) => EVENT_WORDS[d.event] ?? words(d.event) },
      { head: 'Attempt', cell: (d) => String(d.attempt), numeric: true },
      { head: 'Answer', cell: (d) => (d.status_code ? `HTTP ${d.status_code}` : d.error ?? '') },
      { head: 'Time', cell: (d) => (d.duration_ms !== null && d.duration_ms !== undefined ? `${d.duration_ms} ms` : ''), numeric: true },
      { head: 'Outcome', cell: (d) => tag(d.outcome) },
    ],
  });
  await list.ready;
  if (stale(gen)) return;
  render(
    'Webhook',
    backLink('#/webhooks', 'All webhooks'),
    heading(w.url, { caption: 'Webhook subscription', size: 'm' }),
    summaryList([
      ['Status', tag(w.status)],
      ['Events', eventWords(w.events)],
      ['Created', date(w.created_at)],
    ]),
    w.status === 'failing' ? inset('Messages stopped after failing for a day. Fix your system, then delete this subscription and subscribe again.') : null,
    list.el,
    h(
      'form',
      {
        id: 'delete-webhook',
        onsubmit: (ev) => {
          ev.preventDefault();
          confirmPage({
            title: 'Are you sure you want to delete this webhook subscription?',
            caption: 'Webhook subscription',
            rows: [
              ['Address', h('span', { class: 'app-break', text: w.url })],
              ['Events', eventWords(w.events)],
            ],
            warningText: 'A deleted subscription cannot be restored: your system gets no more messages until you subscribe again, with a new signing secret.',
            confirm: 'Delete subscription',
            onConfirm: async () => {
              await api(`/v1/webhooks/${w.id}`, { method: 'DELETE' });
              success('The subscription has been deleted');
              navigate('#/webhooks');
            },
          });
        },
      },
      button('Delete this subscription', { variant: 'warning' }),
    ),
  );
}

// Start -------------------------------------------------------------------------------------

startApp({
  app: 'portal',
  service: 'Portal',
  nav: [
    { href: '#/', text: 'Organisation' },
    { href: '#/staff', text: 'Staff' },
    { href: '#/sites', text: 'Sites' },
    { href: '#/runs', text: 'Programme runs' },
    { href: '#/briefing', text: 'Briefing' },
    { href: '#/api-clients', text: 'API clients', show: (s) => s.role === 'org_admin' },
    { href: '#/webhooks', text: 'Webhooks', show: (s) => s.role === 'org_admin' },
  ],
  routes: [
    { path: '/', view: home },
    { path: '/staff', view: staff },
    { path: '/sites', view: sites },
    { path: '/sites/new', view: siteNew },
    { path: '/sites/:id', view: site },
    { path: '/runs', view: runs },
    { path: '/runs/new', view: runNew },
    { path: '/runs/:id', view: run },
    { path: '/runs/:id/delivery', view: delivery },
    { path: '/briefing', view: briefingView('licensee') },
    { path: '/api-clients', view: clients },
    { path: '/webhooks', view: webhooks },
    { path: '/webhooks/:id', view: webhook },
  ],
});

