// The customer portal (/me) and the public store notice (/stores/{id}) in a
// real browser against a real server. The whole shopper story on a phone:
// sign up, join Pike & Pine for recognition and preferences, set the usual,
// see the preview card, add a simulated tag, be heard by the store's scanner
// and find the look in "who looked", leave, download the export, delete the
// account. Every screen is photographed at phone and desktop widths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, login, eid, launch, SHOTS, shoot, axeCheck, PHONE, DESKTOP } from './harness.mjs';


let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

// A page that records what could leak a token: console lines and request URLs.
async function newPage(viewport = PHONE) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.leaks = { console: [], urls: [] };
  page.on('console', (m) => page.leaks.console.push(m.text()));
  page.on('pageerror', (e) => page.leaks.console.push('pageerror: ' + e.message));
  page.on('request', (r) => page.leaks.urls.push(r.url()));
  return page;
}

function assertNoTokenLeaks(page, ...tokens) {
  for (const t of tokens.filter(Boolean)) {
    assert.ok(!page.leaks.urls.some((u) => u.includes(t)), 'a token appeared in a URL');
    assert.ok(!page.leaks.console.some((l) => l.includes(t)), 'a token appeared in the console');
  }
  assert.ok(!page.leaks.urls.some((u) => /sk_[A-Za-z0-9_-]{20,}/.test(u)), 'no token in any URL');
  assert.ok(!page.leaks.console.some((l) => l.startsWith('pageerror')), 'no script errors: ' + page.leaks.console.join('\n'));
}

async function pikeStore(name = '5th Avenue') {
  const stores = (await api(srv.url, 'GET', '/v1/brands/pike-pine/stores', null)).body.items;
  return stores.find((s) => s.name === name);
}

