// docs.js (an ES module): draws /openapi.json on /docs as a GOV.UK Frontend page, with no
// third-party renderer: a contents list of the tags and their operations; for each operation its
// method and path, summary and description, who may call it (security schemes and scopes), its
// parameters, its request body and its responses, with every schema's fields listed (a $ref is
// resolved where it is used and also linked to the schema's own entry under "Schemas"; a schema
// that contains itself is linked, not expanded again). Every heading has an id to link to. There
// is no "try it out": the page only reads.
//
// The page's Content-Security-Policy allows no inline script or style, so this is an external
// module, and it builds the page with createElement and textContent only (ui.mjs's h()): nothing
// in the description is ever parsed as HTML. It reads /openapi.json from this site and nothing
// else.
import { clear, h } from './app/ui.mjs';

const SPEC_URL = '/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// GOV.UK Frontend tag colours for the methods (each passes contrast as GOV.UK Frontend ships it).
const METHOD_TAG = {
  get: 'govuk-tag--blue',
  post: 'govuk-tag--green',
  put: 'govuk-tag--purple',
  patch: 'govuk-tag--yellow',
  delete: 'govuk-tag--red',
};
const MAX_DEPTH = 8; // nested fields shown inline; deeper ones are links to their schema

// ---- Names and anchors --------------------------------------------------------------------

function slug(s) {
  return String(s)
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function tagId(name) {
  return `tag-${slug(name)}`;
}

export function opId(method, path, op) {
  return `op-${slug(op.operationId ?? `${method}-${path}`)}`;
}

export function schemaId(name) {
  return `schema-${slug(name)}`;
}

function securityId(name) {
  return `security-${slug(name)}`;
}

// The component name of a local $ref ("#/components/schemas/Organisation" -> "Organisation").
function refName(ref) {
  return decodeURIComponent(ref.split('/').pop()).replace(/~1/g, '/').replace(/~0/g, '~');
}

// ---- Text ---------------------------------------------------------------------------------

// Inline text: `code` spans become <code>; everything else stays text.
function inline(text) {
  const parts = String(text).split('`');
  return parts.map((p, i) => (i % 2 === 1 ? code(p) : p));
}

// A description: paragraphs split at blank lines; lines starting "- " become a bulleted list.
function prose(text, cls = 'govuk-body') {
  if (text === undefined || text === null || text === '') {
    return [];
  }
  const out = [];
  for (const block of String(text).split(/\n\s*\n/)) {
    let para = [];
    let items = [];
    const flush = () => {
      if (para.length > 0) {
        out.push(h('p', { class: cls }, inline(para.join(' '))));
        para = [];
      }
      if (items.length > 0) {
        const listClass = cls === 'govuk-body' ? '' : ' govuk-body-s';
        out.push(h('ul', { class: `govuk-list govuk-list--bullet${listClass}` },
          items.map((it) => h('li', {}, inline(it)))));
        items = [];
      }
    };
    for (const line of block.split('\n')) {
      const m = /^\s*[-*] (.*)$/.exec(line);
      if (m) {
        if (para.length > 0 && items.length === 0) {
          out.push(h('p', { class: cls }, inline(para.join(' '))));
          para = [];
        }
        items.push(m[1]);
      } else if (items.length > 0 && /^\s+\S/.test(line)) {
        items[items.length - 1] += ` ${line.trim()}`; // a list item continued on the next line
      } else {
        if (items.length > 0) {
          flush();
        }
        if (line.trim() !== '') {
          para.push(line.trim());
        }
      }
    }
    flush();
  }
  return out;
}

function code(text) {
  return h('code', { class: 'app-docs-code' }, text);
}

function label(text) {
  return h('span', { class: 'app-docs-label' }, text);
}

function link(href, ...children) {
  return h('a', { class: 'govuk-link', href }, ...children);
}

function joinNodes(nodes, sep) {
  const out = [];
  nodes.forEach((n, i) => {
    if (i > 0) {
      out.push(sep);
    }
    out.push(n);
  });
  return out;
}

// ---- Schemas ------------------------------------------------------------------------------

class Spec {
  constructor(doc) {
    this.doc = doc;
  }

  // The object a local $ref ("#/a/b") points to, or undefined.
  pointer(ref) {
    if (typeof ref !== 'string' || !ref.startsWith('#/')) {
      return undefined;
    }
    let at = this.doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (at === null || typeof at !== 'object' || !(key in at)) {
        return undefined;
      }
      at = at[key];
    }
    return at;
  }

  // A parameter, response, header or request body with its $ref followed (up to 10 hops).
  deref(obj) {
    let at = obj;
    for (let i = 0; i < 10 && at && typeof at === 'object' && typeof at.$ref === 'string'; i++) {
      at = this.pointer(at.$ref);
    }
    return at ?? {};
  }
}

