// validate-responses.mjs: every response the integration tests received matches the API description.
//
//   node validate-responses.mjs <openapi.json> <record dir>
//
// itlib.c appends one JSON line per response to <record dir>/<pid>.jsonl when IT_RECORD_DIR is set:
// {"method", "path" (no query), "status", "content_type", "body" (when the body was JSON)}.
// Each record is matched to the description's path template and method, and then:
//   - its status must be listed for that operation (a `default` response does not count);
//   - its content type must be one the response lists (problem+json for problems), and a
//     response documented without content must have had no JSON body;
//   - a JSON body must validate against the response's schema (JSON Schema 2020-12, formats
//     checked).
// Answers the router gives to paths or methods no route has are checked too: an unknown path is a
// 404 problem, a known path under another method a 405 problem (or 204 for OPTIONS). HEAD is
// checked as GET. Exits 1 listing every mismatch (each distinct one once, with a count), and also
// when nothing was recorded: a check that checked nothing must not pass.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

const [specFile, recordDir] = process.argv.slice(2);
if (!specFile || !recordDir) {
  console.error('usage: validate-responses.mjs <openapi.json> <record dir>');
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));

// One schema document holding the components, so "#/components/schemas/X" refs resolve.
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: spec.components }, 'openapi');
const validators = new Map();
function validatorFor(schema) {
  const key = JSON.stringify(schema);
  if (!validators.has(key)) {
    const rewritten = JSON.parse(key.replaceAll('"#/components/', '"openapi#/components/'));
    validators.set(key, ajv.compile(rewritten));
  }
  return validators.get(key);
}

function deref(obj) {
  let o = obj;
  while (o && o.$ref) {
    const parts = o.$ref.replace(/^#\//, '').split('/');
    o = parts.reduce((acc, k) => acc?.[k], spec);
  }
  return o;
}

// Path templates as regular expressions; the last parameter of /assets/{path} (the router's
// {*}) takes the rest of the path.
const TAIL_PARAMS = new Set(['/assets/{path}']);
const templates = Object.keys(spec.paths).map((t) => {
  const escaped = t.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  let re = escaped.replace(/\{[^}]+\}/g, '[^/]+');
  if (TAIL_PARAMS.has(t)) re = re.replace(/\[\^\/\]\+$/, '.*');
  // A literal segment wins over a parameter (as /v1/users/me/password over /v1/users/{id}).
  const literal = t.replace(/\{[^}]+\}/g, '').length;
  return { template: t, re: new RegExp(`^${re}$`), literal };
}).sort((a, b) => b.literal - a.literal);

function matchPath(p) {
  return templates.filter((t) => t.re.test(p)).map((t) => t.template);
}

const problems = new Map();
function fail(key, example) {
  const e = problems.get(key) || { count: 0, example };
  e.count++;
  problems.set(key, e);
}

function mediaType(ct) {
  return (ct || '').split(';')[0].trim().toLowerCase();
}

function checkProblemBody(r, where) {
  if (mediaType(r.content_type) !== 'application/problem+json') {
    fail(`${where}: ${r.status} answered ${r.content_type}, not application/problem+json`, r);
    return;
  }
  const v = validatorFor({ $ref: '#/components/schemas/Problem' });
  if (!v(r.body)) {
    fail(`${where}: ${r.status} problem body: ${ajv.errorsText(v.errors)}`, r);
  }
}

let checked = 0;
const seen = new Set();
const files = fs.existsSync(recordDir) ? fs.readdirSync(recordDir).filter((f) => f.endsWith('.jsonl')) : [];
for (const f of files) {
  for (const line of fs.readFileSync(path.join(recordDir, f), 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    const method = (r.method === 'HEAD' ? 'GET' : r.method).toLowerCase();
    checked++;
    const candidates = matchPath(r.path);
    if (candidates.length === 0) {
      if (r.status !== 404) fail(`unknown path answered ${r.status} (only 404 is right)`, r);
      else checkProblemBody(r, 'unknown path');
      continue;
    }
    const template = candidates.find((t) => spec.paths[t][method]);
    if (!template) {
      const where = `${r.method} ${candidates[0]} (no such operation)`;
      if (r.method === 'OPTIONS' && r.status === 204) continue;
      if (r.status !== 405) fail(`${where}: answered ${r.status}, not 405`, r);
      else checkProblemBody(r, where);
      continue;
    }
    const op = spec.paths[template][method];
    const where = `${method.toUpperCase()} ${template}`;
    seen.add(`${where} ${r.status}`);
    const resp = deref(op.responses[String(r.status)]);
    if (!resp) {
      fail(`${where}: status ${r.status} is not documented`, r);
      continue;
    }
    const type = mediaType(r.content_type);
    if (!resp.content) {
      if (r.body !== undefined) fail(`${where}: ${r.status} is documented without a body but had one`, r);
      continue;
    }
    const media = resp.content[type];
    if (!media) {
      fail(`${where}: ${r.status} answered ${type || '(no content type)'}, documented: ${Object.keys(resp.content).join(', ')}`, r);
      continue;
    }
    // NDJSON (format=ndjson) is lines of JSON, not one JSON body: its type is checked above.
    if (type.endsWith('json') && type !== 'application/x-ndjson') {
      if (r.body === undefined) {
        fail(`${where}: ${r.status} ${type} body is not JSON`, r);
        continue;
      }
      const v = validatorFor(media.schema || {});
      if (!v(r.body)) {
        const errs = v.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
        fail(`${where}: ${r.status} body does not match: ${errs.join('; ')}`, r);
      }
    }
  }
}

if (checked === 0) {
  console.error(`openapi.responses: nothing was recorded in ${recordDir} (run the it.* tests with IT_RECORD_DIR set)`);
  process.exit(1);
}
if (problems.size > 0) {
  console.error(`openapi.responses: ${problems.size} kinds of mismatch in ${checked} responses:`);
  for (const [key, { count, example }] of problems) {
    const body = example.body !== undefined ? JSON.stringify(example.body).slice(0, 300) : '';
    console.error(`- ${key} (x${count}) e.g. ${example.method} ${example.path} ${body}`);
  }
  process.exit(1);
}
console.log(`openapi.responses: ${checked} responses from ${files.length} test programs match ${specFile} (${seen.size} operation/status pairs)`);
