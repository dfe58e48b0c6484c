// docs.test.mjs: /docs draws the API description (/openapi.json) with our own renderer
// (static/assets/js/docs.js) in a real browser, under the site's strict Content-Security-Policy
// (no inline script or style element, same origin only):
//   - every path and every operation of /openapi.json is on the page, under its tag, and listed
//     in the contents; every in-page link leads to an element of the page;
//   - a $ref'd schema's fields are shown where it is used (a request body, and a response body
//     two $refs deep), with "required" where the schema says so; a schema that contains itself
//     is drawn once and linked, not expanded without end;
//   - an address with an operation's anchor shows that operation once the page is drawn;
//   - without JavaScript the page links to /openapi.json and says why nothing else is shown;
//   - axe finds nothing (WCAG 2.0/2.1 A and AA, 2.2 AA, as lib.mjs runs it) at 1280 px and at
//     390 px, where nothing scrolls sideways;
//   - no request leaves the site, and no third-party renderer (Swagger UI) is loaded.
// BROWSER_TIMEOUT=600 (axe on the whole description, about 36,000 elements, twice)
import { test } from 'node:test';
import assert from 'node:assert/strict';

import path from 'node:path';

import { assertCleanPage, checkA11y, openBrowser, url } from './lib.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// What the window shows, as SCREENSHOT_DIR/<name>.png (lib.mjs's shot() takes the full page,
// which for the whole description is too tall to photograph in time).
async function windowShot(page, name) {
  await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`) });
}

async function spec() {
  const res = await fetch(url('/openapi.json'));
  assert.equal(res.status, 200);
  return res.json();
}

// Opens /docs (with `hash`) at `width` and waits until the description is drawn. Returns the
// page, its browser, and the requests that went anywhere but this site.
async function openDocs(width, hash = '') {
  const { browser, page } = await openBrowser({ width, height: 900 });
  const offsite = [];
  const requested = [];
  page.on('request', (req) => {
    requested.push(req.url());
    if (!req.url().startsWith(url('/')) && !req.url().startsWith('data:')) {
      offsite.push(req.url());
    }
  });
  try {
    const res = await page.goto(url(`/docs${hash}`));
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    await page.locator('#api-docs:not([aria-busy]) .app-docs-op').first().waitFor();
  } catch (e) {
    await browser.close();
    throw e;
  }
  return { browser, page, offsite, requested };
}

test('/docs shows every path and operation of the description, with working links', async () => {
  const doc = await spec();
  const { browser, page, offsite, requested } = await openDocs(1280);
  try {
    assert.equal(await page.locator('h1').innerText(), 'API documentation');
    assert.match(await page.locator('#api-title').innerText(), /M-PACT Registry API/);

    // Every operation once, under its first tag, headed by its method and path.
    const drawn = await page.locator('.app-docs-op').evaluateAll((els) =>
      els.map((el) => ({
        id: el.id,
        method: el.querySelector('.app-docs-method').textContent.trim(),
        path: el.querySelector('h3 .app-docs-path').textContent,
        tag: el.closest('.app-docs-tag').querySelector('h2').textContent,
      })),
    );
    const expected = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        if (item[m]) {
          expected.push({ method: m.toUpperCase(), path, tag: item[m].tags[0], id: item[m].operationId });
        }
      }
    }
    assert.ok(expected.length > 100, `the description has ${expected.length} operations`);
    assert.equal(drawn.length, expected.length);
    const byId = new Map(drawn.map((d) => [d.id, d]));
    for (const e of expected) {
      const d = byId.get(`op-${e.id}`);
      assert.ok(d, `${e.method} ${e.path} (${e.id}) is not on the page`);
      assert.deepEqual([d.method, d.path, d.tag], [e.method, e.path, e.tag], e.id);
    }
    // Every path appears as a path heading, and in the contents.
    const paths = new Set(drawn.map((d) => d.path));
    const listed = new Set(await page.locator('nav.app-docs-contents .app-docs-path').allInnerTexts());
    for (const p of Object.keys(doc.paths)) {
      assert.ok(paths.has(p), `path ${p} is not on the page`);
      assert.ok(listed.has(p), `path ${p} is not in the contents`);
    }
    // Each tag has its section; each in-page link leads somewhere on the page.
    for (const tag of doc.tags) {
      assert.equal(await page.getByRole('heading', { level: 2, name: tag.name, exact: true }).count(), 1, tag.name);
    }
    const broken = await page.locator('a[href^="#"]').evaluateAll((as) =>
      as.map((a) => a.getAttribute('href')).filter((h) => !document.getElementById(decodeURIComponent(h.slice(1)))),
    );
    assert.deepEqual([...new Set(broken)], []);

    // A path parameter, its type and "required".
    const getOrg = page.locator('#op-getOrganisation');
    const idRow = getOrg.locator('table.app-docs-table tbody tr', { hasText: 'id' }).first();
    assert.match(await idRow.innerText(), /^id\s+path, required\s+string\b/);
    // The operation says who may call it: a bearer token here, none on the public search.
    assert.match(await getOrg.innerText(), /Authentication: a bearer token \(bearerAuth\)/);
    const scoped = Object.entries(doc.paths).flatMap(([p, item]) =>
      METHODS.filter((m) => item[m]?.security?.some((s) => s.clientCredentials?.length > 0)).map((m) => item[m]))[0];
    const scope = scoped.security.find((s) => s.clientCredentials).clientCredentials[0];
    assert.match(await page.locator(`#op-${scoped.operationId}`).innerText(), new RegExp(`API client token \\(clientCredentials\\) with the scope ${scope}`));

    // Following a contents link moves to the operation.
    await page.locator('nav.app-docs-contents a[href="#op-createOrganisation"]').click();
    assert.ok(page.url().endsWith('#op-createOrganisation'));
    assert.ok(await page.locator('#op-createOrganisation h3').isVisible());

    await windowShot(page, 'docs-create-organisation');
    assert.deepEqual(offsite, []);
    assert.deepEqual(requested.filter((u) => /swagger/i.test(u)), []);
    assertCleanPage(page);
  } finally {
    await browser.close();
  }
});

