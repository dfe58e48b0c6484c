// forms.mjs: a GOV.UK form whose submit calls the API, and the problems it answers shown as an
// error summary at the top of the page linked to each field, with the message by the field.
import { ApiError } from './api.mjs';
import { render, route } from './router.mjs';
import { button, buttonGroup, clearFieldErrors, errorSummary, field, h, heading, setFieldError, summaryList, warning, words } from './ui.mjs';

// What a problem means for the user, in words, when it names no field.
export function problemText(err) {
  if (!(err instanceof ApiError)) {
    return 'Something went wrong in this page. Reload it and try again.';
  }
  switch (err.status) {
    case 412:
      return 'Someone else changed this record since you opened it. Reload the page to see the change, then try again.';
    case 403:
      return `You are not allowed to do this. ${err.problem.detail ?? ''}`.trim();
    case 404:
      return `Not found: ${err.problem.detail ?? 'the record does not exist or you cannot see it'}.`;
    case 409:
      return `${err.problem.title ?? 'Conflict'}: ${err.problem.detail ?? ''}`;
    case 429:
      return 'Too many requests. Wait a minute and try again.';
    default:
      if (err.status >= 500) {
        return `Sorry, there is a problem with the service. Try again later. ${err.problem.detail ?? ''}`.trim();
      }
      return err.problem.detail ?? err.problem.title ?? `The service answered ${err.status}.`;
  }
}

// An error message as the GOV.UK Design System writes them: no full stop at the end, so the
// error summary and the message by the field read exactly the same.
export function finish(text) {
  return String(text ?? '').trim().replace(/\.$/, '');
}

// The label as it reads inside a sentence: "Town or city" -> "town or city"; acronyms stay.
function inSentence(label) {
  const l = String(label ?? '').replace(/ \(optional\)$/, '');
  return /^[A-Z]{2}/.test(l) ? l : l.charAt(0).toLowerCase() + l.slice(1);
}

// What kind of error a 422 entry is: its rule when the service names one, else "required" for a
// missing value and "invalid" for one the field table refused.
export function errorKind(e) {
  if (e.rule) {
    return e.rule;
  }
  return /^(is required|must not be null)\b/.test(e.detail ?? '') ? 'required' : 'invalid';
}

// The messages every form with contact details shares: an email address, a phone number, a web
// address, in the Design System's words.
export const CONTACT_MESSAGES = {
  phone: { invalid: 'Enter a phone number, like 01632 960 001 or 07700 900 982' },
  email: { invalid: 'Enter an email address in the correct format, like name@example.com' },
  website: { invalid: 'Enter a web address that starts with https:// or http://' },
};

// The messages of a form for a place with an address (an organisation, a site): `whose` is how the
// messages name it ("organisation’s", "site’s").
export function placeMessages(whose) {
  return {
    name: { required: `Enter the ${whose} name`, invalid: `The ${whose} name must be 200 characters or fewer` },
    address_lines: {
      required: 'Enter the first line of the address',
      invalid: 'Enter the address on 1 to 3 lines, each 200 characters or fewer',
    },
    town: { required: 'Enter the town or city', invalid: 'The town or city must be 100 characters or fewer' },
    postcode: { required: 'Enter the postcode', invalid: 'Enter a full UK postcode, like ME4 4AB' },
    ...CONTACT_MESSAGES,
  };
}

// The words for one 422 entry: `text` when the page wrote them itself; the form's message table
// (messages[field][rule or kind], or messages[field].invalid for any refused value); else a
// default in the Design System's pattern ("Enter the town or city", "Select the kind", "Postcode
// must be a UK postcode").
export function messageFor(e, { name, label, spec, messages }) {
  if (e.text) {
    return e.text;
  }
  const kind = errorKind(e);
  const entry = messages?.[name];
  if (typeof entry === 'string') {
    return entry;
  }
  if (entry && (entry[kind] ?? (kind !== 'required' ? entry.invalid : undefined))) {
    return entry[kind] ?? entry.invalid;
  }
  const choose = ['select', 'radios', 'checkboxes'].includes(spec?.type);
  if (kind === 'required') {
    return `${choose ? 'Select' : 'Enter'} the ${inSentence(label)}`;
  }
  const detail = String(e.detail ?? '');
  if (/^(must|is|has|cannot|may)\b/.test(detail)) {
    return `${String(label).replace(/ \(optional\)$/, '')} ${detail}`;
  }
  return detail ? detail.charAt(0).toUpperCase() + detail.slice(1) : `Check the ${inSentence(label)}`;
}

