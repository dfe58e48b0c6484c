// briefing.mjs: the delivery briefing (issue 16), laid out like a committee paper and printable
// (app.css's print section gives A4 without the header, navigation, footer or forms). One view
// for three audiences, all from GET /v1/reports/delivery:
//   - the licensing body (console): any area(s) or organisation, exact figures;
//   - a licensee (portal): its own organisation's runs, exact figures;
//   - a commissioner (console, role commissioner): the runs in its areas, with the small numbers
//     the service withholds (null, and listed in `suppressed`) shown as withheld, with a note.
// Each chart (Chart.js, drawn on a canvas hidden from assistive technology) is followed by a
// GOV.UK table of the same figures.
import { ApiError, get, getAll } from './api.mjs';
import { form, showProblem } from './forms.mjs';
import { hashWith, navigate, render, stale } from './router.mjs';
import { button, date, h, h2, heading, inset, p, summaryList, table, today, words } from './ui.mjs';

const COLOURS = ['#1d70b8', '#00703c', '#f47738', '#4c2c92', '#d4351c', '#505a5f', '#28a197', '#912b88'];
const WITHHELD = 'withheld';
const NUMBER = new Intl.NumberFormat('en-GB');
const DECIMAL = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const GBP = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP', maximumFractionDigits: 0 });
const PERCENT = new Intl.NumberFormat('en-GB', { style: 'percent', maximumFractionDigits: 0 });
const MAX_RUNS_LISTED = 60;
// The runs asked for (the service's most); beyond them the counts stand and the list says so.
const RUNS_ASKED = 1000;

// Chart.js as the console's page loads it; the portal's page does not, so it is loaded here (a
// script from this site, as the CSP allows) the first time a briefing is drawn there.
let chartLoading = null;
function loadChart() {
  if (typeof window.Chart === 'function') {
    return Promise.resolve(true);
  }
  chartLoading ??= new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = '/assets/vendor/chart.umd.min.js';
    s.addEventListener('load', () => resolve(typeof window.Chart === 'function'));
    s.addEventListener('error', () => resolve(false));
    document.head.append(s);
  });
  return chartLoading;
}

// A figure as text: null (withheld for this reader, or nothing to divide by) reads "withheld"
// when the service listed its path in `suppressed`, otherwise "none".
function figure(v, path, sup, fmt = (x) => NUMBER.format(x)) {
  if (v === null || v === undefined) {
    return sup.has(path) ? WITHHELD : 'none';
  }
  return fmt(v);
}

const pct = (v) => (v === null || v === undefined ? 'none' : PERCENT.format(v));
const money = (v) => (v === null || v === undefined ? 'none' : GBP.format(v));

// A code's name from the reference list, else the code in words ("8_11" -> "8 to 11").
// name.order(kind, codes) sorts codes as the reference list orders them (else age bands by their
// first age, the rest by code).
function namer(items) {
  const names = new Map(items.map((i) => [`${i.kind}:${i.code}`, i.name]));
  const positions = new Map(items.map((i) => [`${i.kind}:${i.code}`, i.position ?? 0]));
  const name = (kind, code) => names.get(`${kind}:${code}`) ?? (/^\d+_\d+$/.test(code) ? code.replace('_', ' to ') : words(code));
  const rank = (kind, code) => positions.get(`${kind}:${code}`) ?? (/^\d+_/.test(code) ? Number.parseInt(code, 10) : Number.MAX_SAFE_INTEGER);
  name.order = (kind, codes) => [...codes].sort((a, b) => rank(kind, a) - rank(kind, b) || a.localeCompare(b));
  return name;
}