test("/docs shows a $ref'd schema's fields where it is used", async () => {
  const doc = await spec();
  const { browser, page } = await openDocs(1280);
  try {
    // POST /v1/organisations takes OrganisationCreate by $ref: each of its fields, "required"
    // on exactly the required ones, with the rules (an enum's values).
    const create = doc.paths['/v1/organisations'].post;
    assert.equal(create.requestBody.content['application/json'].schema.$ref, '#/components/schemas/OrganisationCreate');
    const schema = doc.components.schemas.OrganisationCreate;
    const op = page.locator('#op-createOrganisation');
    assert.equal(await op.locator('.app-docs-schema .app-docs-type a', { hasText: 'OrganisationCreate' }).first().getAttribute('href'), '#schema-OrganisationCreate');
    const fields = await op.locator('.app-docs-media > .app-docs-schema > .app-docs-fields > .app-docs-field').evaluateAll((els) =>
      els.map((el) => ({
        name: el.querySelector('.app-docs-name').textContent,
        required: el.querySelector(':scope > .app-docs-field-head .app-docs-required') !== null,
      })),
    );
    assert.deepEqual(fields.map((f) => f.name), Object.keys(schema.properties));
    assert.deepEqual(fields.filter((f) => f.required).map((f) => f.name).sort(), [...schema.required].sort());
    const kind = op.locator('.app-docs-field', { has: page.locator('code.app-docs-name', { hasText: /^kind$/ }) }).first();
    for (const v of schema.properties.kind.enum) {
      assert.ok((await kind.innerText()).includes(`"${v}"`), `kind's value ${v}`);
    }
    assert.ok(await op.locator('.app-docs-field code.app-docs-name', { hasText: /^name$/ }).first().isVisible());

    // GET /v1/organisations answers OrganisationPage, whose items are Organisation ($ref inside
    // a $ref): opening the 200 body shows Organisation's fields under "Each item".
    const list = page.locator('#op-listOrganisations');
    const details = list.locator('details', { hasText: 'The 200 response body (application/json)' });
    const org = doc.components.schemas.Organisation;
    const itemField = (name) => details.locator('.app-docs-items .app-docs-field code.app-docs-name', { hasText: new RegExp(`^${name}$`) }).first();
    assert.equal(await itemField('registration_number').isVisible(), false); // closed at first
    await details.locator('summary').click();
    for (const name of Object.keys(org.properties)) {
      assert.ok(await itemField(name).isVisible(), `Organisation.${name} in the 200 body`);
    }
    // The shared error answers name their schema, linked to its entry, which lists its fields.
    const problemLink = list.locator('table a[href="#schema-Problem"]').first();
    assert.ok(await problemLink.isVisible());
    const entry = page.locator('#schema-Problem');
    for (const name of Object.keys(doc.components.schemas.Problem.properties)) {
      assert.equal(await entry.locator('.app-docs-name', { hasText: new RegExp(`^${name}$`) }).count(), 1, `Problem.${name}`);
    }
    // Every schema has its entry.
    for (const name of Object.keys(doc.components.schemas)) {
      assert.equal(await page.locator(`[id="schema-${name}"]`).count(), 1, name);
    }

    // A schema that contains itself (none in today's description): the page's own renderer,
    // given one, draws its fields once and links the inner use to the schema's entry.
    const cyclic = await page.evaluate(async () => {
      const src = [...document.scripts].map((s) => s.src).find((s) => /\/assets\/js\/docs(\.[0-9a-f]{8})?\.js$/.test(s));
      const { render } = await import(src);
      const root = document.createElement('div');
      render({
        openapi: '3.1.0',
        info: { title: 'Cycle', version: '1' },
        tags: [{ name: 'T' }],
        paths: {
          '/nodes': {
            get: {
              tags: ['T'], operationId: 'getNodes', security: [],
              responses: { 200: { description: 'A node', content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } } } },
            },
          },
        },
        components: {
          schemas: {
            Node: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } },
          },
        },
      }, root);
      const body = root.querySelector('#op-getNodes details');
      return {
        names: [...body.querySelectorAll('code.app-docs-name')].map((c) => c.textContent),
        links: [...body.querySelectorAll('a[href="#schema-Node"]')].length,
      };
    });
    assert.deepEqual(cyclic.names, ['name', 'children']);
    assert.ok(cyclic.links >= 2, `links to Node: ${cyclic.links}`); // the body's type, the items'

    assertCleanPage(page);
  } finally {
    await browser.close();
  }
});