// One line of what a schema is: "string (date)", "array of Organisation", "integer or null".
// `ref` links are to the named schema's entry.
function typeLine(spec, schema, seen = new Set()) {
  if (!schema || typeof schema !== 'object') {
    return ['any value'];
  }
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    if (seen.has(schema.$ref)) {
      return [link(`#${schemaId(name)}`, name)];
    }
    const target = spec.pointer(schema.$ref);
    const inner = new Set(seen).add(schema.$ref);
    const kind = target && (target.type || target.oneOf || target.anyOf || target.allOf)
      ? typeLine(spec, { ...target, $ref: undefined, title: undefined, description: undefined }, inner) : [];
    const simple = kind.length === 1 && typeof kind[0] === 'string' && kind[0] !== 'object';
    const plain = simple ? [` (${kind[0]})`] : [];
    return [link(`#${schemaId(name)}`, name), ...plain];
  }
  const alts = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(alts)) {
    const each = alts.map((a) => typeLine(spec, a, seen));
    return ['one of: ', ...joinNodes(each, ', ').flat()];
  }
  if (Array.isArray(schema.allOf) && !schema.type) {
    const parts = schema.allOf.map((a) => typeLine(spec, a, seen));
    return parts.length === 1 ? parts[0] : ['all of: ', ...joinNodes(parts, ', ').flat()];
  }
  let types = Array.isArray(schema.type) ? [...schema.type] : schema.type ? [schema.type] : [];
  if (schema.nullable === true && !types.includes('null')) {
    types.push('null');
  }
  if (types.length === 0) {
    if (schema.properties) {
      types = ['object'];
    } else if (schema.const !== undefined) {
      return [`the value ${JSON.stringify(schema.const)}`];
    } else if (schema.enum) {
      types = ['one of the values below'];
    } else {
      return ['any value'];
    }
  }
  const out = [];
  types.forEach((t, i) => {
    if (i > 0) {
      out.push(' or ');
    }
    if (t === 'array') {
      out.push('array of ', ...(schema.items ? typeLine(spec, schema.items, seen) : ['any value']));
    } else if (t === 'null') {
      out.push('null');
    } else {
      out.push(schema.format ? `${t} (${schema.format})` : t);
    }
  });
  return out;
}

function range(lo, hi, unit) {
  if (lo !== undefined && hi !== undefined) {
    return lo === hi ? `exactly ${lo}${unit}` : `${lo} to ${hi}${unit}`;
  }
  if (lo !== undefined) {
    return `at least ${lo}${unit}`;
  }
  return `at most ${hi}${unit}`;
}

function value(v) {
  return code(JSON.stringify(v));
}

// The rules of one schema (not of its fields), as sentences: allowed values, lengths, ranges,
// pattern, default, example.
function rules(schema) {
  const out = [];
  const add = (first, ...rest) => {
    const lead = typeof first === 'string' ? first.charAt(0).toUpperCase() + first.slice(1) : first;
    out.push(h('span', { class: 'app-docs-rule' }, lead, ...rest, '. '));
  };
  if (Array.isArray(schema.enum)) {
    add('One of: ', ...joinNodes(schema.enum.map(value), ', '));
  }
  if (schema.const !== undefined && (schema.type || schema.enum)) {
    add('Always ', value(schema.const));
  }
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    add(range(schema.minLength, schema.maxLength, ' characters'));
  }
  const lo = schema.minimum ?? schema.exclusiveMinimum;
  const hi = schema.maximum ?? schema.exclusiveMaximum;
  if (lo !== undefined || hi !== undefined) {
    const words = [];
    if (lo !== undefined) {
      words.push(`${schema.minimum !== undefined ? 'at least' : 'more than'} ${lo}`);
    }
    if (hi !== undefined) {
      words.push(`${schema.maximum !== undefined ? 'at most' : 'less than'} ${hi}`);
    }
    add(words.join(', '));
  }
  if (schema.minItems !== undefined || schema.maxItems !== undefined) {
    add(range(schema.minItems, schema.maxItems, ' items'));
  }
  if (schema.uniqueItems) {
    add('No item twice');
  }
  if (schema.pattern) {
    add('Matches ', code(schema.pattern));
  }
  if (schema.default !== undefined) {
    add('Default ', value(schema.default));
  }
  if (Array.isArray(schema.examples) && schema.examples.length > 0) {
    add('For example ', value(schema.examples[0]));
  } else if (schema.example !== undefined) {
    add('For example ', value(schema.example));
  }
  if (schema.readOnly) {
    add('Read-only: set by the service');
  }
  if (schema.writeOnly) {
    add('Write-only: never sent back');
  }
  if (schema.deprecated) {
    add('Deprecated');
  }
  return out;
}