// A chart with its table: rows are categories, series the columns. Values null are withheld (left
// out of the chart, "withheld" in the table). Returns { fig, draw }.
function chartWithTable({ id, title, rowHead, labels, series, stacked = false, horizontal = false, percent = false, paths, format }) {
  const canvas = h('canvas', { id: `chart-${id}`, 'aria-hidden': 'true' });
  const box = h('div', { class: 'app-chart' }, canvas);
  box.style.position = 'relative';
  box.style.height = `${Math.max(220, horizontal ? labels.length * 34 + 60 : 260)}px`;
  const fmt = format ?? (percent ? (x) => PERCENT.format(x) : (x) => NUMBER.format(x));
  const fig = h(
    'figure',
    { class: 'app-figure', 'aria-labelledby': `title-${id}` },
    h('h3', { class: 'govuk-heading-s', id: `title-${id}`, text: title }),
    box,
    table({
      caption: `${title}: figures`,
      captionSize: 's',
      head: [rowHead, ...series.map((s) => s.label)],
      rows: labels.map((l, i) => {
        const r = [String(l), ...series.map((s, j) => (s.data[i] === null || s.data[i] === undefined ? (paths?.(i, j) === false ? 'none' : WITHHELD) : fmt(s.data[i])))];
        r.rowHeader = true;
        return r;
      }),
      numeric: series.map((_, i) => i + 1),
      empty: 'No figures for this period.',
    }),
  );
  const draw = () => {
    if (typeof window.Chart !== 'function' || labels.length === 0) {
      box.remove();
      return;
    }
    if (series.every((s) => s.data.every((v) => v === null || v === undefined))) {
      // Nothing to draw: every figure is withheld (the table says so).
      box.replaceWith(p('No chart: every figure here is withheld.'));
      return;
    }
    if (series.some((s) => s.data.some((v) => v === null || v === undefined))) {
      box.after(h('p', { class: 'govuk-body-s app-chart-note', text: 'Withheld figures are left out of the chart: the table shows which.' }));
    }
    const axis = { beginAtZero: true, stacked, ticks: percent ? { callback: (v) => PERCENT.format(v) } : { precision: 0 } };
    new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: labels.map(String),
        datasets: series.map((s, i) => ({ label: s.label, data: s.data.map((v) => v ?? null), backgroundColor: COLOURS[i % COLOURS.length] })),
      },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: series.length > 1 } },
        scales: horizontal ? { x: { ...axis, max: percent && stacked ? 1 : undefined }, y: { stacked } } : { x: { stacked }, y: axis },
      },
    });
  };
  return { fig, draw };
}

// A two-level breakdown {row: {col: n}} as labels and series, with the withheld cells' paths.
function twoLevel(b, path, names, rowKind, colKind, sup) {
  const rows = names.order(rowKind, Object.keys(b ?? {}));
  const cols = names.order(colKind, new Set(rows.flatMap((r) => Object.keys(b[r] ?? {}))));
  return {
    labels: rows.map((r) => names(rowKind, r)),
    series: cols.map((c) => ({ label: names(colKind, c), data: rows.map((r) => b[r]?.[c] ?? (sup.has(`${path}.${r}.${c}`) ? null : 0)) })),
  };
}

function oneLevel(b, label, name) {
  const keys = Object.keys(b ?? {}).sort((x, y) => (b[y] ?? -1) - (b[x] ?? -1));
  return { labels: keys.map(name), series: [{ label, data: keys.map((k) => b[k]) }] };
}

// The runs counted by area: runs completed and in progress, their first and last end dates and
// families (a sum with a withheld run's figure in it is withheld).
export function runsByArea(items) {
  const areas = new Map();
  items.forEach((x) => {
    const key = x.local_authority?.name ?? 'Not known';
    const a = areas.get(key) ?? { done: 0, running: 0, first: x.ends_on, last: x.ends_on, started: 0, completed: 0 };
    if (x.status === 'completed') {
      a.done++;
      for (const [k, f] of [['started', 'families_started'], ['completed', 'families_completed']]) {
        a[k] = a[k] === null || typeof x[f] !== 'number' ? null : a[k] + x[f];
      }
    } else {
      a.running++;
    }
    a.first = x.ends_on < a.first ? x.ends_on : a.first;
    a.last = x.ends_on > a.last ? x.ends_on : a.last;
    areas.set(key, a);
  });
  const show = (v) => (v === null ? WITHHELD : NUMBER.format(v));
  return table({
    caption: `Programme runs by area (${NUMBER.format(items.length)} runs in ${NUMBER.format(areas.size)} areas: choose an area to list its runs)`,
    captionSize: 's',
    head: ['Area', 'Runs completed', 'Runs in progress', 'First ended', 'Last ended', 'Families started', 'Families completed'],
    numeric: [1, 2, 5, 6],
    rows: [...areas]
      .sort((x, y) => x[0].localeCompare(y[0]))
      .map(([name, a]) => Object.assign([name, NUMBER.format(a.done), NUMBER.format(a.running), date(a.first), date(a.last), show(a.started), show(a.completed)], { rowHeader: true })),
  });
}

