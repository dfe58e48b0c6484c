// validate-oruk.mjs: every Open Referral UK answer the integration tests received matches the
// profile's published JSON Schemas (the compiled schemas of OpenReferralUK/uk-profile, vendored in
// tests/openapi/oruk/, see SOURCES.md there).
//
//   node validate-oruk.mjs <schema dir> <record dir>
//
// Reads the records itlib.c writes (IT_RECORD_DIR, one JSON line per response) and takes every 200
// JSON answer under /openreferral/:
//   - a page (services, service_at_locations, organizations, taxonomies, taxonomy_terms): the
//     envelope against the profile's Page (its seven fields required, as the UK validator checks
//     them) and every item of `contents` against the list schema of its endpoint; an item that
//     is fully nested (full=true, full_service=true) is checked against the full schema as well;
//   - one object (/services/{id}, /service_at_locations/{id}, /organizations/{id},
//     /taxonomies/{id}, /taxonomy_terms/{id}) against its full schema; `/` against the profile's
//     API details.
// JSON Schema 2020-12 with formats checked (uuid, uri, email, date-time; the data-package "csv"
// annotation is not a format to check). Exits 1 listing every mismatch, when nothing was
// recorded, and when an endpoint had no 200 answer to check: each one must be exercised.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

const [schemaDir, recordDir] = process.argv.slice(2);
if (!schemaDir || !recordDir) {
  console.error('usage: validate-oruk.mjs <schema dir> <record dir>');
  process.exit(2);
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addFormat('csv', true);
// The schemas' $refs are relative file names (taxonomy.json -> taxonomy_term.json): each is
// registered under its file name.
for (const f of fs.readdirSync(schemaDir).filter((n) => n.endsWith('.json'))) {
  const s = JSON.parse(fs.readFileSync(path.join(schemaDir, f), 'utf8'));
  delete s.$schema;
  ajv.addSchema({ ...s, $id: f });
}
const v = (id) => ajv.getSchema(id);

// The profile's Page (uk-profile schema/openapi.json components.schemas.Page) with its fields
// required, around items of `item`.
const PAGE_FIELDS = ['total_items', 'total_pages', 'page_number', 'size', 'first_page', 'last_page', 'empty'];
const page = ajv.compile({
  type: 'object',
  properties: {
    total_items: { type: 'integer', minimum: 0 },
    total_pages: { type: 'integer', minimum: 0 },
    page_number: { type: 'integer', minimum: 1 },
    size: { type: 'integer', minimum: 0 },
    first_page: { type: 'boolean' },
    last_page: { type: 'boolean' },
    empty: { type: 'boolean' },
    contents: { type: 'array' },
  },
  required: [...PAGE_FIELDS, 'contents'],
});
// The API details of `/` (uk-profile schema/openapi.json, path `/`).
const info = ajv.compile({
  type: 'object',
  properties: {
    version: { type: 'string' },
    profile: { type: 'string', format: 'uri' },
    openapi_url: { type: 'string', format: 'uri' },
  },
  required: ['version', 'profile', 'openapi_url'],
});

// Each endpoint: the schema of a list item (and of a fully nested item, with the test that tells
// one), or of the one object.
const fullService = (o) => 'schedules' in o || 'service_at_locations' in o || 'contacts' in o;
const ENDPOINTS = [
  { re: /^\/openreferral\/$/, name: '/', one: info },
  { re: /^\/openreferral\/services$/, name: '/services', item: 'service_list.json', full: 'service.json', isFull: fullService },
  { re: /^\/openreferral\/services\/[^/]+$/, name: '/services/{id}', one: 'service.json' },
  {
    re: /^\/openreferral\/service_at_locations$/, name: '/service_at_locations', item: 'service_at_location_list.json',
    full: 'service_at_location.json', isFull: (o) => o.service && fullService(o.service),
  },
  { re: /^\/openreferral\/service_at_locations\/[^/]+$/, name: '/service_at_locations/{id}', one: 'service_at_location.json' },
  { re: /^\/openreferral\/organizations$/, name: '/organizations', item: 'organization_list.json', full: 'organization.json', isFull: (o) => 'services' in o },
  { re: /^\/openreferral\/organizations\/[^/]+$/, name: '/organizations/{id}', one: 'organization.json' },
  { re: /^\/openreferral\/taxonomies$/, name: '/taxonomies', item: 'taxonomy.json' },
  { re: /^\/openreferral\/taxonomies\/[^/]+$/, name: '/taxonomies/{id}', one: 'taxonomy.json' },
  { re: /^\/openreferral\/taxonomy_terms$/, name: '/taxonomy_terms', item: 'taxonomy_term.json' },
  { re: /^\/openreferral\/taxonomy_terms\/[^/]+$/, name: '/taxonomy_terms/{id}', one: 'taxonomy_term.json' },
];

const problems = new Map();
function fail(key, example) {
  const e = problems.get(key) || { count: 0, example };
  e.count++;
  problems.set(key, e);
}
function check(validate, value, where, r) {
  const fn = typeof validate === 'string' ? v(validate) : validate;
  if (!fn(value)) {
    const errs = fn.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    fail(`${where}: ${errs.join('; ')}`, r);
    return false;
  }
  return true;
}

const counts = new Map(ENDPOINTS.map((e) => [e.name, 0]));
let items = 0;
let fullItems = 0;
const files = fs.existsSync(recordDir) ? fs.readdirSync(recordDir).filter((f) => f.endsWith('.jsonl')) : [];
for (const f of files) {
  for (const line of fs.readFileSync(path.join(recordDir, f), 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (!r.path.startsWith('/openreferral/') || r.status !== 200 || r.body === undefined) continue;
    const ep = ENDPOINTS.find((e) => e.re.test(r.path));
    if (!ep) {
      fail(`${r.path}: a 200 under /openreferral/ that is no endpoint of the specification`, r);
      continue;
    }
    counts.set(ep.name, counts.get(ep.name) + 1);
    if (ep.one) {
      check(ep.one, r.body, `GET ${ep.name}`, r);
      continue;
    }
    if (!check(page, r.body, `GET ${ep.name} (page)`, r)) continue;
    r.body.contents.forEach((it, i) => {
      items++;
      check(ep.item, it, `GET ${ep.name} contents[] (${ep.item})`, { ...r, body: it, index: i });
      if (ep.full && ep.isFull(it)) {
        fullItems++;
        check(ep.full, it, `GET ${ep.name} contents[] fully nested (${ep.full})`, { ...r, body: it, index: i });
      }
    });
  }
}

const total = [...counts.values()].reduce((a, b) => a + b, 0);
if (total === 0) {
  console.error(`openapi.oruk: no Open Referral answer was recorded in ${recordDir}`);
  process.exit(1);
}
for (const [name, n] of counts) {
  if (n === 0) fail(`GET ${name}: no 200 answer was recorded, so nothing was checked`, { method: 'GET', path: name });
}
if (fullItems === 0) fail('no fully nested list item (full=true) was recorded', { method: 'GET', path: '' });
if (problems.size > 0) {
  console.error(`openapi.oruk: ${problems.size} kinds of mismatch against the Open Referral UK schemas:`);
  for (const [key, { count, example }] of problems) {
    const body = example.body !== undefined ? JSON.stringify(example.body).slice(0, 300) : '';
    console.error(`- ${key} (x${count}) e.g. ${example.method} ${example.path} ${body}`);
  }
  process.exit(1);
}
console.log(`openapi.oruk: ${total} answers (${items} list items, ${fullItems} fully nested) match the Open Referral UK schemas in ${schemaDir}`);
for (const [name, n] of counts) console.log(`  GET ${name}: ${n}`);
