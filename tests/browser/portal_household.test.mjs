// The household, in two real browsers: Rosa and Dev each have their own
// account and are signed into the portal on their own phones. Rosa invites Dev
// by email from the People tab; Dev sees the invitation, accepts it, and both
// portals list the other as a household member; Dev undoes the link and it is
// gone on both sides. An invitation waiting for an answer is counted on the
// People tab, so it is seen on signing in. A second invitation Dev declines: it leaves Dev's portal
// and Rosa's shows it declined, and she can remove it. Photographed at 390px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, launch, SHOTS, shoot, axeCheck, PHONE, DESKTOP } from './harness.mjs';

const PASSWORD = 'correct horse battery';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

// A shopper with an account of their own, signed in on their own phone (a
// browser context of its own: nothing shared with the other's session).
async function shopper(name, email) {
  const made = await api(srv.url, 'POST', '/v1/customers', null, { name, email, password: PASSWORD });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(srv.url + '/me');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  return { name, email, token: made.body.token, context, page };
}

// Opens the People tab afresh, as a person coming back to it would.
async function openPeople(page) {
  if (page.url().endsWith('#people')) await page.reload();
  else await page.getByRole('link', { name: 'People' }).click();
  await page.getByRole('heading', { name: 'My household' }).waitFor();
  await page.locator('#household .hh-h', { hasText: 'Members' }).waitFor();
}

const household = (page) => page.locator('#household');
const members = (page) => page.locator('#household .hh-row:not(.invite-in)', { has: page.getByRole('button', { name: 'Undo link' }) });

