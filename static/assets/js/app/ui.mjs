// ui.mjs: GOV.UK Frontend components built with createElement and textContent only. Nothing here
// ever parses a string as HTML, so text from the API can never become markup.

// h('p', { class: 'govuk-body' }, 'text', child, ...): an element. Attributes: `class`, `text`
// (textContent), `on<event>` (a listener), booleans (set when true), everything else with
// setAttribute. Children: nodes, strings (text nodes), arrays of them; null/false are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) {
      continue;
    }
    if (k === 'text') {
      el.textContent = String(v);
    } else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) {
      continue;
    }
    if (Array.isArray(c)) {
      append(el, c);
    } else if (c instanceof Node) {
      el.append(c);
    } else {
      el.append(document.createTextNode(String(c)));
    }
  }
}

export function clear(el) {
  while (el.firstChild) {
    el.firstChild.remove();
  }
}

// Codes in words: the codes whose words are not their own letters (an acronym, a role), so that
// no label is made by capitalising a code ("NHS", not "Nhs"). Everything else reads as its code
// with spaces ("in_training" -> "In training").
export const LABELS = {
  nhs: 'NHS',
  local_authority: 'Local authority',
  api_client: 'API client',
  admin: 'Licensing body admin',
  org_admin: 'Organisation admin',
  org_staff: 'Organisation staff',
  commissioner: 'Commissioner',
  command_line: 'Command line',
  not_found: 'Not found',
  not_eligible: 'Not eligible',
  awaiting_outcomes: 'Awaiting outcomes',
  training_session: 'Training session',
  status_changed: 'Status changed',
  gp: 'GP',
  camhs: 'CAMHS',
  url: 'Web address',
  id: 'ID',
};

// A readable label for a code: LABELS, else "in_training" -> "In training".
export function words(code) {
  if (code === null || code === undefined || code === '') {
    return '';
  }
  if (Object.hasOwn(LABELS, code)) {
    return LABELS[code];
  }
  const s = String(code).replace(/[_.]/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// One formatter for every date shown: "2 December 2026"; a moment as "2 December 2026 at 7:19am"
// (UK time). Dates are never shown as numbers or abbreviations.
const LONG_DATE = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const LONDON_DATE = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'Europe/London',
});
const LONDON_TIME = new Intl.DateTimeFormat('en-GB', {
  hour: 'numeric',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'Europe/London',
});

const moment = (value) => {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
};

// The GOV.UK style's time: "7:19am", "12:05pm", "midnight", "midday".
function clock(d) {
  const parts = Object.fromEntries(LONDON_TIME.formatToParts(d).map((x) => [x.type, x.value]));
  const hour = Number(parts.hour);
  const minute = parts.minute;
  if (minute === '00' && (hour === 0 || hour === 12)) {
    return hour === 0 ? 'midnight' : 'midday';
  }
  return `${hour % 12 === 0 ? 12 : hour % 12}:${minute}${hour < 12 ? 'am' : 'pm'}`;
}

// "2026-03-31" -> "31 March 2026"; a timestamp -> its day in the UK, "31 March 2026". Empty ->
// "Not set".
export function date(value) {
  if (!value) {
    return 'Not set';
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return LONG_DATE.format(new Date(`${value}T00:00:00Z`));
  }
  const d = moment(value);
  return d ? LONDON_DATE.format(d) : String(value);
}

// A timestamp -> "31 March 2026 at 2:05pm" (UK time). A date alone is shown as date() does.
export function dateTime(value) {
  if (!value || /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return date(value);
  }
  const d = moment(value);
  return d ? `${LONDON_DATE.format(d)} at ${clock(d)}` : String(value);
}

// Today's date in the UK as YYYY-MM-DD.
export function today() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
  return parts.slice(0, 10);
}

export function heading(text, { caption, size = 'l' } = {}) {
  return h(
    'h1',
    { class: `govuk-heading-${size}`, tabindex: '-1' },
    caption ? h('span', { class: `govuk-caption-${size}`, text: caption }) : null,
    text,
  );
}

export function h2(text, size = 'm') {
  return h('h2', { class: `govuk-heading-${size}`, text });
}

