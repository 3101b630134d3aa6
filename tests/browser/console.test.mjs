// The brand console in a real browser: staff sign in, each role sees only
// what it may use (a crawl of every screen and link finds nothing that the
// server refuses), an admin opens a store and gives it a manager, and that
// manager sees only their store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, api, login, launch, shoot, axeCheck, SHOTS, PHONE, DESKTOP } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

async function signIn(page, email, password = 'shopkeeper-demo') {
  await page.goto(`${srv.url}/console`);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.locator('nav a[data-area]').first().waitFor();
}

// Every console area and every in-console link reachable from it, as this
// role: no response the pages asked for may be a 403 (or a 5xx).
async function crawl(page, label) {
  const refused = [];
  page.on('response', (r) => {
    if (r.status() === 403 || r.status() >= 500) refused.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  const seen = new Set();
  const queue = await page.locator('nav a[data-area]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(queue.length > 0, `${label}: the console shows no area`);
  while (queue.length) {
    const href = queue.shift();
    if (seen.has(href) || seen.size > 40) continue;
    seen.add(href);
    await page.goto(`${srv.url}/console${href}`);
    await page.waitForLoadState('networkidle');
    assert.equal(await page.locator('.screen .msg.error[role=alert]:not([hidden])').count(), 0,
      `${label}: ${href} shows an error: ${await page.locator('.screen').innerText()}`);
    await axeCheck(page, `console ${label} ${href}`);
    const links = await page.locator('.screen a[href^="#/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const l of links) if (!seen.has(l) && !l.endsWith('/sign')) queue.push(l);
  }
  assert.deepEqual(refused, [], `${label}: the console asked for what this role may not do`);
  return [...seen];
}

test('each role crawls its console and meets no refusal', async () => {
  const expected = {
    'admin@pike-pine.example': ['#/stores', '#/choices', '#/notice', '#/staff', '#/members', '#/catalogue', '#/counter', '#/account'],
    'manager@pike-pine.example': ['#/stores', '#/staff', '#/members', '#/catalogue', '#/counter', '#/account'],
    'counter@pike-pine.example': ['#/counter', '#/account'],
  };
  for (const [email, areas] of Object.entries(expected)) {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const page = await ctx.newPage();
    await signIn(page, email);
    const nav = await page.locator('nav a[data-area]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(nav, areas, `${email} sees the areas of the role`);
    const visited = await crawl(page, email);
    assert.ok(visited.length >= areas.length);
    await ctx.close();
  }
});

test('an admin opens a store and gives it a manager, who sees only that store', async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  await signIn(page, 'admin@pike-pine.example');
  await page.getByRole('link', { name: 'Stores' }).click();
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'Open a store' }) });
  await form.getByLabel('Name').fill('Harbour Kiosk');
  await form.getByLabel('City').fill('Seattle');
  await form.getByLabel('Time zone').fill('Mars/Olympus');
  await form.getByRole('button', { name: 'Open store' }).click();
  await form.getByText('"Mars/Olympus" is not a time zone').waitFor();
  await form.getByLabel('Time zone').fill('America/Los_Angeles');
  await form.getByRole('button', { name: 'Open store' }).click();
  await page.getByRole('heading', { name: 'Harbour Kiosk' }).waitFor();
  const storeId = page.url().split('#/stores/')[1];
  assert.match(storeId, /^sto_/);

  // a scanner key, shown once, then listed and revoked
  await page.getByLabel('Kind').selectOption('scanners');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.locator('.secret').innerText()).trim();
  assert.ok(key.length > 20);
  const heard = await api(srv.url, 'POST', '/v1/sightings', key, { sightings: [{ eid: '0123456789abcdef', rssi: -70 }] });
  assert.equal(heard.status, 202);
  await page.reload();
  await page.getByRole('button', { name: /Revoke Scanner/ }).waitFor();
  await shoot(page, 'console-store');
  await page.getByRole('button', { name: /Revoke Scanner/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('is revoked').waitFor();
  const after = await api(srv.url, 'POST', '/v1/sightings', key, { sightings: [{ eid: '0123456789abcdef', rssi: -70 }] });
  assert.equal(after.status, 401, 'a revoked key stops at once');

  // a manager for the new store only, with a first password
  await page.getByRole('link', { name: 'Staff' }).click();
  const add = page.locator('form', { has: page.getByRole('heading', { name: 'Add someone' }) });
  await add.getByLabel('Name').fill('Mina Park');
  await add.getByLabel('Work email').fill('mina@pike-pine.example');
  await add.getByLabel('Role').selectOption('manager');
  await add.getByLabel('Harbour Kiosk').check();
  await add.getByLabel('First password (optional)').fill('harbour-kiosk-2026');
  await add.getByRole('button', { name: 'Add' }).click();
  await page.getByText('Mina Park is added as Store manager at Harbour Kiosk').waitFor();
  await shoot(page, 'console-staff');
  await ctx.close();

  const mctx = await browser.newContext({ viewport: PHONE });
  const mp = await mctx.newPage();
  await signIn(mp, 'mina@pike-pine.example', 'harbour-kiosk-2026');
  await mp.getByRole('heading', { name: 'Stores' }).waitFor();
  const names = await mp.locator('.screen table a').allInnerTexts();
  assert.deepEqual(names, ['Harbour Kiosk'], 'the manager sees only their store');
  await shoot(mp, 'console-manager-stores');
  // another store's page, typed in by hand, is refused by the server
  const other = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores')).body.items.find((s) => s.name === '5th Avenue');
  const r = await mp.evaluate(async (id) => {
    const s = JSON.parse(sessionStorage.getItem('shopkeeper.staff'));
    const res = await fetch(`/v1/stores/${id}/keys`, { headers: { Authorization: 'Bearer ' + s.token } });
    return { status: res.status, body: await res.json() };
  }, other.id);
  assert.equal(r.status, 403);
  assert.match(r.body.detail, /manager/);
  // signing out ends the session on the server too
  await mp.getByRole('button', { name: 'Sign out' }).click();
  await mp.getByText('You are signed out.').waitFor();
  await mctx.close();
});

test('the door sign leads to the notice, where a member checks in with one tap', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const store = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores')).body.items.find((s) => s.name === '5th Avenue');
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  await signIn(page, 'admin@pike-pine.example');
  await page.goto(`${srv.url}/console#/stores/${store.id}/sign`);
  await page.locator('.sign-qr svg').waitFor();
  const url = (await page.locator('.door-sign .url').innerText()).trim();
  assert.equal(url, `${srv.url}/stores/${store.id}`);
  await axeCheck(page, 'console-door-sign');
  await shoot(page, 'console-door-sign');
  await ctx.close();

  // Jeff, signed in to the portal on his phone, opens what the QR code says
  const jeff = await login(srv.url, 'jeff@example.com');
  const phone = await browser.newContext({ viewport: PHONE });
  await phone.addInitScript((t) => sessionStorage.setItem('shopkeeper.customer', t), jeff);
  const p = await phone.newPage();
  await p.goto(url);
  await p.getByRole('button', { name: "I'm here — check in" }).click();
  await p.getByText('You are checked in').waitFor();
  const cards = await api(srv.url, 'GET', `/v1/stores/${store.id}/cards`, admin);
  assert.ok(cards.body.items.some((c) => /Jeff/.test(c.customer?.name)), 'his card is on the counter');
  await axeCheck(p, 'notice-checkin');
  await phone.close();

  // a member who did not grant recognition is told what checking in would share
  const c = await api(srv.url, 'POST', '/v1/customers', null, { name: 'Noor Quiet', email: 'noor@example.com', password: 'quiet-please-1' });
  await api(srv.url, 'PUT', '/v1/me/brands/pike-pine', c.body.token, { purposes: ['preferences'] });
  const other = await browser.newContext({ viewport: PHONE });
  await other.addInitScript((t) => sessionStorage.setItem('shopkeeper.customer', t), c.body.token);
  const q = await other.newPage();
  await q.goto(url);
  await q.getByText('You have not switched on recognition').waitFor();
  assert.match(await q.locator('#checkin-text').innerText(), /your name, your answers and your don't-list/);
  assert.equal(await q.getByRole('button', { name: "I'm here — check in" }).count(), 0);
  await other.close();
});

// The "done when": with only a browser, a brand admin opens a new
// store, pairs its counter display by the code it shows, sets the brand's
// choices, and sees a demo shopper's card arrive on that counter.
test('a brand admin opens a store, pairs its counter, sets a choice and sees a card arrive', async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  await signIn(page, 'admin@pike-pine.example');
  await page.getByRole('link', { name: 'Stores' }).click();
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'Open a store' }) });
  await form.getByLabel('Name').fill('Pier 70');
  await form.getByLabel('City').fill('Seattle');
  await form.getByLabel('Time zone').fill('America/Los_Angeles');
  await form.getByRole('button', { name: 'Open store' }).click();
  await page.getByRole('heading', { name: 'Pier 70' }).waitFor();
  const storeId = page.url().split('#/stores/')[1];

  // the till's screen shows a code; the admin types it into the console
  const till = await browser.newContext({ viewport: DESKTOP });
  const counter = await till.newPage();
  await counter.goto(`${srv.url}/counter`);
  await counter.waitForFunction(() => /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(document.getElementById('pair-code')?.textContent || ''));
  const code = (await counter.locator('#pair-code').textContent()).trim();
  const pair = page.locator('form', { has: page.getByRole('heading', { name: 'Pair a counter display' }) });
  await pair.getByLabel('Code shown on the display').fill(code);
  await pair.getByLabel('Name').fill('Front till');
  await pair.getByRole('button', { name: 'Pair display' }).click();
  await page.getByText('Front till is paired').waitFor();
  await counter.getByText('Live').waitFor({ timeout: 8000 });
  await counter.getByText('Pier 70').waitFor();
  await page.getByRole('cell', { name: 'Front till', exact: true }).waitFor();

  // a new simple choice, through the choices editor
  await page.getByRole('link', { name: 'Choices' }).click();
  await page.getByRole('button', { name: /Add a choice/ }).click();
  await page.getByLabel('Question').last().fill('Sleeve on the cup');
  await page.getByLabel('Kind').last().selectOption('yesno');
  await page.getByRole('button', { name: /^Save/ }).first().click();
  await page.getByText(/Saved as version/).waitFor();
  const brand = (await api(srv.url, 'GET', '/v1/brands/pike-pine')).body;
  const sleeve = brand.choices.find((c) => c.label === 'Sleeve on the cup');
  assert.ok(sleeve, 'the choice is the brand\'s now');

  // Jeff answers it and walks in (the app check-in): his card arrives
  const jeff = await login(srv.url, 'jeff@example.com');
  const prefs = (await api(srv.url, 'GET', '/v1/me/brands/pike-pine/preferences', jeff)).body;
  const answers = { ...(prefs.answers || {}), [sleeve.key]: true };
  const put = await api(srv.url, 'PUT', '/v1/me/brands/pike-pine/preferences', jeff, { answers, dont: prefs.dont || [] });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const r = await api(srv.url, 'POST', '/v1/me/presence', jeff, { store: storeId });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const card = counter.locator('article.card');
  await card.first().waitFor();
  assert.match(await card.first().innerText(), /Jeff/);
  assert.match(await card.first().innerText(), /Sleeve on the cup/);
  await axeCheck(counter, 'counter-paired-from-console');
  await counter.screenshot({ path: `${SHOTS}/done-when-counter.png` });
  await till.close();
  await ctx.close();
});