test('/docs#<operation> shows that operation once the description is drawn', async () => {
  const { browser, page } = await openDocs(1280, '#op-listLicences');
  try {
    const box = await page.locator('#op-listLicences').boundingBox();
    assert.ok(box && box.y >= -1 && box.y < 200, `the operation is at y=${box?.y}`);
    assertCleanPage(page);
  } finally {
    await browser.close();
  }
});

for (const width of [1280, 390]) {
  test(`/docs is accessible at ${width} px`, async () => {
    const { browser, page } = await openDocs(width);
    try {
      // Some bodies open, so their fields are checked too.
      for (const d of await page.locator('details.app-docs-response').all().then((all) => all.slice(0, 12))) {
        await d.locator('summary').click();
      }
      await checkA11y(page, `docs at ${width} px`);
      const { sideways, wide } = await page.evaluate(() => ({
        sideways: document.documentElement.scrollWidth - window.innerWidth,
        wide: [...document.querySelectorAll('main *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.slice(0, 40)}"`),
      }));
      assert.ok(sideways <= 0, `the page scrolls ${sideways} px sideways at ${width} px: ${wide.join('; ')}`);
      await windowShot(page, `docs-${width}`);
      assertCleanPage(page);
    } finally {
      await browser.close();
    }
  });
}

test('/docs without JavaScript links to the description and shows no endless "Loading"', async () => {
  const { browser, page } = await openBrowser({ javaScript: false });
  try {
    const res = await page.goto(url('/docs'));
    assert.equal(res.status(), 200);
    assert.ok(await page.getByRole('link', { name: 'openapi.json' }).isVisible());
    // (Chromium with scripts turned off by playwright still parses <noscript> as a scripting
    // browser would, so its paragraph is checked as text, not for visibility.)
    assert.match(await page.locator('main noscript').textContent(), /This page needs JavaScript to show the description/);
    assert.equal(await page.getByText('Loading the description.').isVisible(), false);
    await checkA11y(page, 'docs without JavaScript');
    assertCleanPage(page);
  } finally {
    await browser.close();
  }
});
