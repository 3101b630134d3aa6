// The API reference at /docs/api: Redoc (from npm, served from the tree)
// renders /openapi.json in Chromium, with no request leaving the server, and
// the console links to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, SHOTS, shoot, DESKTOP } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('the reference page renders every tag and an operation from the document', async () => {
  const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  const errors = [], elsewhere = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const outside = (u) => !u.startsWith(srv.url) && !u.startsWith('blob:') && !u.startsWith('data:');
  page.on('requestfinished', (r) => { if (outside(r.url())) elsewhere.push(r.url()); });
  page.on('response', (r) => { if (outside(r.url())) elsewhere.push(r.url()); });
  await page.goto(srv.url + '/docs/api');
  await page.getByRole('heading', { name: 'Shopkeeper API' }).first().waitFor({ timeout: 20000 });
  const doc = await (await fetch(srv.url + '/openapi.json')).json();
  for (const t of doc.tags)
    assert.ok(await page.getByText(t.name, { exact: true }).count() > 0, `the page shows the tag ${t.name}`);
  // an operation's summary, from the route table through the document
  await page.getByRole('heading', { name: 'sign up as a shopper' }).waitFor();
  assert.equal(await page.locator('#missing').isVisible(), false);
  assert.deepEqual(errors, [], 'no script errors');
  assert.deepEqual(elsewhere, [], 'nothing is fetched from another origin (no CDN)');
  await shoot(page, 'api-reference');
});

test('the console links to the reference', async () => {
  const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  await page.goto(srv.url + '/console');
  await page.getByLabel('Work email').fill('admin@pike-pine.example');
  await page.getByLabel('Password').fill('shopkeeper-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const link = page.getByRole('link', { name: 'API reference' });
  await link.waitFor();
  assert.equal(await link.getAttribute('href'), '/docs/api');
});
