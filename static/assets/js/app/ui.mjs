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

// A readable label for a code: "in_training" -> "In training".
export function words(code) {
  if (code === null || code === undefined || code === '') {
    return '';
  }
  const s = String(code).replace(/[_.]/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const LONG_DATE = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'Europe/London',
});

// "2026-03-31" -> "31 March 2026"; timestamps -> "31 Mar 2026, 14:05". Empty -> "Not set".
export function date(value) {
  if (!value) {
    return 'Not set';
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return LONG_DATE.format(new Date(`${value}T00:00:00Z`));
  }
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : DATE_TIME.format(d);
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

// Status tags: the colour says how the status reads, the text says what it is.
const TAG_COLOURS = {
  active: 'green',
  accredited: 'green',
  passed: 'green',
  completed: 'green',
  eligible: 'green',
  delivered: 'green',
  found: 'green',
  pending: 'blue',
  planned: 'blue',
  scheduled: 'blue',
  awaiting_outcomes: 'yellow',
  recruiting: 'light-blue',
  running: 'turquoise',
  enrolled: 'blue',
  attended: 'turquoise',
  in_training: 'light-blue',
  suspended: 'orange',
  lapsed: 'yellow',
  failing: 'orange',
  expired: 'grey',
  withdrawn: 'grey',
  cancelled: 'grey',
  none: 'grey',
  archived: 'grey',
  revoked: 'red',
  failed: 'red',
  not_found: 'red',
  not_eligible: 'red',
  dead: 'red',
  retry: 'yellow',
};

export function tag(status, text) {
  const colour = TAG_COLOURS[status];
  return h('strong', {
    class: `govuk-tag${colour ? ` govuk-tag--${colour}` : ''}`,
    text: text ?? words(status ?? 'none'),
  });
}

// table({ caption, head: ['A', 'B'], rows: [[cell, cell]], numeric: [1] }): cells are text or
// nodes. `numeric` lists column indexes aligned right.
export function table({ caption, head, rows, numeric = [], captionSize = 'm', empty }) {
  if (rows.length === 0 && empty) {
    return p(empty);
  }
  const num = new Set(numeric);
  // A wide table scrolls sideways on a phone; the scrolling region takes keyboard focus (WCAG
  // 2.1.1) and is named by the caption.
  const wrap = h(
    'div',
    { class: 'app-table-wrapper', tabindex: '0', role: 'region', 'aria-label': caption ?? 'Table' },
    h(
      'table',
      { class: 'govuk-table' },
      caption ? h('caption', { class: `govuk-table__caption govuk-table__caption--${captionSize}`, text: caption }) : null,
      h(
        'thead',
        { class: 'govuk-table__head' },
        h(
          'tr',
          { class: 'govuk-table__row' },
          head.map((t, i) =>
            h('th', { scope: 'col', class: `govuk-table__header${num.has(i) ? ' govuk-table__header--numeric' : ''}` }, t),
          ),
        ),
      ),
      h(
        'tbody',
        { class: 'govuk-table__body' },
        rows.map((r) =>
          h(
            'tr',
            { class: 'govuk-table__row' },
            r.map((c, i) =>
              i === 0 && r.rowHeader
                ? h('th', { scope: 'row', class: 'govuk-table__header' }, c)
                : h('td', { class: `govuk-table__cell${num.has(i) ? ' govuk-table__cell--numeric' : ''}` }, c ?? ''),
            ),
          ),
        ),
      ),
    ),
  );
  // Wide tables scroll sideways on a phone (set through the CSSOM, which the CSP allows).
  wrap.style.overflowX = 'auto';
  return wrap;
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

// Marks a form group as in error with `text` (GOV.UK error message above the control).
export function setFieldError(group, text) {
  group.classList.add('govuk-form-group--error');
  const msgId = `${group.dataset.field ? `f-${group.dataset.field}` : `g${++uid}`}-error`;
  const msg = h('p', { class: 'govuk-error-message', id: msgId }, h('span', { class: 'govuk-visually-hidden', text: 'Error: ' }), text);
  const anchor = group.querySelector('.govuk-hint') ?? group.querySelector('label, legend');
  const fieldset = group.querySelector('fieldset');
  if (fieldset) {
    const legendHint = fieldset.querySelector(':scope > .govuk-hint') ?? fieldset.querySelector('legend');
    legendHint.after(msg);
    fieldset.setAttribute('aria-describedby', `${fieldset.getAttribute('aria-describedby') ?? ''} ${msgId}`.trim());
  } else {
    anchor.after(msg);
  }
  const control = group.querySelector('input.govuk-input, select, textarea');
  if (control) {
    control.classList.add(control.tagName === 'SELECT' ? 'govuk-select--error' : control.tagName === 'TEXTAREA' ? 'govuk-textarea--error' : 'govuk-input--error');
    control.setAttribute('aria-describedby', `${control.getAttribute('aria-describedby') ?? ''} ${msgId}`.trim());
  }
}

export function clearFieldErrors(form) {
  for (const g of form.querySelectorAll('.govuk-form-group--error')) {
    g.classList.remove('govuk-form-group--error');
  }
  for (const m of form.querySelectorAll('.govuk-error-message')) {
    m.remove();
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