export function p(...children) {
  return h('p', { class: 'govuk-body' }, ...children);
}

export function link(text, href, attrs = {}) {
  return h('a', { class: 'govuk-link', href, ...attrs }, text);
}

// Status tags: one colour per status wherever a status is shown (the public pages in
// server/pages.c use the same colours for the statuses they show); the text says what it is.
// Blue: not started yet; turquoise: under way; green: good to go or done well; yellow: waiting
// for someone; orange: running out; red: stopped or refused; grey: over.
export const TAG_COLOURS = {
  active: 'green',
  accredited: 'green',
  passed: 'green',
  completed: 'green',
  eligible: 'green',
  delivered: 'green',
  found: 'green',
  improved: 'green',
  pending: 'blue',
  planned: 'blue',
  scheduled: 'blue',
  enrolled: 'blue',
  in_training: 'blue',
  recruiting: 'light-blue',
  running: 'turquoise',
  attended: 'turquoise',
  awaiting_outcomes: 'yellow',
  retry: 'yellow',
  lapsed: 'orange',
  failing: 'orange',
  suspended: 'red',
  revoked: 'red',
  failed: 'red',
  not_found: 'red',
  not_eligible: 'red',
  dead: 'red',
  worsened: 'red',
  expired: 'grey',
  withdrawn: 'grey',
  cancelled: 'grey',
  none: 'grey',
  archived: 'grey',
  inactive: 'grey',
  unchanged: 'grey',
};

export function tag(status, text) {
  const colour = TAG_COLOURS[status ?? 'none'];
  return h('strong', {
    class: `govuk-tag${colour ? ` govuk-tag--${colour}` : ''}`,
    text: text ?? words(status ?? 'none'),
  });
}

// table({ caption, head: ['A', 'B'], rows: [[cell, cell]], numeric: [1] }): cells are text or
// nodes. `numeric` lists column indexes aligned right.
//
// On a phone a table of more than three columns is drawn as a list of its rows (`stack`), each
// cell under its column's name, so nothing needs scrolling; the ARIA roles keep it a table for
// screen readers whatever its CSS display. Narrower tables keep their shape.
export function table({ caption, head, rows, numeric = [], captionSize = 'm', empty, stack = head.length > 3 }) {
  if (rows.length === 0 && empty) {
    return p(empty);
  }
  const num = new Set(numeric);
  const headText = head.map((t) => (t instanceof Node ? t.textContent : String(t ?? '')));
  const roles = (role) => (stack ? role : null);
  // A wide table scrolls sideways on a phone; the scrolling region takes keyboard focus (WCAG
  // 2.1.1) and is named by the caption.
  const wrap = h(
    'div',
    { class: 'app-table-wrapper', tabindex: '0', role: 'region', 'aria-label': caption ?? 'Table' },
    h(
      'table',
      { class: `govuk-table${stack ? ' app-table--stack' : ''}`, role: roles('table') },
      caption ? h('caption', { class: `govuk-table__caption govuk-table__caption--${captionSize}`, text: caption }) : null,
      h(
        'thead',
        { class: 'govuk-table__head', role: roles('rowgroup') },
        h(
          'tr',
          { class: 'govuk-table__row', role: roles('row') },
          head.map((t, i) =>
            h('th', { scope: 'col', role: roles('columnheader'), class: `govuk-table__header${num.has(i) ? ' govuk-table__header--numeric' : ''}` }, t),
          ),
        ),
      ),
      h(
        'tbody',
        { class: 'govuk-table__body', role: roles('rowgroup') },
        rows.map((r) =>
          h(
            'tr',
            { class: 'govuk-table__row', role: roles('row') },
            r.map((c, i) =>
              i === 0 && r.rowHeader
                ? h('th', { scope: 'row', role: roles('rowheader'), class: 'govuk-table__header' }, c)
                : h('td', { role: roles('cell'), 'data-label': stack && headText[i] ? headText[i] : null, class: `govuk-table__cell${num.has(i) ? ' govuk-table__cell--numeric' : ''}` }, c ?? ''),
            ),
          ),
        ),
      ),
    ),
  );
  // Wide tables scroll sideways on a phone (set through the CSSOM, which the CSP allows); a
  // visible hint above says so while the table is wider than its region.
  wrap.style.overflowX = 'auto';
  return scrollHinted(wrap);
}

