// A suggestion on the counter card, in a real browser: the demo bookshop's
// card for Jeff's household shows one suggestion for Jeff and one for Anna,
// each with a reason a person can read; tapping "No thanks" removes it, and
// it does not come back on his next visit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { startServer, api, login, eid, launch, SHOTS } from './harness.mjs';

let srv, browser;
before(async () => {
  srv = await startServer(['--visit-quiet', '2']);
  browser = await launch();
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => { await browser?.close(); await srv?.stop(); });

test('suggestions on the card, with reasons; a declined one does not return', async () => {
  const admin = await login(srv.url, 'admin@marlowe-books.example');
  const store = (await api(srv.url, 'GET', '/v1/brands/marlowe-books/stores', null)).body.items[0];
  const display = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, {});
  const scanner = await api(srv.url, 'POST', `/v1/stores/${store.id}/scanners`, admin, {});
  const jeff = await login(srv.url, 'jeff@example.com');
  const tag = await api(srv.url, 'POST', '/v1/me/devices', jeff, { name: 'Key fob', method: 'shared', rotation_exponent: 8 });
  assert.equal(tag.status, 201);
  const offset = tag.body.clock - Math.floor(Date.now() / 1000);
  const heard = () => api(srv.url, 'POST', '/v1/sightings', scanner.body.key, {
    sightings: [{ eid: eid(tag.body.identity_key, 8, (Math.floor(Date.now() / 1000) + offset) >>> 0) }],
  });

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${srv.url}/counter#pair=${display.body.key}`);
  await page.getByText('Live').waitFor();
  assert.equal((await heard()).status, 202);
  await page.locator('article.card').first().waitFor();
  await page.getByText('Worth mentioning').waitFor();
  const rows = page.locator('.sugg-row');
  assert.equal(await rows.count(), 2, 'two suggestions: one for Jeff, one for Anna');
  const texts = await rows.allInnerTexts();
  assert.ok(texts.some((t) => /because you bought/i.test(t)), texts.join(' | '));
  assert.ok(texts.some((t) => /Anna/.test(t)), texts.join(' | '));
  assert.ok(!texts.some((t) => /Dragon|Space Pirates/.test(t)), 'never a children\'s book: on the don\'t-list');
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(SHOTS, 'counter-suggestions.png') });

  // "No thanks" on the first suggestion: it leaves the card at once
  const declined = (await rows.first().locator('strong').innerText()).trim();
  await rows.first().getByRole('button', { name: 'No thanks' }).click();
  await page.waitForFunction((t) => ![...document.querySelectorAll('.sugg-row strong')].some((e) => e.textContent === t), declined);

  // the visit ends (quiet time), then Jeff comes back: the declined book stays away
  await page.getByText('No one recognised right now.').waitFor({ timeout: 10000 });
  assert.equal((await heard()).status, 202);
  await page.locator('article.card').first().waitFor();
  await page.waitForTimeout(300);
  const again = await page.locator('.sugg-row strong').allInnerTexts();
  assert.ok(!again.map((t) => t.trim()).includes(declined), `${declined} came back: ${again}`);
});
