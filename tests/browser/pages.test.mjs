// The public pages in a real browser: the home page, a store's notice (it
// says everything staff can see, and how long each thing is kept), the page
// a mistyped link lands on, and the favicon. Each screen is checked with
// axe-core at phone and desktop widths and photographed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, api, launch, SHOTS, shoot, axeCheck, PHONE } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

async function newPage() {
  const page = await (await browser.newContext({ viewport: PHONE })).newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

test('the home page lists the brands and leads to joining one', async () => {
  const page = await newPage();
  await page.goto(srv.url + '/');
  await page.getByRole('heading', { name: 'Pike & Pine Coffee' }).waitFor();
  await shoot(page, 'home');
  await axeCheck(page, 'home');
  await page.getByRole('link', { name: 'Read and join Pike & Pine Coffee' }).click();
  await page.waitForURL(/\/me#brand\/pike-pine$/);
  assert.deepEqual(page.errors, []);
});

test('a store notice says everything staff see and how long purchases are kept', async () => {
  const page = await newPage();
  const privacy = (await api(srv.url, 'GET', '/v1/privacy')).body.retention;
  for (const [brand, hasCatalogue] of [['pike-pine', false], ['marlowe-books', true]]) {
    const store = (await api(srv.url, 'GET', `/v1/brands/${brand}/stores`)).body.items[0];
    await page.goto(srv.url + '/stores/' + store.id);
    await page.locator('#notice').waitFor();
    const sees = await page.locator('#h-see').locator('..').innerText();
    for (const what of [/Your name/, /Your answers to these choices/, /What not to ask or offer you/,
      /"The usual"/, /two or more separate visits/, /Suggestions for you and the people you\s+shop for/]) {
      assert.match(sees, what, brand + ': ' + what);
    }
    const none = page.getByText(/has no catalogue in Shopkeeper yet/);
    assert.equal(await none.isVisible(), !hasCatalogue, brand + ': says whether suggestions can be made');
    const keep = await page.locator('#keep').innerText();
    assert.match(keep, /What you bought/);
    assert.ok(keep.includes(privacy.purchases.slice(1)), 'the service\'s own words on purchases: ' + keep);
    assert.match(keep, new RegExp(privacy.visits_days + ' days'));
    await shoot(page, 'store-notice-' + brand);
    await axeCheck(page, 'store-notice-' + brand);
  }
  assert.deepEqual(page.errors, []);
});

test('a mistyped link lands on a page that says so and leads home', async () => {
  const page = await newPage();
  for (const path of ['/no-such-page', '/me/settings/old', '/stores/st_00000000000000000000']) {
    const res = await page.goto(srv.url + path);
    assert.equal(res.status(), 404, path);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    assert.ok((await page.title()).length > 0, path + ': a title');
  }
  await page.goto(srv.url + '/no-such-page');
  await page.getByRole('heading', { name: 'We could not find this page' }).waitFor();
  assert.match(await page.title(), /not found/i);
  await shoot(page, 'not-found');
  await axeCheck(page, 'not-found');
  await page.getByRole('link', { name: 'Home' }).click();
  await page.getByRole('heading', { name: 'Brands you can join' }).waitFor();
  // a store that does not exist: its own words, with the same status
  await page.goto(srv.url + '/stores/st_00000000000000000000');
  await page.getByRole('heading', { name: 'We could not find this store' }).waitFor();
  await axeCheck(page, 'store-missing');
  // the icon a browser asks for
  const ico = await page.request.get(srv.url + '/favicon.ico');
  assert.equal(ico.status(), 200);
  assert.equal(ico.headers()['content-type'], 'image/x-icon');
  assert.deepEqual(page.errors, []);
});