test('a member sees that the notice changed since they agreed, and choosing again agrees', async () => {
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const cur = (await api(srv.url, 'GET', '/v1/brands/pike-pine/notice')).body;
  const v = await api(srv.url, 'PUT', '/v1/brands/pike-pine/notice', admin,
    { text: cur.text + '\n\nFrom today we also keep the stores you visit, for 30 days.', faq: cur.faq });
  assert.equal(v.status, 200);
  const anna = await login(srv.url, 'anna@example.com');
  const mine = (await api(srv.url, 'GET', '/v1/me/brands/pike-pine', anna));
  assert.equal(mine.status, 200, 'Anna is a Pike & Pine member in the demo');
  const phone = await browser.newContext({ viewport: PHONE });
  await phone.addInitScript((t) => sessionStorage.setItem('shopkeeper.customer', t), anna);
  const p = await phone.newPage();
  await p.goto(`${srv.url}/me#brand/pike-pine`);
  const note = p.getByRole('status').filter({ hasText: 'changed its notice' });
  await note.waitFor();
  assert.match(await note.innerText(), new RegExp(`You agreed to version ${mine.body.notice_version}; version ${v.body.version}`));
  await note.getByText('See the version you agreed to').click();
  await note.getByText(cur.text.slice(0, 30)).waitFor();
  await axeCheck(p, 'portal-notice-changed');
  await shoot(p, 'portal-notice-changed');
  await phone.close();
  // agreeing again (here over the API the portal uses) clears it
  const again = await api(srv.url, 'PUT', '/v1/me/brands/pike-pine', anna,
    { purposes: mine.body.purposes, notice_version: v.body.version });
  assert.equal(again.status, 200);
  assert.equal(again.body.notice_version, v.body.version);
});