// The headline figures, each as a large number with its label.
function headlines(items) {
  return h(
    'dl',
    { class: 'app-headlines' },
    items.map(([label, value, hint]) =>
      h('div', { class: 'app-headline' }, h('dt', { class: 'govuk-body-s govuk-!-margin-bottom-1', text: label }), h('dd', { class: 'app-headline__value', text: value }), hint ? h('dd', { class: 'govuk-body-s govuk-!-margin-bottom-0', text: hint }) : null),
    ),
  );
}

const defaultPeriod = () => {
  const t = today();
  const y = Number(t.slice(0, 4));
  return { from: `${y - 2}-${t.slice(5)}`, to: t };
};

// The briefing view. `audience` is 'licensing_body', 'licensee' or 'commissioner'.
export function briefingView(audience) {
  return async ({ query, gen }) => {
    const period = defaultPeriod();
    const from = /^\d{4}-\d{2}-\d{2}$/.test(query.from ?? '') ? query.from : period.from;
    const to = /^\d{4}-\d{2}-\d{2}$/.test(query.to ?? '') ? query.to : period.to;
    const filter = { from, to };
    if (audience !== 'commissioner') {
      filter.variant = query.variant;
    }
    if (audience === 'licensing_body') {
      filter.local_authority = query.local_authority;
      filter.organisation_id = query.organisation_id;
    }
    const chart = loadChart();
    const refs = audience === 'commissioner' ? Promise.resolve([]) : get('/v1/reference-items').then((d) => d.items ?? []).catch(() => []);
    // (A commissioner may not read the reference list: its codes read as words.)
    // The licensing body chooses among the districts that hold a site and among the organisations;
    // it and a licensee may choose a variant of the programme.
    const variants = audience === 'commissioner' ? Promise.resolve(null) : get('/v1/programme-variants').then((d) => d.items ?? []).catch(() => null);
    const choices =
      audience === 'licensing_body'
        ? Promise.all([getAll('/v1/locations', {}, 2000), getAll('/v1/organisations', {}, 1000), variants]).then(([sites, orgs, vs]) => {
            const areas = new Map();
            for (const l of sites) {
              if (l.local_authority) {
                areas.set(l.local_authority.code, l.local_authority.name);
              }
            }
            return { areas, orgs, variants: vs };
          })
        : variants.then((vs) => ({ variants: vs }));
    let report;
    try {
      report = await get('/v1/reports/delivery', { ...filter, runs_limit: RUNS_ASKED });
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        // The service names the field it refuses ("to: on or after from"): shown by that field.
        const picked = await choices;
        if (stale(gen)) return;
        const choose = chooser(audience, { from, to, query }, picked);
        render('Delivery briefing', heading('Delivery briefing'), choose);
        const [, name, detail] = /^(\w+): (.*)$/.exec(err.problem.detail ?? '') ?? [];
        const says = { to: 'The end of the period must be on or after its start', from: 'Enter the start of the period as a date', organisation_id: 'Select an organisation from the list' };
        showProblem(choose.querySelector('form'), new ApiError(422, { errors: [{ field: name ?? 'from', detail: says[name] ?? detail ?? err.message }] }), { describe: (e) => e.detail });
        return;
      }
      throw err;
    }
    const [names, picked] = await Promise.all([refs.then(namer), choices]);
    await chart;
    if (stale(gen)) return;
    const { nodes, charts, subject } = briefing(report, { audience, from, to, names, picked, query });
    // The chooser follows the title and the period, before the figures (and is not printed).
    nodes.splice(3, 0, chooser(audience, { from, to, query }, picked));
    render(`Delivery briefing: ${subject}`, ...nodes);
    for (const c of charts) {
      c.draw();
    }
  };
}