// Puts a hint above a scrolling region (`wrap`, an .app-table-wrapper) that shows only while its
// content is wider than the region. Returns the block of both.
export function scrollHinted(wrap) {
  const hint = h(
    'p',
    { class: 'govuk-body-s app-scroll-hint', id: `scroll-hint-${++uid}`, hidden: true },
    h('span', { 'aria-hidden': 'true', text: '\u2194 ' }),
    'Scroll the table sideways to see all its columns',
  );
  wrap.setAttribute('aria-describedby', hint.id);
  const update = () => {
    hint.hidden = !(wrap.scrollWidth > wrap.clientWidth + 1);
  };
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(update);
    ro.observe(wrap);
    const inner = wrap.firstElementChild;
    if (inner) {
      ro.observe(inner);
    }
  }
  return h('div', { class: 'app-table' }, hint, wrap);
}

// summaryList([['Key', value], ...]): values are text or nodes; empty values read "Not set".
export function summaryList(rows) {
  return h(
    'dl',
    { class: 'govuk-summary-list' },
    rows
      .filter((r) => r)
      .map(([k, v]) =>
        h(
          'div',
          { class: 'govuk-summary-list__row' },
          h('dt', { class: 'govuk-summary-list__key', text: k }),
          h('dd', { class: 'govuk-summary-list__value' }, v === null || v === undefined || v === '' ? 'Not set' : v),
        ),
      ),
  );
}

export function button(text, { variant, type = 'submit', onclick, id } = {}) {
  return h('button', {
    type,
    id,
    class: `govuk-button${variant ? ` govuk-button--${variant}` : ''}`,
    'data-module': 'govuk-button',
    onclick,
    text,
  });
}

export function buttonLink(text, href, variant) {
  return h('a', {
    href,
    role: 'button',
    draggable: 'false',
    class: `govuk-button${variant ? ` govuk-button--${variant}` : ''}`,
    'data-module': 'govuk-button',
    text,
  });
}

export function buttonGroup(...children) {
  return h('div', { class: 'govuk-button-group' }, ...children);
}

// A notification banner: success (role alert, focused) or important information.
export function banner(title, body, { success = false } = {}) {
  const el = h(
    'div',
    {
      class: `govuk-notification-banner${success ? ' govuk-notification-banner--success' : ''}`,
      role: success ? 'alert' : 'region',
      'aria-labelledby': 'banner-title',
      tabindex: '-1',
    },
    h(
      'div',
      { class: 'govuk-notification-banner__header' },
      h('h2', { class: 'govuk-notification-banner__title', id: 'banner-title', text: success ? 'Success' : 'Important' }),
    ),
    h(
      'div',
      { class: 'govuk-notification-banner__content' },
      h('p', { class: 'govuk-notification-banner__heading', text: title }),
      body,
    ),
  );
  return el;
}

export function inset(...children) {
  return h('div', { class: 'govuk-inset-text' }, ...children);
}

export function warning(text) {
  return h(
    'div',
    { class: 'govuk-warning-text' },
    h('span', { class: 'govuk-warning-text__icon', 'aria-hidden': 'true', text: '!' }),
    h('strong', { class: 'govuk-warning-text__text' }, h('span', { class: 'govuk-visually-hidden', text: 'Warning' }), text),
  );
}

export function details(summary, ...children) {
  return h(
    'details',
    { class: 'govuk-details' },
    h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text', text: summary })),
    h('div', { class: 'govuk-details__text' }, ...children),
  );
}