test('an invited counter worker chooses a password from the link and sees only the counter', async () => {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  await signIn(page, 'manager@pike-pine.example');
  await page.getByRole('link', { name: 'Staff' }).click();
  const add = page.locator('form', { has: page.getByRole('heading', { name: 'Add someone' }) });
  await add.getByLabel('Name').fill('Ines Roth');
  await add.getByLabel('Work email').fill('ines@pike-pine.example');
  // a manager gives only store roles, at their own store
  const options = await add.getByLabel('Role').locator('option').allInnerTexts();
  assert.deepEqual(options, ['Counter staff', 'Store manager']);
  await add.getByLabel('5th Avenue').check();
  await add.getByRole('button', { name: 'Add' }).click();
  await page.getByText('Ines Roth is added as Counter staff at 5th Avenue').waitFor();
  const link = (await add.locator('.secret').innerText()).trim();
  assert.match(link, /\/reset#token=sk_/);
  await ctx.close();

  const ines = await browser.newContext({ viewport: PHONE });
  const p = await ines.newPage();
  await p.goto(link);
  await p.getByRole('heading', { name: /Welcome/ }).waitFor();
  await p.getByLabel('New password', { exact: true }).fill('ines-at-the-till');
  await p.getByLabel('The same password again').fill('ines-at-the-till');
  await p.getByRole('button', { name: 'Set my password' }).click();
  await p.getByText('Your password is set').first().waitFor();
  await signIn(p, 'ines@pike-pine.example', 'ines-at-the-till');
  const nav = await p.locator('nav a[data-area]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(nav, ['#/counter', '#/account']);
  await p.getByRole('link', { name: 'Your account' }).click();
  await p.getByRole('listitem').filter({ hasText: 'Counter staff at 5th Avenue' }).waitFor();
  // the link works once
  const again = await ines.newPage();
  await again.goto(link);
  await again.getByRole('heading', { name: 'This link no longer works' }).waitFor();
  await ines.close();
});
