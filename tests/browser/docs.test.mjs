// docs.test.mjs: /docs renders the API description with Swagger UI in a real browser, under the
// site's strict Content-Security-Policy (no inline script or style element, same origin only):
// the operations of /openapi.json appear, no request leaves the site, and the page is clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { assertCleanPage, openBrowser, shot, url } from './lib.mjs';

test('/docs renders every tag of the description from local assets', async () => {
  const { browser, page } = await openBrowser();
  const offsite = [];
  try {
    page.on('request', (req) => {
      if (!req.url().startsWith(url('/')) && !req.url().startsWith('data:')) {
        offsite.push(req.url());
      }
    });
    const spec = await (await fetch(url('/openapi.json'))).json();
    const res = await page.goto(url('/docs'));
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    await page.locator('.swagger-ui .info .title').waitFor();
    assert.match(await page.locator('.swagger-ui .info .title').innerText(), /M-PACT Registry API/);
    // Every tag's section and the operations under it are rendered.
    for (const tag of spec.tags) {
      assert.equal(await page.locator(`.opblock-tag[data-tag="${tag.name}"]`).count(), 1, tag.name);
    }
    const ops = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    assert.equal(await page.locator('.opblock').count(), ops);
    // Opening one operation shows its responses.
    await page.locator('.opblock-summary-path[data-path="/v1/organisations"]').first().click();
    await page.locator('.responses-table').first().waitFor();
    await shot(page, 'docs');
    assert.deepEqual(offsite, []);
    assertCleanPage(page);
  } finally {
    await browser.close();
  }
});
