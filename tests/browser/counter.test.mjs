// The counter display in a real browser: paired by its link, it shows a
// member's card after their device is heard, and removes it the moment they
// withdraw recognition. Strangers never appear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, login, eid, launch, SHOTS } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('a card appears on a sighting and leaves on withdrawal', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const stores = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores', null)).body.items;
  const store = stores.find((s) => s.name === '5th Avenue');
  const display = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, { name: 'till 1' });
  assert.equal(display.status, 201);
  const scanner = await api(srv.url, 'POST', `/v1/stores/${store.id}/scanners`, admin, {});
  assert.equal(scanner.status, 201);

  // Jeff's loyalty tag, keyed by the service (the "shared" method)
  const jeff = await login(srv.url, 'jeff@example.com');
  const tag = await api(srv.url, 'POST', '/v1/me/devices', jeff, { name: 'Key fob', method: 'shared', rotation_exponent: 8 });
  assert.equal(tag.status, 201);

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${srv.url}/counter#pair=${display.body.key}`);
  await page.getByText('No one recognised right now.').waitFor();
  assert.ok(!page.url().includes('pair='), 'the key leaves the address bar');
  await page.getByText('Live').waitFor();

  // a stranger and Jeff are heard
  const offset = tag.body.clock - Math.floor(Date.now() / 1000);
  const now = Math.floor(Date.now() / 1000) + offset;
  const r = await api(srv.url, 'POST', '/v1/sightings', scanner.body.key, {
    sightings: [{ eid: '0123456789abcdef', rssi: -80 }, { eid: eid(tag.body.identity_key, 8, now >>> 0), rssi: -55 }],
  });
  assert.equal(r.status, 202);
  const card = page.locator('article.card');
  await card.first().waitFor();
  assert.equal(await card.count(), 1);
  await assert.doesNotReject(page.getByText('The usual: Tall Drip Pike').waitFor());
  assert.match(await card.first().innerText(), /Jeff/);
  assert.match(await card.first().innerText(), /pastry offers/);
  await page.waitForTimeout(400); // let the arrival animation finish
  await page.screenshot({ path: join(SHOTS, 'counter-card.png') });

  // served, with one tap
  await page.getByRole('button', { name: 'Served' }).click();
  await page.getByRole('button', { name: 'Served ✓' }).waitFor();

  // Jeff withdraws recognition: the card leaves the screen at once
  const t0 = Date.now();
  const w = await api(srv.url, 'PUT', '/v1/me/brands/pike-pine', jeff, { purposes: ['preferences', 'history'] });
  assert.equal(w.status, 200);
  await page.getByText('No one recognised right now.').waitFor({ timeout: 2000 });
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(await card.count(), 0);

  // and later sightings show nothing
  await api(srv.url, 'POST', '/v1/sightings', scanner.body.key, {
    sightings: [{ eid: eid(tag.body.identity_key, 8, (Math.floor(Date.now() / 1000) + offset) >>> 0) }],
  });
  await page.waitForTimeout(500);
  assert.equal(await card.count(), 0);
  await page.screenshot({ path: join(SHOTS, 'counter-empty.png') });
});

test('the display says when it is offline and comes back by itself', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const store = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores', null)).body.items[0];
  const display = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, {});
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${srv.url}/counter#pair=${display.body.key}`);
  await page.getByText('Live').waitFor();
  assert.equal(await srv.down(), 0, 'the server stops cleanly with a display connected');
  await page.getByText('Offline — reconnecting…').waitFor({ timeout: 5000 });
  await page.screenshot({ path: join(SHOTS, 'counter-offline.png') });
  await srv.up();
  await page.getByText('Live').waitFor({ timeout: 20000 });
});
