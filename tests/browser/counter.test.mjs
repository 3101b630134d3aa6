// The counter display in a real browser: paired by its link, it shows a
// member's card after their device is heard, and removes it the moment they
// withdraw recognition. Strangers never appear.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, login, eid, launch, SHOTS } from './harness.mjs';
import { axeCheck } from './harness.mjs';

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
  await axeCheck(page, 'counter-card');
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

// WCAG contrast of every piece of text in an element, against what is
// really behind it (backgrounds blended up the tree, opacity included).
async function worstContrast(locator) {
  return locator.evaluate((root) => {
    const rgba = (s) => { const m = s.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
    const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    let worst = { ratio: 99, text: '' };
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement;
      const chain = []; for (let e = el; e; e = e.parentElement) chain.unshift(e);
      let bg = [255, 255, 255, 1], opacity = 1;
      for (const e of chain) {
        const cs = getComputedStyle(e);
        bg = over(rgba(cs.backgroundColor), bg);
        opacity *= parseFloat(cs.opacity);
      }
      const fg = rgba(getComputedStyle(el).color);
      // a translucent element shows what is behind it through its text
      const seen = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
      const r = ratio(seen, bg);
      if (r < worst.ratio) worst = { ratio: Math.round(r * 100) / 100, text: n.textContent.trim() };
    }
    return worst;
  });
}

test('at phone width a card fits; Served is undone for a minute; served cards stay readable; the don\'t line says what not to do', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const store = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores', null)).body.items.find((s) => s.name === 'Union Square');
  const display = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, { name: 'phone till' });
  const other = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, { name: 'second till' });
  const scanner = await api(srv.url, 'POST', `/v1/stores/${store.id}/scanners`, admin, {});
  // Ravi answered "Name on the cup: Rav" and also marked it "never ask me this"
  const ravi = await login(srv.url, 'ravi@example.com');
  const tag = await api(srv.url, 'POST', '/v1/me/devices', ravi, { name: 'Key fob', method: 'shared', rotation_exponent: 8 });
  assert.equal(tag.status, 201);

  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${srv.url}/counter#pair=${display.body.key}`);
  await page.getByText('Live').waitFor();
  const page2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page2.goto(`${srv.url}/counter#pair=${other.body.key}`);
  await page2.getByText('Live').waitFor();

  const now = tag.body.clock >>> 0;
  await api(srv.url, 'POST', '/v1/sightings', scanner.body.key, { sightings: [{ eid: eid(tag.body.identity_key, 8, now), rssi: -50 }] });
  const card = page.locator('article.card');
  await card.first().waitFor();
  await page.waitForTimeout(400);
  const text = await card.first().innerText();
  // one reading only: the answer is not shown, the line is an instruction
  assert.match(text, /Don't ask about:\s*Name on the cup/);
  assert.doesNotMatch(text, /Rav\b/, 'the answer on the don\'t-list is not shown too');
  assert.doesNotMatch(text, /ask or offer/);

  // nothing is cut off at 390 px
  const fits = async (what) => {
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `${what}: the page is ${wide}px wide at 390px`);
    for (const sel of ['article.card', 'button.served-btn', '#code', '#code-form button', '#unpair']) {
      const b = await page.locator(sel).first().boundingBox();
      assert.ok(b && b.x >= 0 && b.x + b.width <= 390, `${what}: ${sel} is at ${b && b.x}..${b && b.x + b.width}`);
    }
  };
  await fits('a new card');
  await page.screenshot({ path: join(SHOTS, 'counter-phone-card.png'), fullPage: true });

  await page.getByRole('button', { name: 'Served', exact: true }).click();
  await page.getByRole('button', { name: 'Served ✓' }).waitFor();
  await page2.getByRole('button', { name: 'Served ✓' }).waitFor();
  const undo = page.getByRole('button', { name: 'Undo served' });
  await undo.waitFor();
  await fits('a served card');
  const worst = await worstContrast(card.first());
  assert.ok(worst.ratio >= 4.5, `served card text "${worst.text}" has contrast ${worst.ratio}:1`);
  await page.screenshot({ path: join(SHOTS, 'counter-phone-served.png'), fullPage: true });

  // undo: this display and the other see the card unserved
  await undo.click();
  await page.getByRole('button', { name: 'Served', exact: true }).waitFor();
  await page2.getByRole('button', { name: 'Served', exact: true }).waitFor({ timeout: 3000 });
  assert.equal(await undo.count(), 0);
  await page.close();
  await page2.close();
});

test('a paused server shows as offline within 35 s, and Live again when it resumes', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const store = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores', null)).body.items[0];
  const display = await api(srv.url, 'POST', `/v1/stores/${store.id}/displays`, admin, {});
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${srv.url}/counter#pair=${display.body.key}`);
  await page.getByText('Live').waitFor();
  const t0 = Date.now();
  process.kill(srv.pid(), 'SIGSTOP');
  try {
    await page.getByText(/^Offline/).waitFor({ timeout: 36000 });
    assert.ok(Date.now() - t0 <= 35000, `offline after ${Date.now() - t0} ms`);
    assert.match(await page.locator('#status').innerText(), /no word from the server/);
    await page.screenshot({ path: join(SHOTS, 'counter-paused.png') });
  } finally {
    process.kill(srv.pid(), 'SIGCONT');
  }
  await page.getByText('Live').waitFor({ timeout: 20000 });
  await page.close();
});
