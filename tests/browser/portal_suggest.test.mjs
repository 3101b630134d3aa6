// The portal's shopping side, in a real browser: Jeff signs in, opens Marlowe
// Books, sees in "what staff will see" the usual and what staff would mention,
// reads what he bought there and what the shop would suggest, asks why one is
// suggested and says "don't suggest this again" (it is gone, for the API too,
// and from what staff will see); then he adds someone he shops for, with what they like, and sees
// them listed. Photographed at phone and desktop widths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, api, login, launch, SHOTS, shoot, axeCheck, PHONE, DESKTOP } from './harness.mjs';


let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('Jeff reads his purchases and suggestions, dismisses one, and adds a person he shops for', async () => {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // "the usual" is a habit (issue 10): Jeff bought the same thing on two
  // visits, long ago
  const admin = await login(srv.url, 'admin@marlowe-books.example');
  const store = (await api(srv.url, 'GET', '/v1/brands/marlowe-books/stores')).body.items[0];
  const jeffId = (await api(srv.url, 'GET', '/v1/me', await login(srv.url, 'jeff@example.com'))).body.id;
  const habit = (await api(srv.url, 'GET', '/v1/brands/marlowe-books/items?limit=1')).body.items[0];
  for (let i = 0; i < 2; i++) {
    const r = await fetch(srv.url + '/v1/brands/marlowe-books/purchases', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + admin, 'Idempotency-Key': 'habit-' + i },
      body: JSON.stringify({ store: store.id, customer: jeffId, at: `2020-0${i + 1}-15T10:00:00Z`,
        lines: [{ sku: habit.sku, qty: 1, price: 5 }] }),
    });
    assert.equal(r.status, 201, await r.text());
  }

  await page.goto(srv.url + '/me');
  await page.getByLabel('Email').fill('jeff@example.com');
  await page.getByLabel('Password').fill('shopkeeper-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your brands' }).waitFor();
  await page.getByRole('link', { name: /Marlowe Books/ }).first().click();
  await page.getByRole('heading', { name: 'Marlowe Books', level: 1 }).waitFor();
  const jeff = await login(srv.url, 'jeff@example.com');

  // what staff will see: the usual, by its title, and what a visit would
  // bring up, each with its reason, as the counter card has them
  await page.getByRole('heading', { name: 'What staff will see' }).waitFor();
  const preview = page.locator('#preview');
  const usual = preview.locator('.usual');
  await usual.waitFor();
  const usualText = (await usual.innerText()).trim();
  assert.equal(usualText, 'The usual: ' + habit.title);
  assert.ok(!/bk-\d/.test(usualText), 'a title, not a SKU: ' + usualText);
  await preview.getByText('Worth mentioning').waitFor();
  const mentions = preview.locator('.csugg-row');
  assert.ok(await mentions.count() >= 1);
  const mention = mentions.first();
  const mTitle = (await mention.locator('.csugg-title').innerText()).trim();
  const mReason = (await mention.locator('.csugg-reason').innerText()).trim();
  assert.ok(mTitle && !/bk-\d/.test(mTitle), 'a suggestion by its title: ' + mTitle);
  assert.match(mReason, /because you bought|likes|new from/i);
  assert.ok(await mention.locator('.csugg-title').isVisible() && await mention.locator('.csugg-reason').isVisible());
  // what the service would put on the card is what the preview shows
  const served = (await api(srv.url, 'GET', '/v1/me/brands/marlowe-books/card', jeff)).body.card;
  assert.equal(usualText, 'The usual: ' + served.choices.find((c) => c.key === 'usual').value);
  assert.deepEqual(await mentions.locator('.csugg-title').allInnerTexts(), served.suggestions.map((x) => x.title));
  await page.locator('.preview-panel').screenshot({ path: join(SHOTS, 'me-preview-suggestions-phone.png') });

  // what he bought: dates, store and titles, newest first
  await page.getByRole('heading', { name: 'What you bought here' }).waitFor();
  const buys = page.locator('#purchases-panel .buy');
  await buys.first().waitFor();
  // (the demo's latest sale; the two above were added with older dates)
  const first = await buys.filter({ hasText: 'A Quiet Wire' }).first().innerText();
  assert.match(first, /Riverside/, first);
  assert.match(first, /A Quiet Wire/, 'titles, not only SKUs: ' + first);
  assert.ok(!/bk-\d/.test(first), 'no bare SKUs when titles are known: ' + first);

  // suggestions, each with its reason
  await page.getByRole('heading', { name: 'Suggestions for you' }).waitFor();
  const suggs = page.locator('#suggestions-panel .sugg');
  await suggs.first().waitFor();
  const n = await suggs.count();
  assert.ok(n >= 1);
  const card = suggs.first();
  const sku = await card.getAttribute('data-sku');
  const title = (await card.locator('.sugg-title').innerText()).trim();
  assert.match(await card.locator('.sugg-reason').innerText(), /because you bought|likes|new from/i);

  // why am I seeing this?
  await card.getByText('Why am I seeing this?').click();
  const why = card.locator('.why p');
  await why.waitFor();
  assert.match(await why.innerText(), /You bought|You told us|new/);
  await page.waitForTimeout(300);   // the "because" title arrives from the catalogue
  await shoot(page, 'me-brand-shopping');
  await axeCheck(page, 'me-brand-shopping');

  // don't suggest this again: it leaves the list, and the API agrees
  await card.getByRole('button', { name: "Don't suggest this again" }).click();
  await page.locator(`#suggestions-panel .sugg[data-sku="${sku}"]`).waitFor({ state: 'detached' });
  assert.equal(await suggs.count(), n - 1);
  // the best suggestion was also on the preview; staff will no longer see it
  assert.ok(served.suggestions.some((x) => x.sku === sku), `${title} was not on the preview`);
  await preview.locator('.csugg-title', { hasText: title }).waitFor({ state: 'detached' });
  await preview.getByText('Worth mentioning').waitFor();
  const after = await api(srv.url, 'GET', '/v1/me/brands/marlowe-books/suggestions', jeff);
  assert.equal(after.status, 200);
  assert.ok(!after.body.items.some((s) => s.sku === sku), `${title} is still suggested`);

  // one person's ideas: "Anna" shows her own list, each for her, as the API has it
  const whose = page.getByRole('group', { name: 'Whose ideas' });
  await whose.getByRole('button', { name: 'Anna' }).click();
  const anna = (await api(srv.url, 'GET', '/v1/me/people', jeff)).body.items.find((p) => p.label === 'Anna');
  const hers = (await api(srv.url, 'GET', '/v1/me/brands/marlowe-books/suggestions?for=' + anna.id, jeff)).body.items;
  assert.ok(hers.length >= 1, 'Anna has ideas in the demo');
  await page.locator('#suggestions-panel .sugg-title', { hasText: hers[0].title }).first().waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('#suggestions-panel .sugg').length === n, hers.length);
  const shown = page.locator('#suggestions-panel .sugg');
  for (const r of await shown.locator('.sugg-reason').allInnerTexts()) assert.match(r, /^For Anna/, r);
  assert.deepEqual((await shown.locator('.sugg-title').allInnerTexts()).slice(0, 3), hers.slice(0, 3).map((x) => x.title));
  assert.equal(await whose.getByRole('button', { name: 'Anna' }).getAttribute('aria-pressed'), 'true');
  await shoot(page, 'me-ideas-for-anna');
  await axeCheck(page, 'me-ideas-for-anna');
  await whose.getByRole('button', { name: 'Everyone' }).click();
  await page.locator('#suggestions-panel .sugg .sugg-reason', { hasText: /because you bought/i }).first().waitFor();

  // people I shop for: Anna is there; add Sam
  await page.getByRole('link', { name: 'People' }).click();
  await page.getByRole('heading', { name: 'People I shop for' }).waitFor();
  await page.locator('.person', { hasText: 'Anna' }).waitFor();
  await page.getByRole('button', { name: 'Add a person' }).click();
  const form = page.locator('.person-form');
  await form.getByLabel('Name or label').fill('Sam');
  await form.locator('#pf-new-likes-categories').fill('gardening, cookery');
  await form.locator('#pf-new-likes-makers').fill('Monty Don');
  await form.locator('#pf-new-dislikes-tags').fill('horror');
  await form.getByRole('button', { name: 'Add an occasion' }).click();
  await form.getByRole('textbox', { name: 'Occasion' }).fill('birthday');
  await form.getByLabel('Date (MM-DD)').fill('13-40');
  await form.getByRole('button', { name: 'Add person' }).click();
  // the service's 422 is shown next to the form
  await form.locator('.error', { hasText: 'occasions[0].date' }).waitFor();
  await form.getByLabel('Date (MM-DD)').fill('07-21');
  await form.getByRole('button', { name: 'Add person' }).click();
  const sam = page.locator('.person', { hasText: 'Sam' });
  await sam.waitFor();
  const samText = await sam.innerText();
  for (const t of ['gardening', 'cookery', 'Monty Don', 'horror', 'Birthday']) assert.ok(samText.includes(t), `${t} in ${samText}`);
  const people = await api(srv.url, 'GET', '/v1/me/people', jeff);
  const stored = people.body.items.find((p) => p.label === 'Sam');
  assert.deepEqual(stored.likes, { categories: ['gardening', 'cookery'], makers: ['Monty Don'], tags: [] });
  assert.deepEqual(stored.occasions, [{ name: 'birthday', date: '07-21' }]);

  // the household: invite someone by email
  await page.getByLabel('Invite another adult').fill('kim@example.org');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.locator('#household .hh-row', { hasText: 'kim@example.org' }).waitFor();
  await shoot(page, 'me-people');
  await axeCheck(page, 'me-people');

  // edit Sam, then remove him
  await sam.getByRole('button', { name: 'Edit' }).click();
  const edit = page.locator('.person-form');
  await edit.getByLabel('Name or label').fill('Sam (nephew)');
  await edit.getByRole('button', { name: /^Save/ }).click();
  const sam2 = page.locator('.person', { hasText: 'Sam (nephew)' });
  await sam2.waitFor();
  await sam2.getByRole('button', { name: 'Remove' }).click();
  await sam2.getByRole('button', { name: /Remove Sam/ }).click();
  await sam2.waitFor({ state: 'detached' });

  assert.deepEqual(errors, []);
  await context.close();
});