// allOf parts merged into one object schema (properties and required of every part), when every
// part is an object; otherwise null.
function mergeAllOf(spec, schema, seen) {
  const props = { ...(schema.properties ?? {}) };
  const required = [...(schema.required ?? [])];
  let closed = schema.additionalProperties === false;
  for (const part0 of schema.allOf) {
    let part = part0;
    if (part && typeof part.$ref === 'string') {
      if (seen.has(part.$ref)) {
        return null;
      }
      part = spec.pointer(part.$ref);
    }
    if (!part || (part.type && part.type !== 'object') || (!part.properties && !part.allOf)) {
      return null;
    }
    const inner = part.allOf ? mergeAllOf(spec, part, seen) : part;
    if (!inner) {
      return null;
    }
    Object.assign(props, inner.properties ?? {});
    required.push(...(inner.required ?? []));
    closed = closed || inner.additionalProperties === false;
  }
  return {
    ...schema,
    allOf: undefined,
    type: 'object',
    properties: props,
    required,
    additionalProperties: closed ? false : schema.additionalProperties,
  };
}

// The nested part of a schema: its fields (an object), its items' fields (an array of objects)
// or its alternatives (oneOf/anyOf), as a list; null when it has none. `ctx.seen` holds the $refs
// being expanded (the cycle guard), `ctx.expand` whether a $ref is expanded at all (in the
// Schemas section each schema has its own entry, so a $ref there is only a link).
function nested(spec, schema, ctx) {
  if (!schema || typeof schema !== 'object' || ctx.depth > MAX_DEPTH) {
    return null;
  }
  if (typeof schema.$ref === 'string') {
    if (!ctx.expand || ctx.seen.has(schema.$ref)) {
      return null;
    }
    const target = spec.pointer(schema.$ref);
    return nested(spec, target, { ...ctx, seen: new Set(ctx.seen).add(schema.$ref) });
  }
  if (Array.isArray(schema.allOf)) {
    const merged = mergeAllOf(spec, schema, ctx.seen);
    if (merged) {
      return nested(spec, merged, ctx);
    }
    return alternatives(spec, schema.allOf, 'All of these:', ctx);
  }
  const alts = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(alts)) {
    const lead = schema.oneOf ? 'Exactly one of these forms:' : 'Any of these forms:';
    return alternatives(spec, alts, lead, ctx);
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('array') && schema.items) {
    const inner = nested(spec, schema.items, { ...ctx, depth: ctx.depth + 1 });
    if (!inner) {
      return null;
    }
    return h('div', { class: 'app-docs-items' },
      h('p', { class: 'govuk-body-s app-docs-note' }, 'Each item:'), inner);
  }
  if (schema.properties || (schema.additionalProperties && typeof schema.additionalProperties === 'object')) {
    return fieldList(spec, schema, ctx);
  }
  return null;
}

function alternatives(spec, alts, lead, ctx) {
  return h('div', { class: 'app-docs-alts' },
    h('p', { class: 'govuk-body-s app-docs-note' }, lead),
    h('ol', { class: 'app-docs-fields' }, alts.map((alt, i) => {
      const title = alt.title ?? (alt.$ref ? null : `Form ${i + 1}`);
      return h('li', { class: 'app-docs-field' },
        h('p', { class: 'govuk-body-s app-docs-field-head' },
          title ? h('span', { class: 'app-docs-name' }, `${title}: `) : null,
          h('span', { class: 'app-docs-type' }, typeLine(spec, alt, ctx.seen))),
        prose(alt.description, 'govuk-body-s'),
        h('p', { class: 'govuk-body-s app-docs-rules' }, rules(alt)),
        nested(spec, alt, { ...ctx, depth: ctx.depth + 1 }));
    })));
}