test('a shopper runs their Shopkeeper from a phone, from sign-up to erasure', async () => {
  const page = await newPage(PHONE);
  const email = `jo.${Date.now()}@example.org`;
  const password = 'correct horse battery';

  // signed out
  await page.goto(srv.url + '/me');
  await page.getByRole('heading', { name: /Be known where you shop/ }).waitFor();
  await shoot(page, 'me-signed-out');
  await axeCheck(page, 'me-signed-out');

  // sign up
  await page.getByRole('tab', { name: 'Sign up' }).click();
  await page.getByLabel('Your name').fill('Jo Newcomer');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByText('password: at least 8 characters').waitFor();   // the problem's detail, shown
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create my account' }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  await page.getByText('You have not joined any brand yet.').waitFor();
  const token = await page.evaluate(() => sessionStorage.getItem('shopkeeper.customer'));
  assert.match(token, /^sk_/, 'the token is kept in sessionStorage');
  assert.equal(await page.evaluate(() => localStorage.getItem('shopkeeper.customer')), null);
  const me = (await api(srv.url, 'GET', '/v1/me', token)).body;
  assert.equal(me.name, 'Jo Newcomer');
  await shoot(page, 'me-brands');
  await axeCheck(page, 'me-brands');

  // a brand: its notice and FAQ before joining, every purpose switched off
  await page.getByRole('link', { name: /Pike & Pine Coffee/ }).click();
  await page.getByRole('heading', { name: 'Before you join' }).waitFor();
  const brand = (await api(srv.url, 'GET', '/v1/brands/pike-pine', null)).body;
  const view = page.locator('#view-brand');
  await view.getByText(brand.notice.text).waitFor();
  for (const f of brand.notice.faq) {
    assert.ok(await view.getByText(f.q).isVisible(), 'FAQ question shown before joining');
    assert.ok(await view.getByText(f.a).isVisible(), 'FAQ answer shown before joining');
  }
  for (const p of ['Recognition', 'Preferences', 'History', 'Suggestions', 'Offers', 'Messages']) {
    const sw = page.getByRole('switch', { name: p, exact: true });
    assert.equal(await sw.isChecked(), false, p + ' starts off');
  }
  const join = page.getByRole('button', { name: 'Join Pike & Pine Coffee' });
  assert.ok(await join.isDisabled(), 'nothing to join with until a purpose is picked');
  await page.getByRole('switch', { name: 'Recognition', exact: true }).check();
  await page.getByRole('switch', { name: 'Preferences', exact: true }).check();
  await shoot(page, 'me-brand-join');
  await axeCheck(page, 'me-brand-join');
  await join.click();
  await page.getByRole('heading', { name: 'What staff will see' }).waitFor();
  let m = (await api(srv.url, 'GET', '/v1/me/brands/pike-pine', token)).body;
  assert.deepEqual(m.purposes, ['preferences', 'recognition']);
  const ledger = (await api(srv.url, 'GET', '/v1/me/consents', token)).body.items;
  assert.ok(ledger.length === 2 && ledger.every((c) => c.via === 'portal' && c.notice_version === brand.notice.version));

  // the preview: Jo's name, no usual yet
  const preview = page.locator('#preview');
  await preview.getByText('Jo', { exact: true }).waitFor();
  assert.doesNotMatch(await preview.innerText(), /The usual/);

  // choices: the usual, a yes/no, a "never ask me this", a free-text don't
  await page.getByLabel('Regular order').selectOption('Flat White');
  const cream = page.getByRole('group', { name: 'Room for cream' });
  await cream.getByRole('button', { name: 'Yes' }).click();
  await page.locator('.choice', { hasText: 'Wants a receipt' }).getByLabel('Never ask me this').check();
  await page.getByLabel('Something never to ask or offer').fill('pastry offers');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  // a refused save shows the problem's detail next to the form
  await page.route('**/v1/me/brands/pike-pine/preferences', (route) => route.request().method() === 'PUT'
    ? route.fulfill({ status: 422, contentType: 'application/problem+json',
      body: JSON.stringify({ status: 422, title: 'Unprocessable Entity', detail: 'answers.usual: "Tea" is not one of the options' }) })
    : route.continue(), { times: 1 });
  await page.getByRole('button', { name: 'Save my choices' }).click();
  await page.locator('.choices .error').getByText('answers.usual: "Tea" is not one of the options').waitFor();
  await page.getByRole('button', { name: 'Save my choices' }).click();
  await preview.getByText('The usual: Flat White').waitFor();
  const card = await preview.innerText();
  assert.match(card, /Room for cream\s*yes/);
  assert.match(card, /Wants a receipt/);
  assert.match(card, /pastry offers/);
  const prefs = (await api(srv.url, 'GET', '/v1/me/brands/pike-pine/preferences', token)).body;
  assert.deepEqual(prefs.answers, { usual: 'Flat White', room_for_cream: true });
  assert.deepEqual(prefs.dont, ['receipt', 'pastry offers']);
  await shoot(page, 'me-brand-member');
  await axeCheck(page, 'me-brand-member');

  // without recognition the preview says staff see nothing; back on, the card returns
  await page.getByRole('switch', { name: 'Recognition', exact: true }).uncheck();
  await preview.getByText('Staff see nothing.').waitFor();
  assert.deepEqual((await api(srv.url, 'GET', '/v1/me/brands/pike-pine', token)).body.purposes, ['preferences']);
  await shoot(page, 'me-brand-nothing');
  await axeCheck(page, 'me-brand-nothing');
  await page.getByRole('switch', { name: 'Recognition', exact: true }).check();
  await preview.getByText('The usual: Flat White').waitFor();

  // a simulated tag, and its counter code
  await page.getByRole('link', { name: 'Devices' }).click();
  await page.getByText('No devices yet.').waitFor();
  await page.getByLabel('Tag name').fill("Jo's tag");
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/me/devices') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Add tag' }).click(),
  ]);
  const tag = await created.json();
  assert.equal(created.status(), 201);
  assert.match(tag.identity_key, /^[0-9a-f]{32}$/);
  await page.getByRole('heading', { name: "Jo's tag" }).waitFor();
  assert.equal(await page.getByText(tag.identity_key).count(), 0, 'the tag key is not shown');
  const [codeRes] = await Promise.all([
    page.waitForResponse((r) => /\/v1\/me\/devices\/[^/]+\/code$/.test(r.url())),
    page.getByRole('button', { name: 'Counter code' }).click(),
  ]);
  const code = await codeRes.json();
  await page.locator('.code').getByText(code.code, { exact: true }).waitFor();
  assert.match(code.code, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  if (code.svg) assert.ok(await page.locator('img.qr-img').isVisible(), 'the QR image is shown');
  else await page.getByText(code.qr, { exact: true }).waitFor();
  await page.getByText(/Valid until/).waitFor();
  await shoot(page, 'me-devices');
  await axeCheck(page, 'me-devices');
  // a second tag, removed again with one click
  await page.getByLabel('Tag name').fill('Spare fob');
  await page.getByRole('button', { name: 'Add tag' }).click();
  const spare = page.locator('.device', { has: page.getByRole('heading', { name: 'Spare fob' }) });
  await spare.waitFor();
  await spare.getByRole('button', { name: 'Remove' }).click();
  await page.getByText('Spare fob removed').waitFor();
  await spare.waitFor({ state: 'detached' });
  const devices = (await api(srv.url, 'GET', '/v1/me/devices', token)).body.items;
  assert.deepEqual(devices.map((d) => d.name), ["Jo's tag"]);

  // the 5th Avenue scanner hears the tag (and a stranger)
  const admin = await login(srv.url, 'admin@pike-pine.example');
  const store = await pikeStore();
  const scanner = await api(srv.url, 'POST', `/v1/stores/${store.id}/scanners`, admin, { name: 'door' });
  assert.equal(scanner.status, 201);
  const clock = (tag.clock + (Math.floor(Date.now() / 1000) - Math.floor(Date.parse(tag.created_at) / 1000))) >>> 0;
  const heard = await api(srv.url, 'POST', '/v1/sightings', scanner.body.key, {
    sightings: [{ eid: '0123456789abcdef', rssi: -80 }, { eid: eid(tag.identity_key, 8, clock), rssi: -58 }],
  });
  assert.equal(heard.status, 202);

  // "who looked": the counter display's look, readable, with an intact log
  await page.getByRole('link', { name: 'Who looked' }).click();
  const line = "Pike & Pine Coffee, 5th Avenue store, counter display, saw your name, your choices and your don't-list";
  await page.locator('.entry').filter({ hasText: line }).first().waitFor({ timeout: 5000 });
  await page.getByText('✓ Log intact').waitFor();
  // filter by brand
  await page.getByLabel('Brand').selectOption('marlowe-books');
  await page.getByText('This brand has not seen your data.').waitFor();
  await page.getByLabel('Brand').selectOption('pike-pine');
  await page.locator('.entry').filter({ hasText: line }).first().waitFor();
  // staff looks, enough to page: each is an entry, named by role only
  // (a store manager: counter staff cannot look a customer up)
  const manager = await login(srv.url, 'manager@pike-pine.example');
  for (let i = 0; i < 21; i++) {
    assert.equal((await api(srv.url, 'GET', `/v1/brands/pike-pine/members/${me.id}`, manager)).status, 200);
  }
  await page.getByLabel('Brand').selectOption('');
  await page.getByRole('button', { name: 'Refresh' }).click();
  // the newest page holds 20 staff looks, shown as one line with a count
  const staffLine = page.locator('.entry').filter({ hasText: 'Pike & Pine Coffee, a store manager, saw your name and your choices' });
  await staffLine.getByText('20 times').waitFor();
  assert.equal(await page.locator('.entry').count(), 1);
  await page.getByRole('button', { name: 'Show older' }).click();
  await staffLine.getByText('21 times').waitFor();
  await page.locator('.entry').filter({ hasText: line }).first().waitFor();
  assert.ok(await page.getByRole('button', { name: 'Show older' }).isHidden());
  await shoot(page, 'me-who-looked');
  await axeCheck(page, 'me-who-looked');

  // my data: retention and the consent history with receipts
  await page.getByRole('link', { name: 'My data' }).click();
  const privacy = (await api(srv.url, 'GET', '/v1/privacy', null)).body.retention;
  await page.locator('#retention').getByText(`${privacy.visits_days} days`, { exact: true }).waitFor();
  await page.locator('#retention').getByText(new RegExp(`^${privacy.access_log_days} days`)).waitFor();
  await page.getByText('Granted Recognition').first().waitFor();
  await page.getByText('Withdrew Recognition').waitFor();
  const receipts = await page.locator('.receipt').allInnerTexts();
  const all = (await api(srv.url, 'GET', '/v1/me/consents', token)).body.items.map((c) => c.receipt);
  assert.ok(receipts.length > 0 && receipts.every((r) => all.includes(r)), 'receipts are the ledger\'s');
  await shoot(page, 'me-my-data');
  await axeCheck(page, 'me-my-data');

  // leave the brand with one click
  await page.getByRole('link', { name: 'Brands' }).click();
  await page.getByRole('link', { name: /Pike & Pine Coffee/ }).click();
  await page.getByRole('button', { name: 'Leave Pike & Pine Coffee' }).click();
  await page.getByRole('heading', { name: 'Before you join' }).waitFor();
  assert.equal((await api(srv.url, 'GET', '/v1/me/brands/pike-pine', token)).status, 404);
  assert.equal((await api(srv.url, 'GET', '/v1/me/brands/pike-pine/card', token)).status, 404);
  const left = (await api(srv.url, 'GET', '/v1/me/consents', token)).body.items.filter((c) => c.action === 'withdraw');
  assert.ok(left.length >= 2 && left.every((c) => c.via === 'portal'), 'withdrawals are recorded as made in the portal');

  // download my data
  await page.getByRole('link', { name: 'My data' }).click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^shopkeeper-export-\d{4}-\d\d-\d\d\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.format, 'shopkeeper-export');
  assert.equal(exported.profile.name, 'Jo Newcomer');
  assert.equal(exported.profile.email, email);
  assert.deepEqual(exported.memberships, []);
  assert.ok(exported.consents.some((c) => c.action === 'withdraw'));
  assert.ok(exported.devices.some((d) => d.name === "Jo's tag" && !('identity_key' in d)));
  await page.getByText(/Downloaded: shopkeeper-export-/).waitFor();

  // delete my account: a confirmation, then back to the signed-out screen
  await page.getByRole('button', { name: 'Delete my account…' }).click();
  await page.getByText('Are you sure?').waitFor();
  await shoot(page, 'me-delete-confirm');
  await axeCheck(page, 'me-delete-confirm');
  await page.getByRole('button', { name: 'Keep my account' }).click();
  assert.ok(await page.getByText('Are you sure?').isHidden());
  await page.getByRole('button', { name: 'Delete my account…' }).click();
  await page.getByRole('button', { name: 'Yes, delete everything' }).click();
  await page.getByText(/Your account is deleted/).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('shopkeeper.customer')), null);
  assert.equal((await api(srv.url, 'GET', '/v1/me', token)).status, 401);
  await shoot(page, 'me-deleted');
  await axeCheck(page, 'me-deleted');

  // signing in again fails
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('the email or the password is wrong').waitFor();
  assert.equal((await api(srv.url, 'POST', '/v1/sessions', null, { email, password, kind: 'customer' })).status, 401);

  assertNoTokenLeaks(page, token, admin, manager, scanner.body.key);
  await page.context().close();
});

