// catalogue.js — Catalogue: import the brand's items from a CSV file (or
// pasted rows) with a report line by line, the item list page by page, and
// retraining the suggestions now instead of at the next background run.
// POST /v1/brands/{brand}/items/import (text/csv), GET .../items?after=&limit=,
// POST /v1/brands/{brand}/train.
import { h, api, say, field, fmtWhen } from '/static/ui.js';

const PAGE = 50;
const MAX_BYTES = 1024 * 1024;   // the service's default --max-body

function plural(n, one, many = one + 's') { return `${n.toLocaleString()} ${n === 1 ? one : many}`; }
function sizeWords(bytes) {
  return bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB`
    : `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;
}
// Rows after the header, not counting blank lines (quoted line breaks may
// make this an estimate; the service's report is the count that matters).
function rowCount(csv) { return Math.max(0, csv.split(/\r?\n/).filter((l) => l.trim()).length - 1); }

export async function render(ctx, el) {
  const brand = ctx.brand;
  el.append(
    h('h1', {}, 'Catalogue'),
    h('p', { class: 'lead' }, `The items ${brand.name} sells. Suggestions on the counter card come from these items `
      + 'and what members bought; the catalogue holds nothing about anyone, so it is public.'));

  // ---- import --------------------------------------------------------------
  const file = h('input', { type: 'file', accept: '.csv,text/csv' });
  const paste = h('textarea', { rows: '5', spellcheck: 'false', placeholder: 'sku,title,category\nbk-100,The Night Manager,books/fiction' });
  const importMsg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const progress = h('div', { role: 'status', 'aria-live': 'polite' });
  const report = h('div', {});
  const importBtn = h('button', { type: 'submit' }, 'Import');
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { style: 'margin-top: 0' }, 'Import items'),
    h('p', {}, 'A CSV file whose first line names the columns: ',
      h('strong', {}, 'sku'), ' and ', h('strong', {}, 'title'), ' are required; ',
      'category (a path such as books/fiction), maker (or author, brand), tags (separated by ;), ',
      'released (YYYY-MM-DD) and consumable (yes or no: bought again, like coffee) are optional. ',
      'An item whose SKU exists is updated. A bad line is reported and never stops the others.'),
    field('CSV file', file, `Up to ${sizeWords(MAX_BYTES)} per file.`),
    field('Or paste the lines', paste, 'Including the first line with the column names.'),
    h('div', { class: 'row' }, importBtn),
    progress, importMsg, report);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say(importMsg, '');
    report.replaceChildren();
    importBtn.disabled = true;
    try {
      let csv = '', from = 'the pasted lines';
      if (file.files.length) {
        const f = file.files[0];
        from = f.name;
        if (f.size > MAX_BYTES) throw new Error(`${f.name} is ${sizeWords(f.size)}; the service takes up to ${sizeWords(MAX_BYTES)} at a time. Split it into smaller files.`);
        step(`Reading ${f.name}…`);
        csv = await f.text();
      } else {
        csv = paste.value;
      }
      if (!csv.trim()) throw new Error('Choose a CSV file or paste the lines to import.');
      const rows = rowCount(csv);
      if (rows === 0) throw new Error('There is only one line: the first line names the columns, the items follow it.');
      step(`Uploading ${plural(rows, 'line')} from ${from} (${sizeWords(new Blob([csv]).size)}) and importing them…`, true);
      const r = await api('POST', `/v1/brands/${brand.id}/items/import`, { csv });
      step('');
      showReport(r, from);
      file.value = '';
      paste.value = '';
      await loadItems(null, []);
    } catch (e) {
      step('');
      say(importMsg, e.message);
    } finally {
      importBtn.disabled = false;
    }
  });

  function step(words, busy = false) {
    progress.replaceChildren(...(words ? [h('p', { class: 'small' },
      busy ? h('progress', { 'aria-label': 'Importing' }) : null, ' ', words)] : []));
  }

  function showReport(r, from) {
    const ok = r.imported + r.updated;
    const lines = [
      h('p', { class: `msg ${r.rejected_count ? 'error' : 'ok'}`, 'data-testid': 'import-summary' },
        `Imported from ${from}: ${plural(r.imported, 'new item')}, ${plural(r.updated, 'item')} updated`,
        r.rejected_count ? `, ${plural(r.rejected_count, 'line')} not imported.` : '. Every line was imported.'),
    ];
    if (r.rejected_count) {
      lines.push(h('p', { class: 'small', id: 'import-problems' },
        'Lines not imported — correct them in the file and import it again; the others are already in.'),
      h('table', { 'aria-labelledby': 'import-problems' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'Problem'))),
        h('tbody', {}, r.rejected.map((x) => h('tr', {},
          h('td', {}, `Line ${x.line}`), h('td', {}, x.reason))))));
      if (r.rejected_count > r.rejected.length)
        lines.push(h('p', { class: 'small' }, `Showing the first ${plural(r.rejected.length, 'problem')} of ${r.rejected_count.toLocaleString()}.`));
    }
    if (ok) lines.push(h('p', { class: 'small' }, 'Suggestions use new items after the next retrain: it runs by itself within 10 minutes, or retrain now below.'));
    report.replaceChildren(...lines);
  }

  // ---- retrain -------------------------------------------------------------
  const trainMsg = h('div', { 'aria-live': 'polite' });
  const trainBtn = h('button', { type: 'button', class: 'secondary' }, 'Retrain suggestions now');
  trainBtn.addEventListener('click', async () => {
    trainBtn.disabled = true;
    trainMsg.replaceChildren(h('p', { class: 'small' }, h('progress', { 'aria-label': 'Retraining' }), ' Retraining…'));
    try {
      const r = await api('POST', `/v1/brands/${brand.id}/train`);
      trainMsg.replaceChildren(h('p', { class: 'msg ok', 'data-testid': 'train-result' },
        `Suggestions retrained from ${plural(r.items, 'item')} and ${plural(r.baskets, 'purchase')} in ${plural(r.ms, 'millisecond')}. `
        + `${plural(r.modelled, 'item is', 'items are')} bought with others often enough to be suggested from what people buy together; `
        + 'the rest can still be suggested from members\u2019 stated likes.'));
    } catch (e) {
      trainMsg.replaceChildren(h('p', { class: 'msg error', role: 'alert' }, e.message));
    } finally {
      trainBtn.disabled = false;
    }
  });
  const trainCard = h('div', { class: 'card' },
    h('h2', { style: 'margin-top: 0' }, 'Suggestions'),
    h('p', {}, 'Suggestions retrain by themselves every 10 minutes when items or purchases changed. '
      + 'Retrain now to use a new import at once.'),
    h('div', { class: 'row' }, trainBtn), trainMsg);

  // ---- items ---------------------------------------------------------------
  const itemsBox = h('div', { 'aria-live': 'polite' });
  el.append(form, trainCard, h('section', { 'aria-labelledby': 'cat-items-h' }, h('h2', { id: 'cat-items-h' }, 'Items'), itemsBox));

  // cursors: the "after" of each page shown so far (null for the first)
  async function loadItems(after, trail) {
    let r;
    try {
      r = await api('GET', `/v1/brands/${brand.id}/items?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    } catch (e) {
      itemsBox.replaceChildren(h('p', { class: 'msg error', role: 'alert' }, e.message));
      return;
    }
    const first = trail.length * PAGE + 1;
    if (!r.items.length && !after) {
      itemsBox.replaceChildren(h('p', { class: 'card' }, 'No items yet. Import a CSV file to start: without items there are no suggestions, and members see none.'));
      return;
    }
    const prev = trail.length ? h('button', { type: 'button', class: 'secondary',
      onclick: () => loadItems(trail[trail.length - 1], trail.slice(0, -1)) }, 'Previous page') : null;
    const next = r.next ? h('button', { type: 'button', class: 'secondary',
      onclick: () => loadItems(r.next, [...trail, after]) }, 'Next page') : null;
    itemsBox.replaceChildren(
      h('p', { class: 'small' }, `Items ${first.toLocaleString()}–${(first + r.items.length - 1).toLocaleString()}, by SKU.`),
      h('table', {},
        h('thead', {}, h('tr', {}, ['SKU', 'Title', 'Category', 'Maker', 'Bought', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.items.map((it) => h('tr', {},
          h('td', {}, h('code', { style: 'white-space: nowrap' }, it.sku)),
          h('td', {}, h('strong', {}, it.title), it.tags?.length ? h('div', { class: 'small' }, it.tags.join(', ')) : null),
          h('td', {}, it.category || ''),
          h('td', {}, it.maker || ''),
          h('td', {}, it.consumable ? 'Again and again' : 'Once'),
          h('td', { class: 'small' }, fmtWhen(it.updated_at)))))),
      h('div', { class: 'row', style: 'margin-top: .5rem' }, prev, next));
  }
  await loadItems(null, []);
}
