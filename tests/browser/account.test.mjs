// Accounts in the browser (issue 10): a shopper who forgot their password
// asks for a link from the portal's sign-in, the mail arrives at a real SMTP
// sink (scripts/mail_sink.py on a free loopback port), the link opens /reset,
// the new password is set and works; a used link says so; account settings
// change the shopper's name and password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { startServer, api, launch, SHOTS, shoot, axeCheck, PHONE, DESKTOP } from './harness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let srv, browser, sink, mailDir;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startSink() {
  mailDir = mkdtempSync(join(tmpdir(), 'shopkeeper-mail-'));
  const port = await freePort();
  const proc = spawn('/usr/bin/python3', [join(root, 'scripts', 'mail_sink.py'), '--port', String(port),
    '--dir', mailDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
    proc.once('exit', (c) => reject(new Error('mail sink exited with ' + c)));
  });
  return { proc, url: `smtp://127.0.0.1:${port}` };
}

// The one-time link in the newest mail to `to`.
async function linkMailedTo(to) {
  for (let i = 0; i < 100; i++) {
    const texts = readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort()
      .map((f) => readFileSync(join(mailDir, f), 'utf8'))
      .filter((t) => new RegExp('^To: ' + to.replace(/[.+]/g, '\\$&') + '\\r?$', 'mi').test(t));
    if (texts.length) {
      const m = /(http:\/\/\S+\/reset#token=sk_[A-Za-z0-9_-]+)/.exec(texts[texts.length - 1]);
      assert.ok(m, 'the mail holds a link');
      return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no mail to ' + to);
}

async function newShopper(password) {
  const email = `forgetful.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.org`;
  const r = await api(srv.url, 'POST', '/v1/customers', null, { name: 'Fran Forgetful', email, password });
  assert.equal(r.status, 201);
  return { email, password, token: r.body.token };
}

async function newPage(viewport = PHONE) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

before(async () => {
  sink = await startSink();
  srv = await startServer(['--smtp-url', sink.url, '--mail-from', 'hello@shopkeeper.test']);
  browser = await launch();
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
  sink?.proc.kill('SIGTERM');
  if (mailDir) rmSync(mailDir, { recursive: true, force: true });
});

test('forgot password: sign-in, mail, /reset, sign in with the new password', async () => {
  const old = await newShopper('the-old-password');
  const page = await newPage(PHONE);
  await page.goto(srv.url + '/me');
  await page.getByLabel('Email').fill(old.email);
  await page.getByRole('button', { name: 'Forgot your password?' }).click();
  const form = page.locator('#forgot-form');
  assert.equal(await form.getByLabel('Email for the link').inputValue(), old.email,
    'the address typed for sign-in is carried over');
  await form.getByRole('button', { name: 'Send me a link' }).click();
  await form.getByText('Check your inbox').waitFor();
  await shoot(page, 'account-forgot-sent');

  const link = await linkMailedTo(old.email);
  // the password has not changed yet
  assert.equal((await api(srv.url, 'POST', '/v1/sessions', null, { email: old.email, password: old.password })).status, 201);

  await page.goto(link);
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  assert.ok(!page.url().includes('token'), 'the token leaves the address bar');
  await page.getByText(/This link works for 30 more minutes|This link works for 29 more minutes/).waitFor();
  await shoot(page, 'account-reset-form');
  await axeCheck(page, 'account-reset-form');
  await page.getByLabel('New password', { exact: true }).fill('brand-new-password');
  await page.getByLabel('The same password again').fill('brand-new-passwort');
  await page.getByRole('button', { name: 'Set my password' }).click();
  await page.getByText('The two passwords are not the same').waitFor();
  await page.getByLabel('The same password again').fill('brand-new-password');
  await page.getByRole('button', { name: 'Set my password' }).click();
  await page.getByRole('heading', { name: 'Your password is set' }).waitFor();
  await page.getByText('Your password is set — sign in').waitFor();
  await shoot(page, 'account-reset-done');
  await axeCheck(page, 'account-reset-done');

  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.waitForURL(/\/me$/);
  await page.getByLabel('Email').fill(old.email);
  await page.getByLabel('Password').fill(old.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText('the email or the password is wrong').waitFor();
  await page.getByLabel('Password').fill('brand-new-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();

  // the link works once: opened again, it says so and offers a new one
  const again = await newPage(DESKTOP);
  await again.goto(link);
  await again.getByRole('heading', { name: 'This link no longer works' }).waitFor();
  await again.getByText('used or has expired').waitFor();
  await shoot(again, 'account-reset-used');
  await axeCheck(again, 'account-reset-used');
  await again.getByRole('link', { name: 'Ask for a new link' }).click();
  await again.locator('#forgot-form').waitFor();
  assert.deepEqual([...page.errors, ...again.errors], []);
});

test('account settings: change name and password', async () => {
  const me = await newShopper('settings-password-1');
  const page = await newPage(PHONE);
  await page.goto(srv.url + '/me');
  await page.getByLabel('Email').fill(me.email);
  await page.getByLabel('Password').fill(me.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  await page.getByRole('link', { name: 'My data' }).click();
  const panel = page.locator('#account-panel');
  await panel.getByRole('heading', { name: 'Account settings' }).waitFor();
  await shoot(page, 'account-settings');

  await panel.getByLabel('Name', { exact: true }).fill('Fran Remembers');
  await panel.getByRole('button', { name: 'Save name' }).click();
  await page.getByText('Your name is now Fran Remembers.').waitFor();
  assert.equal(await page.locator('#who-name').textContent(), 'Fran Remembers');
  assert.equal((await api(srv.url, 'GET', '/v1/me', me.token)).body.name, 'Fran Remembers');

  // a wrong current password is said plainly and changes nothing
  await panel.getByLabel('Current password', { exact: true }).fill('not-it-at-all');
  await panel.getByLabel('New password', { exact: true }).fill('settings-password-2');
  await panel.getByLabel('New password again').fill('settings-password-2');
  await panel.getByRole('button', { name: 'Change password' }).click();
  await panel.getByText('That is not your current password.').waitFor();
  await panel.getByLabel('Current password', { exact: true }).fill(me.password);
  await panel.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Your password is changed. Other devices are signed out.').waitFor();
  // the browser stays signed in; the session made at sign-up is over
  assert.equal((await api(srv.url, 'GET', '/v1/me', me.token)).status, 401);
  await page.reload();
  await page.getByRole('heading', { name: 'My data', exact: true }).waitFor();
  assert.equal((await api(srv.url, 'POST', '/v1/sessions', null, { email: me.email, password: 'settings-password-2' })).status, 201);
  // off the page, the settings fields are gone (they never stand in for sign-in's)
  await page.getByRole('link', { name: 'Brands' }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  await page.locator('#acct-name').waitFor({ state: 'detached' });
  assert.equal(await page.locator('#acct-name').count(), 0);
  assert.deepEqual(page.errors, []);
});