// The fields of an object schema as a list: name, type, required, description, rules, and each
// field's own nested fields under it.
function fieldList(spec, schema, ctx) {
  const required = new Set(schema.required ?? []);
  const items = Object.entries(schema.properties ?? {}).map(([name, prop]) => {
    const own = prop && typeof prop.$ref === 'string' ? spec.pointer(prop.$ref) ?? {} : prop ?? {};
    const desc = prop?.description ?? own.description;
    const ruleNodes = rules(prop ?? {});
    return h('li', { class: 'app-docs-field' },
      h('p', { class: 'govuk-body-s app-docs-field-head' },
        h('code', { class: 'app-docs-code app-docs-name' }, name), ' ',
        h('span', { class: 'app-docs-type' }, typeLine(spec, prop, ctx.seen)),
        required.has(name) ? h('strong', { class: 'app-docs-required' }, ' required') : null),
      prose(desc, 'govuk-body-s'),
      ruleNodes.length > 0 ? h('p', { class: 'govuk-body-s app-docs-rules' }, ruleNodes) : null,
      nested(spec, prop, { ...ctx, depth: ctx.depth + 1 }));
  });
  const extra = schema.additionalProperties;
  if (extra && typeof extra === 'object') {
    items.push(h('li', { class: 'app-docs-field' },
      h('p', { class: 'govuk-body-s app-docs-field-head' },
        h('span', { class: 'app-docs-name' }, 'Any other name: '),
        h('span', { class: 'app-docs-type' }, typeLine(spec, extra, ctx.seen))),
      nested(spec, extra, { ...ctx, depth: ctx.depth + 1 })));
  }
  if (items.length === 0) {
    return null;
  }
  const list = h('ul', { class: 'app-docs-fields' }, items);
  if (extra === false) {
    return [list, h('p', { class: 'govuk-body-s app-docs-note' }, 'No other fields.')];
  }
  return list;
}

// A whole schema where a body or parameter uses it: its type line, description, rules and
// nested fields (the $ref expanded).
function schemaBlock(spec, schema, { expand = true, seen = new Set() } = {}) {
  const own = schema && typeof schema.$ref === 'string' ? spec.pointer(schema.$ref) ?? {} : schema ?? {};
  const ruleNodes = rules(own);
  return h('div', { class: 'app-docs-schema' },
    h('p', { class: 'govuk-body-s' }, label('Schema: '),
      h('span', { class: 'app-docs-type' }, typeLine(spec, schema, seen))),
    prose(schema?.description ?? own.description, 'govuk-body-s'),
    ruleNodes.length > 0 ? h('p', { class: 'govuk-body-s app-docs-rules' }, ruleNodes) : null,
    nested(spec, schema, { seen, expand, depth: 0 }));
}

// ---- Tables -------------------------------------------------------------------------------

// A GOV.UK table; `kind` names its column widths in docs.css (app-docs-table--KIND).
function table(caption, heads, rows, kind) {
  return h('table', { class: `govuk-table app-docs-table app-docs-table--${kind}` },
    h('caption', { class: 'govuk-table__caption govuk-table__caption--s' }, caption),
    h('thead', { class: 'govuk-table__head' },
      h('tr', { class: 'govuk-table__row' },
        heads.map((t) => h('th', { scope: 'col', class: 'govuk-table__header' }, t)))),
    h('tbody', { class: 'govuk-table__body' },
      rows.map((cells) => h('tr', { class: 'govuk-table__row' },
        cells.map((c, i) => (i === 0
          ? h('th', { scope: 'row', class: 'govuk-table__header' }, c)
          : h('td', { class: 'govuk-table__cell' }, c)))))));
}

// ---- Operations ---------------------------------------------------------------------------

