// The counter display pairs by a short code: a new screen shows a code, a
// manager enters it (here over the API the brand console uses), and the
// screen goes live by itself. Before pairing, the code bar and Unpair are not
// shown; Unpair asks in a real dialog first; a pasted key still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, login, launch, SHOTS, PHONE } from './harness.mjs';
import { axeCheck } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

async function store5th() {
  const stores = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores', null)).body.items;
  return stores.find((s) => s.name === '5th Avenue');
}

test('a new display shows a code, a manager enters it, and it goes live', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${srv.url}/counter`);
  const codeEl = page.locator('#pair-code');
  await page.waitForFunction(() => /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(document.getElementById('pair-code').textContent));
  const code = (await codeEl.textContent()).trim();
  await page.getByText('Pair a counter display').waitFor();
  // not paired: no code bar, no Unpair
  assert.equal(await page.locator('#foot').isVisible(), false, 'the code bar is hidden before pairing');
  assert.equal(await page.getByRole('button', { name: 'Unpair' }).isVisible(), false);
  assert.equal(await page.getByLabel("Shopper's code").isVisible(), false);
  // the code is large enough to read from across the counter
  const size = await codeEl.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  assert.ok(size >= 60, `the code is ${size}px`);
  await page.screenshot({ path: join(SHOTS, 'counter-pairing.png') });
  await axeCheck(page, 'counter-pairing');

  const manager = await login(srv.url, 'manager@pike-pine.example');
  const store = await store5th();
  const typed = code.toLowerCase().replace('-', ' ');
  const r = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, manager, { name: 'Till 1', pairing_code: typed });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.key, undefined);

  await page.getByText('Live').waitFor({ timeout: 6000 });
  await page.getByText('5th Avenue').waitFor();
  assert.equal(await page.locator('#pair').isVisible(), false);
  assert.equal(await page.getByRole('button', { name: 'Unpair' }).isVisible(), true);
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem('shopkeeper.display')));
  assert.equal(saved.store, store.id);
  assert.match(saved.key, /^sk_/);
  // a reload stays paired
  await page.reload();
  await page.getByText('Live').waitFor();

  // Unpair asks first, in the page; keeping it changes nothing
  await page.getByRole('button', { name: 'Unpair' }).click();
  const dialog = page.getByRole('dialog', { name: 'Unpair this display?' });
  await dialog.waitFor();
  await page.screenshot({ path: join(SHOTS, 'counter-unpair-dialog.png') });
  await dialog.getByRole('button', { name: 'Keep it paired' }).click();
  assert.equal(await dialog.isVisible(), false);
  await page.getByText('Live').waitFor();
  assert.ok(await page.evaluate(() => localStorage.getItem('shopkeeper.display')));
  // Escape also keeps it
  await page.getByRole('button', { name: 'Unpair' }).click();
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await dialog.isVisible(), false);
  assert.ok(await page.evaluate(() => localStorage.getItem('shopkeeper.display')));
  // confirmed: back to a new code
  await page.getByRole('button', { name: 'Unpair' }).click();
  await dialog.getByRole('button', { name: 'Unpair' }).click();
  await page.waitForFunction((old) => /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(document.getElementById('pair-code').textContent)
    && document.getElementById('pair-code').textContent !== old, code);
  assert.equal(await page.evaluate(() => localStorage.getItem('shopkeeper.display')), null);
  assert.equal(await page.locator('#foot').isVisible(), false);
  await page.close();
});

test('a pasted display key still pairs, and the pairing screen fits a phone', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const store = await store5th();
  const display = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, { name: 'till 2' });
  const page = await browser.newPage({ viewport: PHONE });
  await page.goto(`${srv.url}/counter`);
  await page.waitForFunction(() => /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(document.getElementById('pair-code').textContent));
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= PHONE.width, `the pairing screen is ${wide}px wide at ${PHONE.width}px`);
  const box = await page.locator('#pair-code').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, 'the code fits the screen');
  await page.screenshot({ path: join(SHOTS, 'counter-pairing-phone.png') });
  await page.getByText('Have a display key?').click();
  await page.getByLabel('Display key').fill(display.body.key);
  await page.getByRole('button', { name: 'Pair with this key' }).click();
  await page.getByText('Live').waitFor();
  await page.close();
});