// The form that chooses the period (and, for the licensing body, the areas or organisation).
function chooser(audience, { from, to, query }, picked) {
  const specs = [
    { name: 'from', label: 'Runs ending from', type: 'date', value: from, width: 'govuk-input--width-10' },
    { name: 'to', label: 'Runs ending up to', type: 'date', value: to, width: 'govuk-input--width-10' },
  ];
  if (audience === 'licensing_body' && picked) {
    const { areas, orgs } = picked;
    const chosen = (query.local_authority ?? '').split(',').filter(Boolean);
    for (const code of chosen) {
      if (!areas.has(code)) {
        areas.set(code, code);
      }
    }
    specs.push(
      {
        name: 'local_authority',
        label: 'Areas (local authorities)',
        hint: 'Leave all unticked for the whole programme',
        type: 'checkboxes',
        small: true,
        options: [...areas].sort((a, b) => a[1].localeCompare(b[1])).map(([code, name]) => ({ value: code, text: name === code ? code : `${name} (${code})` })),
        value: chosen,
      },
      {
        name: 'organisation_id',
        label: 'Organisation',
        type: 'select',
        options: [{ value: '', text: 'Any organisation' }, ...orgs.map((o) => ({ value: o.id, text: o.name }))],
        value: query.organisation_id ?? '',
      },
    );
  }
  if (picked?.variants?.length) {
    specs.push({
      name: 'variant',
      label: 'Variant of the programme',
      type: 'select',
      options: [{ value: '', text: 'Every variant' }, ...picked.variants.map((x) => ({ value: x.code, text: words(x.code) }))],
      value: query.variant ?? '',
    });
  }
  const f = form({
    specs,
    submit: 'Show briefing',
    variant: 'secondary',
    id: 'briefing-filter',
    onSubmit: async (v) => {
      const q = { from: v.from, to: v.to };
      if (Array.isArray(v.local_authority) && v.local_authority.length) {
        q.local_authority = v.local_authority.join(',');
      }
      if (v.organisation_id) {
        q.organisation_id = v.organisation_id;
      }
      if (v.variant) {
        q.variant = v.variant;
      }
      navigate(hashWith('/briefing', q));
    },
  });
  return h('div', { class: 'app-no-print' }, h('h2', { class: 'govuk-heading-m', text: 'Choose the briefing' }), f);
}