// Shows `err` on `form`: an error summary as the first thing in <main> (focused) and a message by
// each field it names, in the same words. `describe(error, label)` may turn one 422 entry into
// words (it returns nothing for the entries it leaves to `messages`, the form's table of
// messages by field and rule: see messageFor).
export function showProblem(form, err, { describe, specs = [], messages } = {}) {
  const main = document.getElementById('main-content');
  main.querySelector('.govuk-error-summary')?.remove();
  if (form) {
    clearFieldErrors(form);
  }
  const bySpec = Object.fromEntries(specs.filter((s) => s && s.name).map((s) => [s.name, s]));
  const items = [];
  const fieldErrors = err instanceof ApiError ? err.fieldErrors : [];
  if (fieldErrors.length > 0) {
    const seen = new Map();
    for (const e of fieldErrors) {
      const name = String(e.field ?? '').split(/[.[]/)[0];
      const group = form?.querySelector(`[data-field="${CSS.escape(name)}"]`);
      const spec = bySpec[name];
      const label = spec?.label ?? words(name);
      const text = finish((e.text ? null : describe?.(e, label)) ?? messageFor(e, { name, label, spec, messages }));
      if (items.some((i) => i.text === text && i.name === name)) {
        continue;
      }
      // A date's error links to the first of its boxes in error ("must include a month": the
      // month), and only those boxes are marked.
      const part = e.parts?.[0];
      items.push({ href: group ? `#f-${name}${part && part !== 'day' ? `-${part}` : ''}` : null, text, name });
      if (group) {
        const had = seen.get(group) ?? { texts: [], parts: [] };
        seen.set(group, { texts: [...had.texts, text], parts: e.parts && had.parts ? [...had.parts, ...e.parts] : null });
      }
    }
    for (const [group, { texts, parts }] of seen) {
      setFieldError(group, texts, parts);
    }
  } else {
    items.push({ href: null, text: problemText(err) });
  }
  const summary = errorSummary(items);
  main.prepend(summary);
  if (!document.title.startsWith('Error: ')) {
    document.title = `Error: ${document.title}`;
  }
  summary.focus();
  return summary;
}

export function clearProblem(form) {
  document.getElementById('main-content').querySelector('.govuk-error-summary')?.remove();
  document.title = document.title.replace(/^Error: /, '');
  if (form) {
    clearFieldErrors(form);
  }
}

// Reads a form's values by its specs: text -> trimmed string (empty: left out, or null when the
// spec says `nullable`), number -> integer when it reads as one (else the text, for the service to
// refuse by name), checkbox -> boolean, checkboxes -> array, lines -> array of non-empty lines.
export function values(form, specs) {
  const out = {};
  const dateErrors = [];
  const fd = new FormData(form);
  for (const s of specs) {
    if (!s || !s.name || s.readOnly) {
      continue;
    }
    const type = s.type ?? 'text';
    if (type === 'checkboxes') {
      out[s.name] = fd.getAll(s.name).map(String);
    } else if (type === 'checkbox') {
      out[s.name] = fd.get(s.name) === 'true';
    } else if (type === 'date') {
      const v = dateValue(fd, s, dateErrors);
      if (v !== undefined) {
        out[s.name] = v;
      } else if (s.nullable) {
        out[s.name] = null;
      }
    } else {
      const raw = fd.get(s.name);
      const v = raw === null ? '' : String(raw).trim();
      if (v === '') {
        if (s.nullable) {
          out[s.name] = null;
        }
        continue;
      }
      if (type === 'number') {
        out[s.name] = /^-?\d+$/.test(v) ? Number(v) : v;
      } else if (s.lines) {
        out[s.name] = v.split('\n').map((x) => x.trim()).filter(Boolean);
      } else {
        out[s.name] = v;
      }
    }
  }
  if (dateErrors.length) {
    throw new ApiError(422, { errors: dateErrors });
  }
  return out;
}

// A date input's three boxes as YYYY-MM-DD; undefined when all are empty. A partial or unreal
// date is pushed onto `errors` in the Design System's words ("First day must include a month",
// "... must be a real date") and reads as undefined.
function dateValue(fd, s, errors) {
  const part = (k) => String(fd.get(`${s.name}-${k}`) ?? '').trim();
  const [d, m, y] = [part('day'), part('month'), part('year')];
  if (!d && !m && !y) {
    return undefined;
  }
  const label = s.label.replace(/ \(optional\)$/, '');
  const missing = [['day', d], ['month', m], ['year', y]].filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) {
    errors.push({ field: s.name, rule: 'date_incomplete', parts: missing, text: `${label} must include a ${missing.join(' and ')}` });
    return undefined;
  }
  if (!/^\d{4}$/.test(y)) {
    errors.push({ field: s.name, rule: 'date_year', parts: ['year'], text: 'Year must include 4 numbers' });
    return undefined;
  }
  const iso = `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
  const t = new Date(`${iso}T00:00:00Z`);
  if (!/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(m) || Number.isNaN(t.getTime()) || t.toISOString().slice(0, 10) !== iso) {
    errors.push({ field: s.name, rule: 'date_not_real', text: `${label} must be a real date` });
    return undefined;
  }
  return iso;
}

// form({ specs, submit, onSubmit(values, form), describe, messages, secondary }): a form element.
// specs are field specs (see ui.field) or nodes placed as they are. onSubmit may throw an
// ApiError; it is shown with showProblem. The submit button is disabled while a request runs.
export function form({ specs, submit = 'Save', onSubmit, describe, messages, secondary, id, variant }) {
  const f = h('form', { novalidate: true, id });
  for (const s of specs) {
    f.append(s instanceof Node ? s : field(s));
  }
  const btn = button(submit, { variant });
  f.append(buttonGroup(btn, secondary ?? null));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (btn.disabled) {
      return;
    }
    btn.disabled = true;
    btn.setAttribute('aria-disabled', 'true');
    try {
      clearProblem(f);
      await onSubmit(values(f, specs.filter((s) => !(s instanceof Node))), f);
    } catch (err) {
      if (!(err instanceof ApiError)) {
        console.warn(err);
      }
      if (f.isConnected) {
        showProblem(f, err, { describe, messages, specs: specs.filter((s) => !(s instanceof Node)) });
      }
    } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-disabled');
    }
  });
  return f;
}

// A confirmation page before anything final (GOV.UK's "Are you sure" pattern), drawn in place of
// the current view: `title` the question, `rows` what will change (a summary list), `warningText`
// what cannot be undone, `confirm` the words of the red button, `onConfirm()` the action (its
// ApiError shown here as an error summary). "Cancel" draws the view the user came from again.
export function confirmPage({ title, caption, rows = [], warningText, confirm, onConfirm }) {
  const btn = button(confirm, { variant: 'warning' });
  const cancel = h('a', {
    class: 'govuk-link',
    href: location.hash || '#/',
    id: 'cancel',
    text: 'Cancel',
    onclick: (e) => {
      e.preventDefault();
      route();
    },
  });
  const f = h('form', { novalidate: true, id: 'confirm' }, buttonGroup(btn, cancel));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (btn.disabled) {
      return;
    }
    btn.disabled = true;
    try {
      clearProblem(f);
      await onConfirm();
    } catch (err) {
      if (!(err instanceof ApiError)) {
        console.warn(err);
      }
      if (f.isConnected) {
        showProblem(f, err);
      }
    } finally {
      btn.disabled = false;
    }
  });
  render(
    title,
    heading(title, { caption, size: 'l' }),
    rows.length ? summaryList(rows) : null,
    warningText ? warning(warningText) : null,
    f,
  );
}