// The error summary: errors are [{ href: '#f-name', text }]. Put it first in main and focus it.
export function errorSummary(errors, title = 'There is a problem') {
  return h(
    'div',
    { class: 'govuk-error-summary', 'data-module': 'govuk-error-summary', tabindex: '-1' },
    h(
      'div',
      { role: 'alert' },
      h('h2', { class: 'govuk-error-summary__title', text: title }),
      h(
        'div',
        { class: 'govuk-error-summary__body' },
        h(
          'ul',
          { class: 'govuk-list govuk-error-summary__list' },
          errors.map((e) =>
            h(
              'li',
              {},
              e.href
                ? h('a', {
                    href: e.href,
                    text: e.text,
                    onclick: (ev) => {
                      // Hash links route; move focus to the field instead.
                      ev.preventDefault();
                      const target = document.getElementById(e.href.slice(1));
                      target?.focus();
                      target?.scrollIntoView({ block: 'center' });
                    },
                  })
                : e.text,
            ),
          ),
        ),
      ),
    ),
  );
}

let uid = 0;

// The example in every date input's hint (GOV.UK's pattern: day, month and year as numbers).
const EXAMPLE_DATE = `27 3 ${new Date().getUTCFullYear() + 1}`;

// A form field. spec: { name, label, type: text|email|date|number|time|textarea|select|radios|
// checkboxes|checkbox|password|url, hint, value, options: [{ value, text, hint }], width (govuk-input--width-N
// or govuk-!-width-...), autocomplete, required, inputmode }. Returns the form group; the
// control's id is `f-<name>` (radios and checkboxes: the first item), which error summaries link to.
export function field(spec) {
  const id = `f-${spec.name}`;
  const hintId = spec.hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const group = h('div', { class: 'govuk-form-group', 'data-field': spec.name });
  const describe = hintId ?? undefined;
  const hint = spec.hint ? h('div', { class: 'govuk-hint', id: hintId, text: spec.hint }) : null;
  const type = spec.type ?? 'text';

  if (type === 'radios' || type === 'checkboxes') {
    const kind = type === 'radios' ? 'radio' : 'checkbox';
    const values = new Set(Array.isArray(spec.value) ? spec.value : spec.value !== undefined && spec.value !== null ? [String(spec.value)] : []);
    const fs = h(
      'fieldset',
      { class: 'govuk-fieldset', 'aria-describedby': describe },
      h('legend', { class: `govuk-fieldset__legend govuk-fieldset__legend--${spec.legendSize ?? 's'}`, text: spec.label }),
      hint,
      h(
        'div',
        { class: `govuk-${type}${spec.small ? ` govuk-${type}--small` : ''}`, 'data-module': `govuk-${type}` },
        spec.options.map((o, i) => {
          const oid = i === 0 ? id : `${id}-${++uid}`;
          const ohint = o.hint ? `${oid}-hint` : null;
          return h(
            'div',
            { class: `govuk-${type}__item` },
            h('input', {
              class: `govuk-${type}__input`,
              id: oid,
              name: spec.name,
              type: kind,
              value: o.value,
              checked: values.has(String(o.value)),
              'aria-describedby': ohint,
            }),
            h('label', { class: `govuk-label govuk-${type}__label`, for: oid, text: o.text }),
            o.hint ? h('div', { class: `govuk-hint govuk-${type}__hint`, id: ohint, text: o.hint }) : null,
          );
        }),
      ),
    );
    group.append(fs);
    return group;
  }

  if (type === 'date') {
    // The GOV.UK date input: day, month and year in three boxes, in a fieldset named by the label.
    // The day box has the id `f-<name>` (what error summaries link to); read by forms.values().
    const [y, m, d] = /^\d{4}-\d{2}-\d{2}$/.test(spec.value ?? '') ? spec.value.split('-') : ['', '', ''];
    const hintText = spec.hint ? `${spec.hint}. For example, ${EXAMPLE_DATE}` : `For example, ${EXAMPLE_DATE}`;
    const part = (key, text, value, width) => {
      const pid = key === 'day' ? id : `${id}-${key}`;
      const input = h('input', {
        class: `govuk-input govuk-date-input__input govuk-input--width-${width}`,
        id: pid,
        name: `${spec.name}-${key}`,
        type: 'text',
        inputmode: 'numeric',
        'data-date-part': key,
      });
      input.value = value ? String(Number(value)) : '';
      return h(
        'div',
        { class: 'govuk-date-input__item' },
        h('div', { class: 'govuk-form-group' }, h('label', { class: 'govuk-label govuk-date-input__label', for: pid, text }), input),
      );
    };
    group.append(
      h(
        'fieldset',
        { class: 'govuk-fieldset', role: 'group', 'aria-describedby': hintId ?? `${id}-hint` },
        h('legend', { class: `govuk-fieldset__legend govuk-fieldset__legend--${spec.legendSize ?? 's'}`, text: spec.label }),
        h('div', { class: 'govuk-hint', id: hintId ?? `${id}-hint`, text: hintText }),
        h('div', { class: 'govuk-date-input', id: `${id}-date` }, part('day', 'Day', d, 2), part('month', 'Month', m, 2), part('year', 'Year', y, 4)),
      ),
    );
    return group;
  }

  if (type === 'checkbox') {
    // One yes/no checkbox; its value is read as a boolean.
    group.append(
      h(
        'div',
        { class: 'govuk-checkboxes govuk-checkboxes--small', 'data-module': 'govuk-checkboxes' },
        h(
          'div',
          { class: 'govuk-checkboxes__item' },
          h('input', {
            class: 'govuk-checkboxes__input',
            id,
            name: spec.name,
            type: 'checkbox',
            value: 'true',
            checked: Boolean(spec.value),
            'aria-describedby': describe,
          }),
          h('label', { class: 'govuk-label govuk-checkboxes__label', for: id, text: spec.label }),
          spec.hint ? h('div', { class: 'govuk-hint govuk-checkboxes__hint', id: hintId, text: spec.hint }) : null,
        ),
      ),
    );
    return group;
  }

  group.append(h('label', { class: `govuk-label${spec.labelSize ? ` govuk-label--${spec.labelSize}` : ''}`, for: id, text: spec.label }));
  if (hint) {
    group.append(hint);
  }
  let control;
  if (type === 'select') {
    control = h(
      'select',
      { class: 'govuk-select', id, name: spec.name, 'aria-describedby': describe },
      spec.options.map((o) => h('option', { value: o.value, selected: String(o.value) === String(spec.value ?? ''), text: o.text })),
    );
  } else if (type === 'textarea') {
    control = h('textarea', {
      class: 'govuk-textarea',
      id,
      name: spec.name,
      rows: spec.rows ?? 5,
      'aria-describedby': describe,
      spellcheck: spec.spellcheck,
    });
    control.value = spec.value ?? '';
  } else {
    control = h('input', {
      class: `govuk-input${spec.width ? ` ${spec.width}` : ''}`,
      id,
      name: spec.name,
      type: type === 'number' ? 'text' : type,
      inputmode: type === 'number' ? 'numeric' : spec.inputmode,
      autocomplete: spec.autocomplete,
      spellcheck: spec.spellcheck,
      'aria-describedby': describe,
    });
    control.value = spec.value ?? '';
  }
  group.append(control);
  return group;
}