test('two adults link their households, undo it, and a declined invitation', async () => {
  const stamp = Date.now();
  const rosa = await shopper('Rosa Alvarez', `rosa.${stamp}@example.org`);
  const dev = await shopper('Dev Moreno', `dev.${stamp}@example.org`);

  // both start alone
  for (const p of [rosa, dev]) {
    await openPeople(p.page);
    await household(p.page).getByText('No one linked yet.').waitFor();
    assert.equal(await members(p.page).count(), 0);
  }

  // Rosa invites Dev by email; she sees it pending
  await rosa.page.getByLabel('Invite another adult').fill(dev.email);
  await rosa.page.getByRole('button', { name: 'Send invitation' }).click();
  await rosa.page.getByRole('status').filter({ hasText: `Invitation sent to ${dev.email}` }).waitFor();
  const sent = household(rosa.page).locator('.hh-row', { hasText: dev.email });
  await sent.waitFor();
  assert.match(await sent.innerText(), /Pending/);
  assert.equal(await rosa.page.getByLabel('Invite another adult').inputValue(), '', 'the field is cleared');

  // Dev signs in again later: the People tab says something is waiting for him
  await dev.page.getByRole('button', { name: 'Sign out' }).click();
  await dev.page.getByText('You are signed out.').waitFor();
  await dev.page.goto(srv.url + '/me');
  await dev.page.getByLabel('Email').fill(dev.email);
  await dev.page.getByLabel('Password').fill(PASSWORD);
  await dev.page.getByRole('button', { name: 'Sign in' }).click();
  await dev.page.getByRole('heading', { name: 'Your brands' }).waitFor();
  const waiting = dev.page.locator('#tabs a[data-tab="people"] .tab-count');
  await waiting.waitFor();
  assert.equal((await waiting.innerText()).trim(), '1');
  assert.equal(await waiting.getAttribute('title'), '1 household invitation for you');
  assert.ok(await rosa.page.locator('#people-count').isHidden(), 'nothing waits for Rosa');
  await shoot(dev.page, 'me-household-waiting');
  await axeCheck(dev.page, 'me-household-waiting');

  // in People the invitation is there, from Rosa by name
  await openPeople(dev.page);
  await household(dev.page).getByRole('heading', { name: 'Invitations for you' }).waitFor();
  const inv = household(dev.page).locator('.invite-in');
  assert.equal(await inv.count(), 1);
  assert.match(await inv.innerText(), /Rosa Alvarez\s+invited you/);
  assert.ok(await inv.getByRole('button', { name: 'Accept' }).isVisible());
  assert.ok(await inv.getByRole('button', { name: 'Decline' }).isVisible());
  await shoot(dev.page, 'me-household-invitation');
  await axeCheck(dev.page, 'me-household-invitation');

  // Dev accepts: Rosa is his household member, the invitation is gone
  await inv.getByRole('button', { name: 'Accept' }).click();
  await dev.page.getByRole('status').filter({ hasText: 'You and Rosa Alvarez are now a household.' }).waitFor();
  await inv.waitFor({ state: 'detached' });
  await members(dev.page).filter({ hasText: 'Rosa Alvarez' }).waitFor();
  assert.equal(await members(dev.page).count(), 1);
  assert.ok(!(await household(dev.page).getByText('No one linked yet.').isVisible()));
  assert.equal(await household(dev.page).getByRole('heading', { name: 'Invitations for you' }).count(), 0);
  assert.ok(await waiting.isHidden(), 'nothing is waiting any more');

  // and Rosa, coming back, sees Dev, with her invitation no longer pending
  await openPeople(rosa.page);
  await members(rosa.page).filter({ hasText: 'Dev Moreno' }).waitFor();
  assert.equal(await members(rosa.page).count(), 1);
  assert.equal(await household(rosa.page).locator('.hh-row', { hasText: dev.email }).count(), 0,
    'the accepted invitation is no longer listed as sent');
  await shoot(rosa.page, 'me-household-linked');
  await axeCheck(rosa.page, 'me-household-linked');

  // Dev undoes it, with a second tap to be sure: gone for him at once, and
  // for Rosa when she looks again
  const rosaRow = household(dev.page).locator('.hh-row', { hasText: 'Rosa Alvarez' });
  await rosaRow.getByRole('button', { name: 'Undo link' }).click();
  await rosaRow.getByRole('button', { name: 'Unlink Rosa Alvarez?' }).waitFor();
  assert.ok(await rosaRow.isVisible(), 'one tap undoes nothing');
  assert.equal((await api(srv.url, 'GET', '/v1/me/household', dev.token)).body.members.length, 1);
  await rosaRow.getByRole('button', { name: 'Unlink Rosa Alvarez?' }).click();
  await dev.page.getByRole('status').filter({ hasText: 'You and Rosa Alvarez are no longer linked.' }).waitFor();
  await household(dev.page).getByText('No one linked yet.').waitFor();
  assert.equal(await members(dev.page).count(), 0);
  await openPeople(rosa.page);
  await household(rosa.page).getByText('No one linked yet.').waitFor();
  assert.equal(await members(rosa.page).count(), 0);
  assert.ok(!(await household(rosa.page).innerText()).includes('Dev Moreno'));

  // a second invitation, which Dev declines
  await rosa.page.getByLabel('Invite another adult').fill(dev.email);
  await rosa.page.getByRole('button', { name: 'Send invitation' }).click();
  const again = household(rosa.page).locator('.hh-row', { hasText: dev.email });
  await again.waitFor();
  assert.match(await again.innerText(), /Pending/);
  await openPeople(dev.page);
  const inv2 = household(dev.page).locator('.invite-in', { hasText: 'Rosa Alvarez' });
  await inv2.getByRole('button', { name: 'Decline' }).click();
  await dev.page.getByRole('status').filter({ hasText: 'Invitation declined.' }).waitFor();
  await inv2.waitFor({ state: 'detached' });
  assert.equal(await household(dev.page).getByRole('heading', { name: 'Invitations for you' }).count(), 0);
  await household(dev.page).getByText('No one linked yet.').waitFor();
  assert.ok(!(await household(dev.page).innerText()).includes('Rosa'), 'nothing of Rosa is left in his portal');
  assert.ok(await waiting.isHidden());

  // Rosa sees it declined, not pending, and not as a member
  await openPeople(rosa.page);
  const declined = household(rosa.page).locator('.hh-row', { hasText: dev.email });
  await declined.waitFor();
  const text = await declined.innerText();
  assert.match(text, /Declined/);
  assert.doesNotMatch(text, /Pending/);
  assert.equal(await members(rosa.page).count(), 0);
  await shoot(rosa.page, 'me-household-declined');
  await axeCheck(rosa.page, 'me-household-declined');
  // she can clear it away
  await declined.getByRole('button', { name: 'Remove' }).click();
  await declined.waitFor({ state: 'detached' });
  assert.equal(await household(rosa.page).getByRole('heading', { name: 'Invitations you sent' }).count(), 0);

  // the service agrees with what both portals show
  for (const p of [rosa, dev]) {
    const hh = await api(srv.url, 'GET', '/v1/me/household', p.token);
    assert.deepEqual(hh.body, { members: [], invitations: { sent: [], received: [] } });
  }

  assert.deepEqual(rosa.page.errors, []);
  assert.deepEqual(dev.page.errors, []);
  await rosa.context.close();
  await dev.context.close();
});
