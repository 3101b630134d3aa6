// Portal defects of issue 10, each as a shopper meets it: a brand without a
// catalogue shows no suggestions section and no error; unsaved choices are
// not lost silently (an in-page question for moving away, the browser's own
// for closing); the Devices page promises no counter code without a device;
// waits are said in minutes, not seconds; form limits are the server's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, api, launch, SHOTS, shoot, axeCheck, PHONE } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

let n = 0;
// A new shopper who joined the given brands; a page signed in as them.
async function shopper(joins = {}, signedIn = true) {
  const email = `defects.${Date.now()}.${++n}@example.org`;
  const r = await api(srv.url, 'POST', '/v1/customers', null, { name: 'Dee Fect', email, password: 'correct horse battery' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const token = r.body.token;
  for (const [brand, purposes] of Object.entries(joins)) {
    const j = await api(srv.url, 'PUT', '/v1/me/brands/' + brand, token, { purposes });
    assert.equal(j.status < 300, true, JSON.stringify(j.body));
  }
  const context = await browser.newContext({ viewport: PHONE });
  if (signedIn) await context.addInitScript((t) => sessionStorage.setItem('shopkeeper.customer', t), token);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return { page, token, email };
}

test('a brand without a catalogue shows no suggestions section and no error', async () => {
  const all = ['recognition', 'preferences', 'history', 'suggestions'];
  const { page } = await shopper({ 'pike-pine': all, 'marlowe-books': all });
  await page.goto(srv.url + '/me#brand/pike-pine');
  await page.getByRole('heading', { name: 'What staff will see' }).waitFor();
  await page.getByRole('heading', { name: 'What you bought here' }).waitFor();
  await page.waitForLoadState('networkidle');
  assert.equal(await page.getByRole('heading', { name: 'Suggestions for you' }).count(), 0);
  assert.doesNotMatch(await page.locator('#view-brand').innerText(), /invalid|membership|422/i);
  assert.equal(await page.locator('#banner').isVisible(), false);
  await shoot(page, 'me-brand-no-catalogue');
  await axeCheck(page, 'me-brand-no-catalogue');
  // a brand with one still has the section
  await page.goto(srv.url + '/me#brand/marlowe-books');
  await page.getByRole('heading', { name: 'Suggestions for you' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('unsaved choices: moving away asks, staying keeps them, closing asks the browser', async () => {
  const { page } = await shopper({ 'pike-pine': ['recognition', 'preferences'] });
  await page.goto(srv.url + '/me#brand/pike-pine');
  const usual = page.getByLabel('Regular order');
  await usual.waitFor();
  // nothing changed: moving away does not ask
  await page.getByRole('link', { name: 'Devices' }).click();
  await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
  await page.goto(srv.url + '/me#brand/pike-pine');
  await usual.selectOption('Flat White');

  // another tab of the portal: an in-page question, the address unchanged
  await page.getByRole('link', { name: 'Devices' }).click();
  const dialog = page.getByRole('dialog', { name: 'Leave without saving?' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /choices for Pike & Pine Coffee/);
  assert.match(page.url(), /#brand\/pike-pine$/);
  await shoot(page, 'me-unsaved-dialog');
  await axeCheck(page, 'me-unsaved-dialog');
  await page.keyboard.press('Escape');                        // Escape stays
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await usual.inputValue(), 'Flat White');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Save my choices');

  // a switch turned on redraws the form: the change survives it
  await page.getByRole('switch', { name: 'History', exact: true }).check();
  await page.getByText('History switched on.').waitFor();
  assert.equal(await usual.inputValue(), 'Flat White');

  // another brand (as a link or the back button would): asks, then leaves
  await page.evaluate(() => { location.hash = '#brand/marlowe-books'; });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Leave without saving' }).click();
  await page.getByRole('heading', { name: 'Marlowe Books', exact: true }).waitFor();
  await page.getByRole('link', { name: '‹ All brands' }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  await page.getByRole('link', { name: /Pike & Pine Coffee/ }).click();
  await usual.waitFor();
  assert.equal(await usual.inputValue(), '', 'left without saving: nothing was saved');

  // saved: no question
  await usual.selectOption('Flat White');
  await page.getByRole('button', { name: 'Save my choices' }).click();
  await page.getByText('Your choices are saved.').waitFor();
  await page.getByRole('link', { name: 'Who looked' }).click();
  await page.getByRole('heading', { name: 'Who looked' }).waitFor();
  assert.equal(await dialog.count(), 0);

  // closing the page with a change asks the browser's own question
  await page.goto(srv.url + '/me#brand/pike-pine');
  await page.getByLabel('Something never to ask or offer').fill('loyalty cards');
  await page.getByLabel('Something never to ask or offer').press('Enter');
  await page.locator('#view-brand h1').click();   // a gesture: browsers ask only then
  const asked = new Promise((resolve) => page.once('dialog', async (d) => { resolve(d.type()); await d.accept(); }));
  await page.close({ runBeforeUnload: true });
  assert.equal(await asked, 'beforeunload');
});

test('the Devices page promises a counter code only with a device', async () => {
  const { page } = await shopper();
  await page.goto(srv.url + '/me#devices');
  const list = page.locator('#device-list');
  await list.getByText('No devices yet.').waitFor();
  const text = await list.innerText();
  assert.doesNotMatch(text, /or show a counter code/i);
  assert.match(text, /counter code comes from a device/i);
  assert.equal(await page.getByRole('button', { name: 'Counter code' }).count(), 0);
  await axeCheck(page, 'me-devices-empty');
  await page.getByLabel('Tag name').fill('Key fob');
  await page.getByRole('button', { name: 'Add tag' }).click();
  await page.getByRole('button', { name: 'Counter code' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('waits are said in minutes, and form limits are the server\'s', async () => {
  const { page, email } = await shopper({}, false);
  await page.goto(srv.url + '/me');
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  // the server's limits (core/account.h, h_devices.c)
  const max = async (sel) => page.locator(sel).getAttribute('maxlength');
  assert.equal(await max('#auth-name'), '100');
  assert.equal(await max('#auth-email'), '254');
  assert.equal(await max('#auth-password'), '200');
  assert.equal(await max('#device-name'), '60');
  assert.equal(await max('#invite-email'), '254');
  // wrong passwords until the service asks to wait
  const err = page.locator('#auth-error');
  let said = '';
  for (let i = 0; i < 40 && !/try again/i.test(said); i++) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password ' + i);
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/sessions'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await answered;
    await page.waitForFunction(() => document.getElementById('auth-error').textContent !== '');
    said = await err.innerText();
  }
  assert.match(said, /try again in (\d+ minutes|a minute|an hour|\d+ hours)\./i, said);
  assert.doesNotMatch(said, /seconds/);
  await shoot(page, 'me-signin-wait');
  await axeCheck(page, 'me-signin-wait');
  await page.context().close();
});