test('sign in, stay signed in, sign out', async () => {
  const page = await newPage(DESKTOP);
  await page.goto(srv.url + '/me');
  await page.getByLabel('Email').fill('anna@example.com');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('the email or the password is wrong').waitFor();
  await page.getByLabel('Password').fill('shopkeeper-demo');
  await page.getByLabel('Keep me signed in on this device').check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  const token = await page.evaluate(() => localStorage.getItem('shopkeeper.customer'));
  assert.match(token, /^sk_/, 'kept in localStorage when asked');
  await page.getByRole('link', { name: /Marlowe Books/ }).getByText('Member since').waitFor();
  await shoot(page, 'me-brands-member');
  await axeCheck(page, 'me-brands-member');
  // a partner share granted elsewhere is shown, on, and can be switched off here
  await page.getByRole('link', { name: /Marlowe Books/ }).click();
  assert.ok(await page.getByRole('switch', { name: 'Share with Pike & Pine Coffee' }).isChecked());
  await page.getByRole('link', { name: '‹ All brands' }).click();
  // a reload keeps the session; a deep link opens the brand
  await page.goto(srv.url + '/me#brand/pike-pine');
  await page.getByRole('heading', { name: 'What staff will see' }).waitFor();
  await shoot(page, 'me-brand-anna');
  await axeCheck(page, 'me-brand-anna');
  // a notice that changed since it was read: the brand is shown again, with the reason
  const staleAt = (await api(srv.url, 'GET', '/v1/brands/pike-pine', null)).body.notice;
  const admin = await login(srv.url, 'admin@pike-pine.example');
  assert.equal((await api(srv.url, 'PUT', '/v1/brands/pike-pine/notice', admin, { text: staleAt.text, faq: staleAt.faq })).status, 200);
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/me/brands/pike-pine') && r.request().method() === 'PUT'),
    page.getByRole('switch', { name: 'Offers', exact: true }).click(),
  ]);
  assert.equal(refused.status(), 409);
  await page.getByText(/changed its notice since you opened this page/).waitFor();
  await page.waitForFunction(() => document.getElementById('m-pike-pine-offers')?.checked === false);
  assert.deepEqual((await api(srv.url, 'GET', '/v1/me/brands/pike-pine', token)).body.purposes, ['preferences', 'recognition']);
  await page.getByRole('switch', { name: 'Offers', exact: true }).check();
  await page.getByText('Offers switched on.').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You are signed out.').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('shopkeeper.customer')), null);
  assert.equal((await api(srv.url, 'GET', '/v1/me', token)).status, 401, 'the token is revoked');
  assertNoTokenLeaks(page, token, admin);
  await page.context().close();
});

