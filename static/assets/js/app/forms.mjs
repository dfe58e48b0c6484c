// forms.mjs: a GOV.UK form whose submit calls the API, and the problems it answers shown as an
// error summary at the top of the page linked to each field, with the message by the field.
import { ApiError } from './api.mjs';
import { button, buttonGroup, clearFieldErrors, errorSummary, field, h, setFieldError, words } from './ui.mjs';

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

// Shows `err` on `form`: an error summary as the first thing in <main> (focused) and a message by
// each field it names. `describe(error, label)` may turn one 422 entry into words.
export function showProblem(form, err, { describe, specs = [] } = {}) {
  const main = document.getElementById('main-content');
  main.querySelector('.govuk-error-summary')?.remove();
  if (form) {
    clearFieldErrors(form);
  }
  const labels = Object.fromEntries(specs.filter((s) => s && s.name).map((s) => [s.name, s.label]));
  const items = [];
  const fieldErrors = err instanceof ApiError ? err.fieldErrors : [];
  if (fieldErrors.length > 0) {
    const seen = new Map();
    for (const e of fieldErrors) {
      const name = String(e.field ?? '').split(/[.[]/)[0];
      const group = form?.querySelector(`[data-field="${CSS.escape(name)}"]`);
      const label = labels[name] ?? words(name);
      const text = describe?.(e, label) ?? `${label}: ${e.detail}`;
      items.push({ href: group ? `#f-${name}` : null, text });
      if (group) {
        seen.set(group, [...(seen.get(group) ?? []), text]);
      }
    }
    for (const [group, texts] of seen) {
      setFieldError(group, texts.map((t) => (/[.!?]$/.test(t) ? t : `${t}.`)).join(' '));
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
  return out;
}

// form({ specs, submit, onSubmit(values, form), describe, extra, secondary }): a form element.
// specs are field specs (see ui.field) or nodes placed as they are. onSubmit may throw an
// ApiError; it is shown with showProblem. The submit button is disabled while a request runs.
export function form({ specs, submit = 'Save', onSubmit, describe, secondary, id, variant }) {
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
        showProblem(f, err, { describe, specs: specs.filter((s) => !(s instanceof Node)) });
      }
    } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-disabled');
    }
  });
  return f;
}