function securityFor(spec, op) {
  const reqs = op.security ?? spec.doc.security ?? [];
  const schemes = spec.doc.components?.securitySchemes ?? {};
  if (reqs.length === 0 || reqs.some((r) => Object.keys(r).length === 0)) {
    return h('p', { class: 'govuk-body' }, label('Authentication: '),
      'none, anyone may call this.');
  }
  const one = (req) => joinNodes(Object.entries(req).map(([name, scopes]) => {
    const scheme = schemes[name] ?? {};
    let what = 'a credential';
    if (scheme.type === 'oauth2') {
      what = 'an API client token';
    } else if (scheme.type === 'http') {
      what = `a ${scheme.scheme ?? 'bearer'} token`;
    }
    const out = [what, ' (', link(`#${securityId(name)}`, name), ')'];
    if (scopes.length > 0) {
      out.push(` with the scope${scopes.length > 1 ? 's' : ''} `,
        ...joinNodes(scopes.map((s) => code(s)), ' and '));
    }
    return out;
  }), ' and ').flat();
  if (reqs.length === 1) {
    return h('p', { class: 'govuk-body' }, label('Authentication: '), one(reqs[0]), '.');
  }
  return [
    h('p', { class: 'govuk-body' }, label('Authentication: '), 'any one of'),
    h('ul', { class: 'govuk-list govuk-list--bullet' }, reqs.map((r) => h('li', {}, one(r))))];
}

function parameters(spec, params, caption) {
  const list = params.map((p) => spec.deref(p)).filter((p) => p.name);
  if (list.length === 0) {
    return null;
  }
  // Two columns, so the description has room on a phone: the name with where it goes and
  // whether it is required, then its type, description and rules.
  return table(caption, ['Name', 'Description'], list.map((p) => {
    const schema = p.schema ?? {};
    const ruleNodes = rules(spec.deref(schema));
    return [
      [code(p.name),
        h('span', { class: 'app-docs-param-in' }, `${p.in}${p.required ? ', required' : ''}`)],
      [h('span', { class: 'app-docs-type' }, typeLine(spec, schema)),
        p.description ? h('span', { class: 'app-docs-param-desc' }, inline(p.description)) : null,
        ruleNodes.length > 0 ? h('span', { class: 'app-docs-rules app-docs-param-rules' }, ruleNodes) : null],
    ];
  }), 'parameters');
}

// A body's media types with their schemas, shown in full.
function content(spec, body) {
  return Object.entries(body.content ?? {}).map(([type, media]) =>
    h('div', { class: 'app-docs-media' },
      h('p', { class: 'govuk-body-s' }, label('Media type: '), code(type)),
      media.schema ? schemaBlock(spec, media.schema) : null));
}

// One media type's schema in a few words, for the responses table.
function contentLine(spec, body) {
  return Object.entries(body.content ?? {}).map(([type, media]) =>
    h('span', { class: 'app-docs-body-line' }, code(type),
      media.schema ? [': ', h('span', { class: 'app-docs-type' }, typeLine(spec, media.schema))] : null));
}

function hasFields(spec, schema) {
  return nested(spec, schema, { seen: new Set(), expand: true, depth: 0 }) !== null;
}

function responses(spec, op, label) {
  const entries = Object.entries(op.responses ?? {});
  if (entries.length === 0) {
    return [];
  }
  const rows = entries.map(([status, r0]) => {
    const r = spec.deref(r0);
    const headers = Object.keys(r.headers ?? {}).map((name) => code(name));
    return [status, [
      inline(r.description ?? ''),
      ...contentLine(spec, r).map((n) => [h('br'), 'Body: ', n]),
      headers.length > 0 ? [h('br'), 'Headers: ', joinNodes(headers, ', ')] : null,
    ]];
  });
  const out = [table(`Responses of ${label}`, ['Status', 'Description'], rows, 'responses')];
  // The bodies of the answers that are the operation's own (not the shared error answers, whose
  // schema is linked in the table), with their fields, each in a Details component.
  for (const [status, r0] of entries) {
    const shared = typeof r0.$ref === 'string';
    const r = spec.deref(r0);
    if (shared && Number(status) >= 400) {
      continue;
    }
    for (const [type, media] of Object.entries(r.content ?? {})) {
      if (!media.schema || !hasFields(spec, media.schema)) {
        continue;
      }
      out.push(h('details', { class: 'govuk-details app-docs-response' },
        h('summary', { class: 'govuk-details__summary' },
          h('span', { class: 'govuk-details__summary-text' }, `The ${status} response body (${type})`)),
        h('div', { class: 'govuk-details__text' }, schemaBlock(spec, media.schema))));
    }
  }
  return out;
}