// Marks a form group as in error with `texts` (a string or a list, each shown on its own line:
// the very words of the error summary) as GOV.UK does: the message above the control.
export function setFieldError(group, texts, parts = null) {
  const list = Array.isArray(texts) ? texts : [texts];
  group.classList.add('govuk-form-group--error');
  const msgId = `${group.dataset.field ? `f-${group.dataset.field}` : `g${++uid}`}-error`;
  const msg = h(
    'p',
    { class: 'govuk-error-message', id: msgId },
    h('span', { class: 'govuk-visually-hidden', text: 'Error: ' }),
    list.flatMap((t, i) => (i ? [h('br'), h('span', { 'data-error': '', text: t })] : [h('span', { 'data-error': '', text: t })])),
  );
  const anchor = group.querySelector('.govuk-hint') ?? group.querySelector('label, legend');
  const fieldset = group.querySelector('fieldset');
  if (fieldset) {
    const legendHint = fieldset.querySelector(':scope > .govuk-hint') ?? fieldset.querySelector('legend');
    legendHint.after(msg);
    fieldset.setAttribute('aria-describedby', `${fieldset.getAttribute('aria-describedby') ?? ''} ${msgId}`.trim());
  } else {
    anchor.after(msg);
  }
  // A date input: the boxes named in `parts` (all three when none is named).
  const dateParts = [...group.querySelectorAll('input[data-date-part]')];
  const marked = parts?.length ? dateParts.filter((i) => parts.includes(i.dataset.datePart)) : dateParts;
  const controls = dateParts.length ? marked : [group.querySelector('input.govuk-input, select, textarea')].filter(Boolean);
  for (const control of controls) {
    control.classList.add(control.tagName === 'SELECT' ? 'govuk-select--error' : control.tagName === 'TEXTAREA' ? 'govuk-textarea--error' : 'govuk-input--error');
    if (!dateParts.length) {
      control.setAttribute('aria-describedby', `${control.getAttribute('aria-describedby') ?? ''} ${msgId}`.trim());
    }
  }
}

