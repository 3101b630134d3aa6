// The brand console's editors in a real browser against a real server: an
// admin adds a yes/no choice with the live preview beside it, is stopped
// from leaving with unsaved changes, saves a new version, retires a choice,
// and a member then finds the new question in My Shopkeeper; the notice and
// FAQ are edited and saved as a new version with the changes marked; a CSV
// of three lines is imported at Marlowe Books (the bad one reported by its
// line number) and the suggestions retrained.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, api, login, launch, SHOTS, shoot, DESKTOP } from './harness.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await browser?.close(); await srv?.stop(); });

async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

async function consoleSignIn(page, email) {
  await page.goto(srv.url + '/console');
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill('shopkeeper-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

// The legends of the choice editors, in order ("5. Oat milk by default").
async function editorOrder(page) {
  return (await page.locator('fieldset legend').allInnerTexts()).map((t) => t.replace(/^\d+\.\s*/, ''));
}

test('an admin adds a yes/no choice, sees it previewed, saves it, and a member is asked it', async () => {
  const page = await newPage();
  await consoleSignIn(page, 'admin@pike-pine.example');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Choices' }).click();
  await page.getByRole('heading', { name: 'Choices', level: 1 }).waitFor();
  await page.getByText('Members see version 1').waitFor();
  assert.deepEqual(await editorOrder(page), ['Regular order', 'Room for cream', 'Milk', 'Wants a receipt', 'Name on the cup']);

  // add: the new question's box takes the keyboard; yes/no is the default kind
  await page.getByRole('button', { name: 'Add a choice' }).click();
  const question = page.getByLabel('Question members see').last();
  assert.ok(await question.evaluate((e) => e === document.activeElement), 'the new question has the focus');
  await page.keyboard.type('Oat milk by default');
  assert.equal(await page.getByLabel('Kind of answer').last().inputValue(), 'yesno');
  assert.ok(await page.getByLabel('Answers to pick from').last().isHidden(), 'a yes/no question has no list of answers');
  assert.equal(await page.getByLabel('Short name').inputValue(), 'oat_milk_by_default');
  await page.getByText('Unsaved changes').waitFor();

  // the live preview: the member's form with the new question, and the card
  const preview = page.locator('section[aria-labelledby=ch-prev-h]');
  const newQ = preview.getByRole('group', { name: 'Oat milk by default' });
  await newQ.getByRole('button', { name: 'Yes' }).click();
  await preview.getByRole('group', { name: 'Room for cream' }).getByRole('button', { name: 'Yes' }).click();
  await preview.getByLabel('Regular order').selectOption('Flat White');
  await preview.getByRole('group', { name: 'Wants a receipt' }).getByRole('button', { name: 'No' }).click();
  await preview.locator('.field', { hasText: 'Wants a receipt' }).getByLabel('Never ask me this').check();
  const card = preview.locator('.card', { hasText: 'On the counter card' });
  await card.getByText('The usual: Flat White').waitFor();
  await card.getByText('Room for cream: yes').waitFor();
  await card.getByText('Oat milk by default: yes').waitFor();
  await card.getByText("Don't ask about: Wants a receipt").waitFor();
  assert.ok(!(await card.innerText()).includes('Wants a receipt: no'), 'a "never ask" answer is not also shown as an answer');

  // leaving with unsaved changes asks; "Stay" stays, "Leave" keeps the draft
  // for when the admin comes back
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Notice & FAQ' }).click();
  const ask = page.getByRole('dialog');
  await ask.getByText('unsaved changes to the choices').waitFor();
  await ask.getByRole('button', { name: 'Stay' }).click();
  assert.match(page.url(), /#\/choices$/);
  assert.equal(await page.getByLabel('Question members see').last().inputValue(), 'Oat milk by default');
  await nav.getByRole('link', { name: 'Notice & FAQ' }).click();
  await ask.getByRole('button', { name: 'Leave' }).click();
  await page.getByRole('heading', { name: 'Notice & FAQ', level: 1 }).waitFor();
  await nav.getByRole('link', { name: 'Choices' }).click();
  await page.getByText('Your unsaved changes from earlier are back.').waitFor();
  assert.equal(await page.getByLabel('Question members see').last().inputValue(), 'Oat milk by default');
  await card.getByText("Don't ask about: Wants a receipt").waitFor();

  // reorder with the keyboard's button: focus stays on it
  const up = page.getByRole('button', { name: 'Move up: “Oat milk by default”' });
  await up.focus();
  await page.keyboard.press('Enter');
  assert.deepEqual(await editorOrder(page), ['Regular order', 'Room for cream', 'Milk', 'Wants a receipt', 'Oat milk by default', 'Name on the cup']);
  assert.ok(await up.evaluate((e) => e === document.activeElement), 'the move button keeps the focus');

  // a choice with no answers to pick from is refused before sending
  await page.getByRole('button', { name: 'Add a choice' }).click();
  await page.keyboard.type('Pastry');
  await page.getByLabel('Kind of answer').last().selectOption('choice');
  assert.ok(await page.getByLabel('Answers to pick from').last().isVisible());
  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByRole('alert').getByText('Choice 7 (“Pastry”): give at least one answer to pick from.').waitFor();
  await page.getByRole('button', { name: 'Remove: “Pastry”' }).click();

  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByText('Saved as version 2.').waitFor();
  await page.getByText('Members see version 2').waitFor();
  assert.ok(await page.getByText('Unsaved changes').isHidden());
  let brand = (await api(srv.url, 'GET', '/v1/brands/pike-pine', null)).body;
  assert.equal(brand.choices_version, 2);
  assert.deepEqual(brand.choices[4], { key: 'oat_milk_by_default', label: 'Oat milk by default', kind: 'yesno', purpose: 'preferences' });
  assert.equal(brand.choices.length, 6);
  await shoot(page, 'console-choices');

  // retire "Name on the cup": asked first; the earlier version keeps it
  await page.getByRole('button', { name: 'Retire: “Name on the cup”' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Retire' }).click();
  await page.getByText('Retired when you save').waitFor();
  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByText('Saved as version 3.').waitFor();
  brand = (await api(srv.url, 'GET', '/v1/brands/pike-pine', null)).body;
  assert.ok(!brand.choices.some((c) => c.key === 'cup_name'));
  const v2 = (await api(srv.url, 'GET', '/v1/brands/pike-pine/choices?version=2', null)).body;
  assert.ok(v2.choices.some((c) => c.key === 'cup_name'), 'version 2 still has the retired choice');
  await page.getByText('Earlier versions').click();
  await page.getByLabel('Version', { exact: true }).selectOption('2');
  await page.locator('details', { hasText: 'Earlier versions' }).getByText('Name on the cup').waitFor();
  assert.deepEqual(page.errors, []);

  // the member's form in My Shopkeeper asks the new question, not the retired one
  const me = await newPage();
  await me.goto(srv.url + '/me');
  await me.getByLabel('Email').fill('jeff@example.com');
  await me.getByLabel('Password').fill('shopkeeper-demo');
  await me.getByRole('button', { name: 'Sign in' }).click();
  await me.getByRole('heading', { name: 'Your brands' }).waitFor();
  await me.getByRole('link', { name: /Pike & Pine/ }).first().click();
  await me.getByRole('heading', { name: 'Your choices' }).waitFor();
  const group = me.getByRole('group', { name: 'Oat milk by default' });
  await group.waitFor();
  await group.getByRole('button', { name: 'Yes' }).click();
  assert.ok(await me.locator('.choice', { hasText: 'Oat milk by default' }).getByText('Never ask me this').isVisible());
  assert.equal(await me.getByText('Name on the cup').count(), 0, 'the retired choice is not asked');
  await me.getByRole('button', { name: 'Save my choices' }).click();
  await me.getByText('Your choices are saved.').waitFor();
  const jeff = await login(srv.url, 'jeff@example.com');
  const prefs = (await api(srv.url, 'GET', '/v1/me/brands/pike-pine/preferences', jeff)).body;
  assert.equal(prefs.answers.oat_milk_by_default, true);
});

test('an admin edits the notice and FAQ, sees what changes, and saves a new version', async () => {
  const page = await newPage();
  await consoleSignIn(page, 'admin@pike-pine.example');
  await page.goto(srv.url + '/console#/notice');
  await page.getByRole('heading', { name: 'Notice & FAQ', level: 1 }).waitFor();
  await page.getByText('Members see version 1').waitFor();
  const before = (await api(srv.url, 'GET', '/v1/brands/pike-pine/notice', null)).body;

  const text = page.getByLabel('What you collect and why');
  assert.equal(await text.inputValue(), before.text);
  await text.fill(before.text + '\n\nWe keep purchases for two years, then delete them.');
  await page.getByRole('button', { name: 'Add a question' }).click();
  await page.keyboard.type('Who sees my answers?');
  await page.getByLabel('Answer', { exact: true }).last().fill('Staff at the counter, and only while you allow it.');
  // the first question moves down
  await page.getByRole('button', { name: 'Move down: “Do you track people walking by?”' }).click();

  const changes = page.locator('section[aria-labelledby=nt-diff-h]');
  await changes.locator('[data-change=add]', { hasText: 'We keep purchases for two years' }).waitFor();
  await changes.locator('[data-change=add]', { hasText: 'Who sees my answers?' }).waitFor();
  await changes.getByText('Your draft (not saved)').waitFor();

  // an empty answer is refused with the question named
  await page.getByLabel('Answer', { exact: true }).last().fill('');
  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByRole('alert').getByText('Question 3: write both the question and its answer, or remove it.').waitFor();
  await page.getByLabel('Answer', { exact: true }).last().fill('Staff at the counter, and only while you allow it.');

  await page.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByText('Saved as version 2.').waitFor();
  await page.getByText('Members see version 2').waitFor();
  const after = (await api(srv.url, 'GET', '/v1/brands/pike-pine/notice', null)).body;
  assert.equal(after.version, 2);
  assert.equal(after.text, before.text + '\n\nWe keep purchases for two years, then delete them.', 'paragraphs are kept');
  assert.deepEqual(after.faq.map((f) => f.q), ['Can I stop being recognised?', 'Do you track people walking by?', 'Who sees my answers?']);
  // beside it, the version it replaced, the differences marked
  await changes.getByText('Version 1').waitFor();
  await changes.locator('del, ins').first().waitFor();
  assert.ok(await changes.locator('[data-change=add]', { hasText: 'two years' }).count() >= 1);
  await shoot(page, 'console-notice');
  assert.deepEqual(page.errors, []);
});

test('an admin imports a CSV with a bad line, reads the report, and retrains suggestions', async () => {
  const page = await newPage();
  await consoleSignIn(page, 'admin@marlowe-books.example');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Catalogue' }).click();
  await page.getByRole('heading', { name: 'Catalogue', level: 1 }).waitFor();
  await page.getByRole('cell', { name: 'bk-001' }).waitFor();
  const items = (n) => api(srv.url, 'GET', '/v1/brands/marlowe-books/items?limit=200', null).then((r) => r.body.items.length);
  const was = await items();

  const csv = 'sku,title,author,category,consumable\n'
    + 'aa-100,The Test of Time,Ada Quill,books/fiction,no\n'
    + 'aa-101,,Nobody,books/fiction,no\n'
    + 'aa-102,Bookmark (leather),,gifts,yes\n';
  await page.getByLabel('CSV file').setInputFiles({ name: 'new-items.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Import' }).click();
  const summary = page.getByTestId('import-summary');
  await summary.waitFor();
  assert.equal((await summary.innerText()).trim(),
    'Imported from new-items.csv: 2 new items, 0 items updated, 1 line not imported.');
  const row = page.getByRole('row', { name: /Line 3/ });
  await row.waitFor();
  assert.match(await row.innerText(), /title/);
  assert.equal(await items(), was + 2);
  // the list shows the new items (first by SKU)
  await page.getByRole('cell', { name: 'The Test of Time' }).waitFor();
  await page.getByRole('cell', { name: 'Again and again' }).first().waitFor();

  // a header without a title column imports nothing and says why
  await page.getByLabel('Or paste the lines').fill('sku,name\naa-200,Nope\n');
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('alert').getByText(/header/).waitFor();
  assert.equal(await items(), was + 2);

  await page.getByRole('button', { name: 'Retrain suggestions now' }).click();
  const trained = page.getByTestId('train-result');
  await trained.waitFor();
  assert.match(await trained.innerText(), new RegExp(`^Suggestions retrained from ${was + 2} items and \\d+ purchases`));
  await page.getByLabel('Or paste the lines').fill('');
  await page.getByLabel('CSV file').setInputFiles({ name: 'new-items.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported from new-items.csv: 0 new items, 2 items updated, 1 line not imported.').waitFor();
  await shoot(page, 'console-catalogue');
  assert.deepEqual(page.errors, []);

  // a store manager has the catalogue too, but not the brand's choices or notice
  const mgr = await newPage();
  await consoleSignIn(mgr, 'manager@marlowe-books.example');
  const nav = mgr.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Catalogue' }).click();
  await mgr.getByRole('cell', { name: 'aa-100' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Choices' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'Notice & FAQ' }).count(), 0);
  await mgr.getByRole('button', { name: 'Retrain suggestions now' }).click();
  await mgr.getByTestId('train-result').waitFor();
  assert.deepEqual(mgr.errors, []);
});