function operation(spec, method, path, op, pathParams) {
  const id = opId(method, path, op);
  const label = `${method.toUpperCase()} ${path}`;
  const params = [...(pathParams ?? [])];
  for (const p of op.parameters ?? []) {
    const d = spec.deref(p);
    const at = params.findIndex((q) => {
      const e = spec.deref(q);
      return e.name === d.name && e.in === d.in;
    });
    if (at >= 0) {
      params[at] = p; // an operation's parameter replaces the path's of the same name
    } else {
      params.push(p);
    }
  }
  const body = op.requestBody ? spec.deref(op.requestBody) : null;
  return h('section', { class: 'app-docs-op', id, 'aria-labelledby': `${id}-h` },
    h('h3', { class: 'govuk-heading-m app-docs-op-heading', id: `${id}-h` },
      h('strong', { class: `govuk-tag ${METHOD_TAG[method] ?? 'govuk-tag--grey'} app-docs-method` },
        method.toUpperCase()),
      ' ',
      h('code', { class: 'app-docs-path' }, path)),
    op.summary ? h('p', { class: 'govuk-body-l app-docs-summary' }, inline(op.summary)) : null,
    op.deprecated ? h('p', { class: 'govuk-body' }, h('strong', {}, 'Deprecated.')) : null,
    prose(op.description),
    securityFor(spec, op),
    parameters(spec, params, `Parameters of ${label}`),
    body ? [
      h('h4', { class: 'govuk-heading-s' }, `Request body${body.required ? ' (required)' : ''}`),
      prose(body.description, 'govuk-body-s'),
      content(spec, body),
    ] : null,
    responses(spec, op, label),
    h('p', { class: 'govuk-body-s' }, link('#contents', 'Back to contents')));
}

// ---- The page -----------------------------------------------------------------------------

// The operations grouped by their first tag, tags in the description's order (then any others).
function groups(doc) {
  const order = (doc.tags ?? []).map((t) => t.name);
  const byTag = new Map(order.map((n) => [n, []]));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) {
        continue;
      }
      const tag = op.tags?.[0] ?? 'Other';
      if (!byTag.has(tag)) {
        byTag.set(tag, []);
      }
      byTag.get(tag).push({ method, path, op, pathParams: item.parameters });
    }
  }
  const info = new Map((doc.tags ?? []).map((t) => [t.name, t]));
  return [...byTag.entries()].filter(([, ops]) => ops.length > 0)
    .map(([name, ops]) => ({ name, description: info.get(name)?.description, ops }));
}

function contents(doc, tags) {
  const schemes = Object.keys(doc.components?.securitySchemes ?? {});
  const schemas = Object.keys(doc.components?.schemas ?? {});
  return h('nav', { class: 'app-docs-contents', 'aria-labelledby': 'contents' },
    h('h2', { class: 'govuk-heading-m', id: 'contents', tabindex: '-1' }, 'Contents'),
    h('ol', { class: 'govuk-list app-docs-contents-list' },
      doc.info?.description || (doc.servers ?? []).length > 0
        ? h('li', {}, link('#about', 'About the API'))
        : null,
      schemes.length > 0 ? h('li', {}, link('#authentication', 'Authentication')) : null,
      tags.map((t) => h('li', {},
        link(`#${tagId(t.name)}`, t.name),
        h('ul', { class: 'govuk-list app-docs-contents-ops' }, t.ops.map(({ method, path, op }) =>
          h('li', {}, link(`#${opId(method, path, op)}`,
            h('span', { class: 'app-docs-method-text' }, method.toUpperCase()), ' ',
            h('span', { class: 'app-docs-path' }, path),
            op.summary ? h('span', { class: 'app-docs-contents-summary' }, `: ${op.summary}`) : null)))))),
      schemas.length > 0 ? h('li', {}, link('#schemas', 'Schemas')) : null));
}

function authentication(spec) {
  const schemes = Object.entries(spec.doc.components?.securitySchemes ?? {});
  if (schemes.length === 0) {
    return null;
  }
  return h('section', { 'aria-labelledby': 'authentication' },
    h('h2', { class: 'govuk-heading-l', id: 'authentication', tabindex: '-1' }, 'Authentication'),
    schemes.map(([name, s]) => h('div', { id: securityId(name), class: 'app-docs-scheme' },
      h('h3', { class: 'govuk-heading-m' }, name),
      h('p', { class: 'govuk-body' }, label('Type: '),
        s.type === 'http' ? `HTTP ${s.scheme ?? ''}${s.bearerFormat ? ` (${s.bearerFormat})` : ''}` : s.type),
      prose(s.description),
      Object.entries(s.flows ?? {}).map(([flow, f]) => [
        h('p', { class: 'govuk-body' }, label('Flow: '), flow,
          f.tokenUrl ? [', token from ', code(f.tokenUrl)] : null),
        Object.keys(f.scopes ?? {}).length > 0
          ? table(`Scopes of ${name}`, ['Scope', 'What it allows'],
            Object.entries(f.scopes).map(([sc, what]) => [code(sc), what]), 'scopes')
          : null,
      ]))));
}