export function clearFieldErrors(form) {
  for (const g of form.querySelectorAll('.govuk-form-group--error')) {
    g.classList.remove('govuk-form-group--error');
  }
  for (const m of form.querySelectorAll('.govuk-error-message')) {
    m.remove();
  }
  for (const fs of form.querySelectorAll('fieldset[aria-describedby]')) {
    const ids = fs.getAttribute('aria-describedby').split(' ').filter((x) => x && !x.endsWith('-error'));
    if (ids.length) {
      fs.setAttribute('aria-describedby', ids.join(' '));
    } else {
      fs.removeAttribute('aria-describedby');
    }
  }
  for (const c of form.querySelectorAll('.govuk-input--error, .govuk-select--error, .govuk-textarea--error')) {
    c.classList.remove('govuk-input--error', 'govuk-select--error', 'govuk-textarea--error');
    const ids = (c.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && !x.endsWith('-error'));
    if (ids.length) {
      c.setAttribute('aria-describedby', ids.join(' '));
    } else {
      c.removeAttribute('aria-describedby');
    }
  }
}

// Pagination from `next_cursor`: keyset cursors only go forward, so "Previous" goes back through
// the cursors this page has seen. onPage(cursor) loads a page.
export function pagination({ prev, next }) {
  if (!prev && !next) {
    return null;
  }
  return h(
    'nav',
    { class: 'govuk-pagination govuk-pagination--block', 'aria-label': 'Pagination' },
    prev
      ? h(
          'div',
          { class: 'govuk-pagination__prev' },
          h(
            'a',
            { class: 'govuk-link govuk-pagination__link', href: '#', rel: 'prev', onclick: (e) => (e.preventDefault(), prev()) },
            h('span', { class: 'govuk-pagination__link-title', text: 'Previous page' }),
          ),
        )
      : null,
    next
      ? h(
          'div',
          { class: 'govuk-pagination__next' },
          h(
            'a',
            { class: 'govuk-link govuk-pagination__link', href: '#', rel: 'next', onclick: (e) => (e.preventDefault(), next()) },
            h('span', { class: 'govuk-pagination__link-title', text: 'Next page' }),
          ),
        )
      : null,
  );
}

export function backLink(href, text = 'Back') {
  return h('a', { href, class: 'govuk-back-link', text });
}

// A key-value grid for a panel with a secret shown once.
export function secretPanel(title, rows) {
  return h(
    'div',
    { class: 'govuk-panel govuk-panel--confirmation', role: 'status' },
    h('h2', { class: 'govuk-panel__title', text: title }),
    h(
      'div',
      { class: 'govuk-panel__body' },
      rows.map(([k, v]) => {
        const code = h('code', { class: 'app-secret', text: v });
        code.style.overflowWrap = 'anywhere';
        return h('p', {}, `${k}: `, code);
      }),
    ),
  );
}

// Eligibility reason codes (SQL facilitator_eligibility, and the programme rules) in words.
export const REASON_WORDS = {
  not_accredited: 'They are not accredited.',
  accreditation_lapsed: 'Their accreditation had lapsed.',
  suspended: 'They are suspended.',
  withdrawn: 'They have been withdrawn from the register.',
  no_current_employer: 'They had no employer on that date.',
  employer_licence_not_active: 'Their employer did not hold an active licence on that date.',
  employed_by_another_organisation: 'They work for another organisation.',
};