test('the public notice of a store says what the service does', async () => {
  const store = await pikeStore();
  const brand = (await api(srv.url, 'GET', '/v1/brands/pike-pine', null)).body;
  const privacy = (await api(srv.url, 'GET', '/v1/privacy', null)).body.retention;
  const page = await newPage(PHONE);
  await page.goto(`${srv.url}/stores/${store.id}`);
  await page.getByRole('heading', { name: '5th Avenue', level: 1 }).waitFor();
  const text = await page.locator('#notice').innerText();
  assert.match(text, /Pike & Pine Coffee/i);
  assert.match(text, /500 5th Avenue, New York/);
  assert.match(text, /members who said yes/);
  assert.match(text, /Strangers leave no trace/);
  for (const c of brand.choices) assert.ok(text.includes(c.label), 'names the choice ' + c.label);
  assert.match(text, new RegExp(`Your visits\\s*${privacy.visits_days} days`));
  assert.match(text, new RegExp(`Who looked\\s*${privacy.access_log_days} days`));
  assert.ok(text.includes(brand.notice.text));
  for (const f of brand.notice.faq) { assert.ok(text.includes(f.q)); assert.ok(text.includes(f.a)); }
  assert.equal(await page.getByRole('link', { name: 'Join or manage Pike & Pine Coffee' }).getAttribute('href'), '/me#brand/pike-pine');
  await shoot(page, 'store-notice');
  await axeCheck(page, 'store-notice');

  // a choice that needs another purpose says so (Marlowe's "Authors I follow")
  const marlowe = (await api(srv.url, 'GET', '/v1/brands/marlowe-books/stores', null)).body.items[0];
  await page.goto(`${srv.url}/stores/${marlowe.id}`);
  await page.getByText('Authors I follow — shown only if you also switch on suggestions.').waitFor();

  // an unknown store
  await page.goto(`${srv.url}/stores/sto_00000000000000000000000000`);
  await page.getByRole('heading', { name: 'We could not find this store' }).waitFor();
  assertNoTokenLeaks(page);
  await page.context().close();
});