function schemasSection(spec) {
  const schemas = Object.entries(spec.doc.components?.schemas ?? {});
  if (schemas.length === 0) {
    return null;
  }
  return h('section', { 'aria-labelledby': 'schemas' },
    h('h2', { class: 'govuk-heading-l', id: 'schemas', tabindex: '-1' }, 'Schemas'),
    h('p', { class: 'govuk-body' },
      'Each schema the operations name. A field of another schema links to that schema’s own entry.'),
    schemas.map(([name, schema]) => {
      const ref = `#/components/schemas/${name}`;
      const ruleNodes = rules(schema);
      const id = schemaId(name);
      return h('section', { class: 'app-docs-schema-entry', id, 'aria-labelledby': `${id}-h` },
        h('h3', { class: 'govuk-heading-m', id: `${id}-h` }, h('code', { class: 'app-docs-path' }, name)),
        h('p', { class: 'govuk-body-s' }, label('Type: '),
          h('span', { class: 'app-docs-type' },
            typeLine(spec, { ...schema, description: undefined }, new Set([ref])))),
        prose(schema.description, 'govuk-body-s'),
        ruleNodes.length > 0 ? h('p', { class: 'govuk-body-s app-docs-rules' }, ruleNodes) : null,
        nested(spec, schema, { seen: new Set([ref]), expand: false, depth: 0 }));
    }));
}

export function render(doc, root) {
  const spec = new Spec(doc);
  const tags = groups(doc);
  const info = doc.info ?? {};
  const page = document.createDocumentFragment();
  // The title and summary, the contents, then the description's own text (its conventions).
  page.append(
    h('div', { class: 'app-docs-info' },
      h('p', { class: 'govuk-body-l', id: 'api-title' },
        info.version ? `${info.title ?? 'API'} (version ${info.version})` : info.title ?? 'API'),
      info.summary ? h('p', { class: 'govuk-body' }, inline(info.summary)) : null),
    contents(doc, tags),
    info.description || (doc.servers ?? []).length > 0
      ? h('section', { 'aria-labelledby': 'about' },
        h('h2', { class: 'govuk-heading-l', id: 'about', tabindex: '-1' }, 'About the API'),
        (doc.servers ?? []).length > 0
          ? h('p', { class: 'govuk-body' }, label('Base address: '),
            joinNodes(doc.servers.map((s) => code(s.url)), ', '))
          : null,
        prose(info.description))
      : '',
    authentication(spec) ?? '',
    ...tags.map((t) => h('section', { class: 'app-docs-tag', 'aria-labelledby': tagId(t.name) },
      h('h2', { class: 'govuk-heading-l', id: tagId(t.name), tabindex: '-1' }, t.name),
      prose(t.description),
      t.ops.map(({ method, path, op, pathParams }) => operation(spec, method, path, op, pathParams)))),
    schemasSection(spec) ?? '');
  clear(root);
  root.append(page);
  root.removeAttribute('aria-busy');
  // The address's fragment names an element that did not exist when the page loaded.
  const hash = location.hash.length > 1 ? decodeURIComponent(location.hash.slice(1)) : null;
  const target = hash ? document.getElementById(hash) : null;
  if (target) {
    target.scrollIntoView();
  }
}

async function main() {
  const root = document.getElementById('api-docs');
  if (!root) {
    return;
  }
  try {
    const res = await fetch(SPEC_URL, { headers: { Accept: 'application/json' } });
    if (!res.ok) {
      throw new Error(`${SPEC_URL} answered ${res.status}`);
    }
    render(await res.json(), root);
  } catch (e) {
    clear(root);
    root.removeAttribute('aria-busy');
    root.append(h('div', { class: 'govuk-error-summary', role: 'alert' },
      h('h2', { class: 'govuk-error-summary__title' }, 'The API description could not be shown'),
      h('div', { class: 'govuk-error-summary__body' },
        h('p', { class: 'govuk-body' }, 'Try again later, or read the description itself: ',
          link(SPEC_URL, 'openapi.json'), '.'))));
    console.error(`docs.js: ${e.message}`);
  }
}

main();