function briefing(r, { audience, from, to, names, picked, query }) {
  const sup = new Set(r.suppressed ?? []);
  const n = (v, path) => figure(v, path, sup);
  // A ratio the service left out (null) because a figure it is made from is withheld reads
  // "withheld"; one with nothing to divide by reads "none".
  const fromWithheld = (...paths) => paths.some((x) => sup.has(x) || [...sup].some((y) => y.startsWith(`${x}.`)));
  const famWithheld = fromWithheld('families.started', 'families.completed');
  const rate = (v, withheld, fmt = pct) => (v === null || v === undefined ? (withheld ? WITHHELD : 'none') : fmt(v));
  const maleWithheld = fromWithheld('adults.total') || Object.keys(r.adults.by_relationship ?? {}).some((k) => sup.has(`adults.by_relationship.${k}.male`));
  const charts = [];
  const nodes = [];

  // Who the briefing is about.
  let subject;
  if (audience === 'licensing_body' && (query.local_authority || query.organisation_id)) {
    const parts = [];
    if (query.local_authority) {
      parts.push(query.local_authority.split(',').map((c) => picked?.areas.get(c) ?? c).join(', '));
    }
    if (query.organisation_id) {
      parts.push(picked?.orgs.find((o) => o.id === query.organisation_id)?.name ?? 'one organisation');
    }
    subject = parts.join('; ');
  } else if (audience === 'licensing_body') {
    subject = 'the whole programme';
  } else {
    const orgs = [...new Set(r.runs.items.map((x) => x.organisation_name))];
    const areas = [...new Set(r.runs.items.map((x) => x.local_authority?.name).filter(Boolean))];
    subject = audience === 'licensee' ? (orgs[0] ?? 'your organisation') : areas.length ? areas.join(', ') : 'your areas';
  }
  const variant = audience !== 'commissioner' && query.variant ? ` (${words(query.variant).toLowerCase()} variant)` : '';

  nodes.push(
    h(
      'h1',
      { class: 'govuk-heading-l', tabindex: '-1' },
      h('span', { class: 'govuk-caption-l', text: 'M-PACT delivery briefing' }),
      `M-PACT in ${subject}${variant}`,
    ),
    p(`Programme runs ending from ${date(from)} to ${date(to)}. Figures count the runs completed in that period; runs still in progress are listed but not counted.`),
    p(h('span', { class: 'govuk-body-s', text: `Prepared on ${date(today())} from the M-PACT Registry.` })),
    h('div', { class: 'app-no-print' }, button('Print or save as PDF', { type: 'button', id: 'print-briefing', onclick: () => window.print() })),
  );
  if (audience === 'commissioner' || sup.size) {
    nodes.push(
      inset(
        h('p', { class: 'govuk-body govuk-!-font-weight-bold', text: 'About small numbers' }),
        p(
          'To protect the families who took part, any count from 1 to 4 (fewer than 5) is withheld, and so is any other figure from which such a count could be worked out (for example a total less the figures shown beside it). Withheld figures read “withheld”. Outcome measures with fewer than 5 families’ scores before and after are named but not reported.',
        ),
        sup.size ? p(`${sup.size} figure${sup.size === 1 ? ' is' : 's are'} withheld in this briefing.`) : p('No figure is withheld in this briefing.'),
      ),
    );
  }

  // Headline figures.
  const fam = r.families;
  const adultsChildren = fam && r.adults.total !== null && r.children.total !== null ? r.adults.total + r.children.total : null;
  nodes.push(
    h2('Headline figures'),
    headlines([
      ['Programme runs completed', NUMBER.format(r.runs.completed), r.runs.in_progress ? `and ${NUMBER.format(r.runs.in_progress)} in progress` : null],
      ['Families started', n(fam.started, 'families.started')],
      ['Families completed', n(fam.completed, 'families.completed'), fam.completion_rate !== null ? `${pct(fam.completion_rate)} of those who started` : null],
      ['Adults and children taking part', adultsChildren === null ? (sup.has('adults.total') || sup.has('children.total') ? WITHHELD : 'none') : NUMBER.format(adultsChildren)],
      ['Sessions delivered', r.sessions.delivered_rate !== null ? pct(r.sessions.delivered_rate) : 'none', r.sessions.planned ? `${n(r.sessions.delivered, 'sessions.delivered')} of ${n(r.sessions.planned, 'sessions.planned')} planned` : null],
      ['Cost per family completed', rate(r.cost.per_family_completed_gbp, famWithheld, money)],
      ['Social return (estimate)', rate(r.sroi.ratio, famWithheld, (x) => `£${DECIMAL.format(x)} per £1`), 'An estimate: see “Cost and value”'],
    ]),
  );

  // Compared with the previous period.
  if (r.previous) {
    // A period without a completed run has no sums: its figures are 0.
    const before = (key) => (r.previous.runs === 0 ? '0' : n(r.previous[key], `previous.${key}`));
    const row = (label, key, now) => [label, now, before(key)];
    const t = table({
      caption: 'Compared with the previous period of the same length',
      captionSize: 's',
      head: ['Figure', 'This period', 'Previous period'],
      numeric: [1, 2],
      rows: [
        row('Programme runs completed', 'runs', NUMBER.format(r.runs.completed)),
        row('Families started', 'families_started', n(fam.started, 'families.started')),
        row('Families completed', 'families_completed', n(fam.completed, 'families.completed')),
        row('Adults', 'adults', n(r.adults.total, 'adults.total')),
        row('Children', 'children', n(r.children.total, 'children.total')),
      ].map((x) => Object.assign(x, { rowHeader: true })),
    });
    nodes.push(t);
  }

  // The runs: listed one by one, or, when there are more than a paper can hold, by area (the
  // list of each area is one choice away).
  const items = r.runs.items;
  const runList = table({
    caption: `Programme runs (${items.length})`,
    captionSize: 's',
    head: ['Organisation', 'Site', 'Area', 'Started', 'Ended', 'Variant', 'Status', 'Families started', 'Families completed'],
    numeric: [7, 8],
    empty: 'No programme run ended in this period.',
    rows: items.map((x, i) => [
      x.organisation_name,
      x.site_name,
      x.local_authority?.name ?? 'Not known',
      date(x.starts_on),
      date(x.ends_on),
      words(x.variant),
      x.status === 'running' ? 'In progress' : words(x.status),
      x.status === 'completed' ? n(x.families_started, `runs.items.${i}.families_started`) : '',
      x.status === 'completed' ? n(x.families_completed, `runs.items.${i}.families_completed`) : '',
    ]),
  });
  nodes.push(h2('Where and when M-PACT ran'), items.length <= MAX_RUNS_LISTED ? runList : runsByArea(items));
  if (r.runs.items_truncated) {
    nodes.push(inset(`The ${NUMBER.format(items.length)} runs that ended first are counted here by area, of ${NUMBER.format(r.runs.completed + r.runs.in_progress)} in the period; every figure below counts them all. Choose an area or a shorter period to see each run.`));
  }

  if (r.runs.completed === 0) {
    // Nothing completed: no figures to report (the runs in progress, if any, are listed above).
    nodes.push(inset('No programme run was completed in this period, so there are no figures to report. Choose a longer or earlier period.'));
    return { nodes, charts, subject };
  }

  // Families: referred to completed.
  nodes.push(
    h2('Families'),
    summaryList([
      ['Referred', n(fam.referred, 'families.referred')],
      ['Assessed', n(fam.assessed, 'families.assessed')],
      ['Started', n(fam.started, 'families.started')],
      ['Completed', n(fam.completed, 'families.completed')],
      ['Completion rate', rate(fam.completion_rate, famWithheld)],
      ['Places filled', fam.places_filled !== null ? `${pct(fam.places_filled)} of ${n(fam.capacity, 'families.capacity')} places` : rate(null, fromWithheld('families.started'))],
    ]),
  );

  // Who came.
  const adults = twoLevel(r.adults.by_relationship, 'adults.by_relationship', names, 'carer_relationship', 'gender', sup);
  const children = twoLevel(r.children.by_age_band, 'children.by_age_band', names, 'age_band', 'gender', sup);
  const a = chartWithTable({ id: 'adults', title: 'Adults by relationship to the child', rowHead: 'Relationship', ...adults, stacked: true, horizontal: true });
  const c = chartWithTable({ id: 'children', title: 'Children by age', rowHead: 'Age', ...children, stacked: true });
  charts.push(a, c);
  nodes.push(
    h2('Who came'),
    p(`${n(r.adults.total, 'adults.total')} adults and ${n(r.children.total, 'children.total')} children took part.${r.adults.male_share !== null ? ` ${pct(r.adults.male_share)} of the adults were men.` : maleWithheld ? ' The share of men among the adults is withheld.' : ''}`),
    a.fig,
    c.fig,
  );

  // Referrals in and out.
  const refsIn = oneLevel(r.referrals_by_source, 'Families referred', (k) => names('referral_source', k));
  const refsOut = oneLevel(r.onward_referrals, 'Onward referrals', (k) => names('onward_referral', k));
  const ri = chartWithTable({ id: 'referrals', title: 'Where referrals came from', rowHead: 'Source', ...refsIn, horizontal: true });
  const ro = chartWithTable({ id: 'onward', title: 'Where families were referred on to', rowHead: 'Service', ...refsOut, horizontal: true });
  charts.push(ri, ro);
  nodes.push(h2('Referrals in and out'), ri.fig, ro.fig);
  // Families who asked about a place through the finder (counted by organisation, so not in a
  // report of areas).
  const enq = r.enquiries;
  const asked = enq ? enq.delivered + enq.failed : 0;
  if (enq && asked > 0) {
    const who = { self: 'For themselves', family_member: 'For a family member', professional: 'Professionals' };
    nodes.push(
      p(`${NUMBER.format(asked)} ${asked === 1 ? 'enquiry was' : 'enquiries were'} sent through “Ask about a place” in these months${enq.failed ? ` (${NUMBER.format(enq.failed)} could not be delivered)` : ''}.`),
      table({
        caption: 'Enquiries through “Ask about a place”, by who asked',
        captionSize: 's',
        head: ['Who asked', 'Enquiries'],
        numeric: [1],
        rows: Object.entries(enq.by_who).map(([k, v]) => Object.assign([who[k] ?? words(k), NUMBER.format(v)], { rowHeader: true })),
      }),
    );
  }

  // Sessions.
  nodes.push(
    h2('Sessions'),
    summaryList([
      ['Sessions delivered', `${n(r.sessions.delivered, 'sessions.delivered')} of ${n(r.sessions.planned, 'sessions.planned')} planned (${pct(r.sessions.delivered_rate)})`],
      ['Runs that held a review', n(r.sessions.review_held, 'sessions.review_held')],
      ['Runs that held a reunion', n(r.sessions.reunion_held, 'sessions.reunion_held')],
    ]),
  );

  // Outcomes.
  const reported = r.outcomes.filter((o) => typeof o.mean_change === 'number');
  const withheldMeasures = r.outcomes.filter((o) => o.n === null);
  const improvement = (o) => (typeof o.effect_size_dz === 'number' ? (o.higher_is_better ? o.effect_size_dz : -o.effect_size_dz) : null);
  const oc = chartWithTable({
    id: 'outcomes',
    title: 'Size of the change, by measure (effect size; above 0 is an improvement)',
    rowHead: 'Measure',
    labels: reported.map((o) => o.measure_name),
    series: [{ label: 'Effect size (d_z), signed so that an improvement is positive', data: reported.map(improvement) }],
    horizontal: true,
    paths: () => false,
    format: (x) => DECIMAL.format(x),
  });
  const dec = (v) => (typeof v === 'number' ? DECIMAL.format(v) : 'none');
  nodes.push(
    h2('What changed for families'),
    p('Each measure compares the scores of the same people before and after the programme. The 95% confidence interval is the range the true mean change is likely to lie in; a p-value below 0.05 means the change is unlikely to be chance alone.'),
    table({
      caption: 'Outcome measures: change from before to after',
      captionSize: 's',
      head: ['Measure', 'Runs', 'People (pairs)', 'Mean before', 'Mean after', 'Mean change', '95% confidence interval', 'p-value', 'Effect size (d_z)', 'Change'],
      numeric: [1, 2, 3, 4, 5, 7, 8],
      empty: 'No outcome scores for this period.',
      rows: r.outcomes.map((o) => {
        if (o.n === null) {
          return Object.assign([o.measure_name, NUMBER.format(o.runs), 'fewer than 5', WITHHELD, WITHHELD, WITHHELD, WITHHELD, WITHHELD, WITHHELD, WITHHELD], { rowHeader: true });
        }
        return Object.assign(
          [
            o.measure_name,
            NUMBER.format(o.runs),
            NUMBER.format(o.n),
            dec(o.mean_before),
            dec(o.mean_after),
            dec(o.mean_change),
            Array.isArray(o.ci95) ? `${dec(o.ci95[0])} to ${dec(o.ci95[1])}` : 'none',
            typeof o.p_value === 'number' ? (o.p_value < 0.001 ? 'below 0.001' : o.p_value.toFixed(3)) : 'none',
            dec(o.effect_size_dz),
            words(o.change ?? '') || 'none',
          ],
          { rowHeader: true },
        );
      }),
    }),
    reported.length ? oc.fig : null,
    withheldMeasures.length ? p(`${withheldMeasures.length} measure${withheldMeasures.length === 1 ? ' has' : 's have'} fewer than 5 pairs of scores and ${withheldMeasures.length === 1 ? 'is' : 'are'} not reported.`) : null,
  );
  if (reported.length) {
    charts.push(oc);
  }

  // Feedback.
  const statements = names.order('feedback_statement', Object.keys(r.feedback ?? {}));
  const shown = statements.filter((s) => r.feedback[s].shares);
  const fb = chartWithTable({
    id: 'feedback',
    title: 'What families said (share of answers)',
    rowHead: 'Statement',
    labels: shown.map((s) => names('feedback_statement', s)),
    series: ['agree', 'neither', 'disagree'].map((k) => ({ label: words(k === 'neither' ? 'neither_agree_nor_disagree' : k), data: shown.map((s) => r.feedback[s].shares[k]) })),
    stacked: true,
    horizontal: true,
    percent: true,
    paths: () => false,
  });
  nodes.push(
    h2('Feedback'),
    shown.length ? fb.fig : null,
    table({
      caption: 'Feedback: number of answers',
      captionSize: 's',
      head: ['Statement', 'Agree', 'Neither', 'Disagree'],
      numeric: [1, 2, 3],
      empty: 'No feedback for this period.',
      rows: statements.map((s) => Object.assign([names('feedback_statement', s), ...['agree', 'neither', 'disagree'].map((k) => n(r.feedback[s][k], `feedback.${s}.${k}`))], { rowHeader: true })),
    }),
  );
  if (shown.length) {
    charts.push(fb);
  }

  // Cost and value.
  const prm = r.sroi.parameters ?? {};
  nodes.push(
    h2('Cost and value'),
    summaryList([
      ['Total cost', r.cost.total_gbp !== null ? `${money(r.cost.total_gbp)} (${NUMBER.format(r.cost.costed_runs ?? 0)} run${r.cost.costed_runs === 1 ? '' : 's'} with a cost recorded)` : 'none'],
      ['Cost per family started', rate(r.cost.per_family_started_gbp, famWithheld, money)],
      ['Cost per family completed', rate(r.cost.per_family_completed_gbp, famWithheld, money)],
      ['Social return on investment (estimate)', `Estimate: ${rate(r.sroi.ratio, famWithheld, (x) => `£${DECIMAL.format(x)} saved for every £1 spent`)}`],
      ['How the estimate is made', `${prm.savings_per_family_gbp !== undefined ? money(prm.savings_per_family_gbp) : 'A saving'} per family completed${prm.source ? `, from ${prm.source}` : ''}${prm.year ? ` (${prm.year})` : ''}, times the families completed in the runs with a cost, divided by their cost.`],
    ]),
    p('The social return is an estimate, not a measured saving: it applies a saving per family from an earlier study to the families who completed.'),
  );

  // By year.
  const series = r.series ?? [];
  const yc = chartWithTable({
    id: 'years',
    title: 'Families by year the run ended',
    rowHead: 'Year',
    labels: series.map((s) => s.year),
    series: [
      { label: 'Families started', data: series.map((s) => s.families_started) },
      { label: 'Families completed', data: series.map((s) => s.families_completed) },
    ],
  });
  charts.push(yc);
  nodes.push(h2('Year by year'), yc.fig);

  return { nodes, charts, subject };
}
