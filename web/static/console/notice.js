// notice.js — Notice & FAQ: what the brand collects and why, and the
// questions members ask, edited as a draft and saved as a new version
// (PUT /v1/brands/{brand}/notice). Beside the draft, what changes for
// members: the version they see now and the draft (or, after a save, the
// new version and the one it replaced), line by line, differences marked.
import { h, api, say, confirmAction, field, fmtWhen, guardUnsaved, showIf, moveItem } from '/static/ui.js';

// Limits as the server has them (src/http/h_brands.c).
const TEXT_MAX = 8000;
const FAQ_MAX = 40;
const FAQ_TEXT_MAX = 2000;

let uidSeq = 0;
// Unsaved drafts by staff member and brand, kept while the tab is open.
const drafts = new Map();

// The notice as lines to compare: its paragraphs cut into sentences, then
// each question and each answer.
function linesOf(n) {
  if (!n) return [];
  const out = [];
  for (const para of (n.text || '').split(/\n+/)) {
    for (const s of para.split(/(?<=[.!?])\s+/)) if (s.trim()) out.push(s.trim());
  }
  for (const f of n.faq || []) {
    out.push(`Q: ${f.q.trim()}`);
    out.push(`A: ${f.a.trim()}`);
  }
  return out;
}

// A line diff (longest common subsequence): [{op: same|del|add, text}].
export function diffLines(a, b) {
  const n = a.length, m = b.length;
  const L = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push({ op: 'same', text: a[i] }); i++; j++; }
    else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: 'del', text: a[i++] });
    else out.push({ op: 'add', text: b[j++] });
  }
  while (i < n) out.push({ op: 'del', text: a[i++] });
  while (j < m) out.push({ op: 'add', text: b[j++] });
  return out;
}

export async function render(ctx, el) {
  const brand = ctx.brand;
  let published = null;                  // {text, faq, version, updated_at}
  try {
    published = await api('GET', `/v1/brands/${brand.id}/notice`);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  // The version it replaced, when the service can give it (?version=N).
  let previous = null;
  if (published?.version > 1) {
    try {
      const r = await api('GET', `/v1/brands/${brand.id}/notice?version=${published.version - 1}`);
      if (r?.version === published.version - 1) previous = r;
    } catch { /* not offered: the comparison starts with the next save */ }
  }

  let text = published?.text || '';
  let faq = (published?.faq || []).map((f) => ({ uid: ++uidSeq, q: f.q, a: f.a }));
  const stashKey = `${ctx.me.id}:${brand.id}`;
  const kept = drafts.get(stashKey);
  if (kept) ({ text, faq } = kept);
  // The notice and the answers keep their paragraphs (line breaks); a
  // question is one line. Tabs and stray spaces at line ends go.
  const flat = (t) => (t || '').replace(/\s+/g, ' ').trim();
  const paras = (t) => (t || '').replace(/\r\n?/g, '\n').replace(/[^\S\n]+/g, ' ')
    .split('\n').map((l) => l.trim()).join('\n').replace(/\n{3,}/g, '\n\n').trim();
  const norm = (n) => ({ text: paras(n?.text), faq: (n?.faq || []).map((f) => ({ q: flat(f.q), a: paras(f.a) })) });
  const draftNotice = () => norm({ text, faq });
  const dirty = () => JSON.stringify(draftNotice()) !== JSON.stringify(norm(published));
  const keep = () => {
    if (dirty()) drafts.set(stashKey, { text, faq, base: published?.version || 0 });
    else drafts.delete(stashKey);
  };

  // ---- page ----------------------------------------------------------------
  const status = h('p', { class: 'small', 'aria-live': 'polite' });
  const unsaved = h('span', { class: 'tag off', hidden: true }, 'Unsaved changes');
  const textIn = h('textarea', { rows: '9', maxlength: String(TEXT_MAX), required: true }, text);
  const count = h('small', { class: 'hint' });
  const list = h('div', {});
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const addBtn = h('button', { type: 'button', class: 'secondary', onclick: () => add() }, 'Add a question');
  const saveBtn = h('button', { type: 'button', onclick: () => save() }, 'Save as a new version');
  const changes = h('div', {});

  const textField = field('What you collect and why', textIn, 'Members see your paragraphs as you write them.');
  textField.append(count);
  el.append(
    h('h1', {}, 'Notice & FAQ'),
    h('p', { class: 'lead' }, `What ${brand.name} collects and why, and the questions members ask. People read it before they join, `
      + 'and in My Shopkeeper at any time. Each save is a new version; a consent records the version in force.'),
    status,
    kept && dirty() ? restored(kept) : '',
    h('div', { class: 'row', style: 'align-items: flex-start; gap: 1.25rem' },
      h('section', { 'aria-labelledby': 'nt-edit-h', style: 'flex: 1 1 22rem; min-width: 0' },
        h('h2', { id: 'nt-edit-h', style: 'margin-top: .5rem' }, 'The notice'),
        h('div', { class: 'card' }, textField),
        h('h2', {}, 'Questions and answers'),
        list,
        h('div', { class: 'row' }, addBtn),
        h('div', { class: 'row', style: 'margin-top: 1rem' }, saveBtn, unsaved),
        msg),
      h('section', { 'aria-labelledby': 'nt-diff-h', style: 'flex: 1 1 20rem; min-width: 0' },
        h('h2', { id: 'nt-diff-h', style: 'margin-top: .5rem' }, 'What changes for members'),
        changes)));

  textIn.addEventListener('input', () => { text = textIn.value; changed(); });

  // The draft left unsaved earlier, back: say so, and offer to drop it.
  function restored(k) {
    const now = published?.version || 0;
    const note = h('div', { class: 'msg ok', role: 'status' },
      k.base === now ? 'Your unsaved changes from earlier are back. Save them, or '
        : `Your unsaved changes from earlier are back, but version ${now} was saved since: saving yours replaces it. Save them, or `,
      h('button', { type: 'button', class: 'link', onclick: () => {
        text = published?.text || '';
        faq = (published?.faq || []).map((f) => ({ uid: ++uidSeq, q: f.q, a: f.a }));
        textIn.value = text;
        note.remove(); drawList(); changed(); textIn.focus();
      } }, 'discard them'), '.');
    return note;
  }

  function drawStatus() {
    status.textContent = published
      ? `Members see version ${published.version}, published ${fmtWhen(published.updated_at)}.`
      : 'No notice published yet: people cannot see what you collect before they join.';
    showIf(unsaved, dirty());
    count.textContent = `${text.length} of ${TEXT_MAX} characters.`;
  }

  let timer = null;
  function changed() {
    keep();
    drawStatus();
    say(msg, '');
    clearTimeout(timer);
    timer = setTimeout(drawChanges, 250);
  }

  // ---- FAQ entries ---------------------------------------------------------
  function drawList(focus) {
    list.replaceChildren(...(faq.length ? faq.map(entryFor)
      : [h('p', { class: 'card' }, 'No questions yet. Add the ones people ask at the counter.')]));
    if (focus) list.querySelector(focus)?.focus();
  }

  function entryFor(f, i) {
    const legend = h('legend', { style: 'font-weight: 600; padding: 0 .25rem' }, `Question ${i + 1}`);
    const q = h('input', { value: f.q, maxlength: String(FAQ_TEXT_MAX), autocomplete: 'off', 'data-focus': `q-${f.uid}` });
    const a = h('textarea', { rows: '3', maxlength: String(FAQ_TEXT_MAX) }, f.a);
    const name = () => (f.q.trim() ? `“${f.q.trim().slice(0, 60)}”` : `question ${i + 1}`);
    const up = h('button', { type: 'button', class: 'secondary', disabled: i === 0, 'data-focus': `up-${f.uid}`,
      'aria-label': `Move up: ${name()}`, onclick: () => move(f, -1, 'up') }, 'Move up');
    const down = h('button', { type: 'button', class: 'secondary', disabled: i === faq.length - 1, 'data-focus': `down-${f.uid}`,
      'aria-label': `Move down: ${name()}`, onclick: () => move(f, 1, 'down') }, 'Move down');
    const rm = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove: ${name()}`, onclick: () => remove(f) }, 'Remove');
    q.addEventListener('input', () => {
      f.q = q.value;
      up.setAttribute('aria-label', `Move up: ${name()}`);
      down.setAttribute('aria-label', `Move down: ${name()}`);
      rm.setAttribute('aria-label', `Remove: ${name()}`);
      changed();
    });
    a.addEventListener('input', () => { f.a = a.value; changed(); });
    return h('fieldset', { class: 'card', style: 'min-width: 0' }, legend,
      field('Question', q),
      field('Answer', a),
      h('div', { class: 'row' }, up, down, rm));
  }

  function add() {
    if (faq.length >= FAQ_MAX) { say(msg, `The FAQ holds at most ${FAQ_MAX} questions.`); return; }
    const f = { uid: ++uidSeq, q: '', a: '' };
    faq.push(f);
    drawList(`[data-focus="q-${f.uid}"]`);
    changed();
  }

  function move(f, by, which) {
    const focus = moveItem(faq, f, by, which);
    if (!focus) return;
    drawList(focus);
    changed();
  }

  async function remove(f) {
    if (f.q.trim() || f.a.trim()) {
      const ok = await confirmAction(`Remove the question “${f.q.trim() || f.a.trim().slice(0, 60)}” from the FAQ? `
        + 'Members keep seeing it until you save.', 'Remove', 'Keep it');
      if (!ok) return;
    }
    faq = faq.filter((x) => x !== f);
    drawList();
    changed();
    addBtn.focus();
  }

  // ---- what changes --------------------------------------------------------
  function drawChanges() {
    let before, after, title;
    if (dirty()) {
      before = published;
      after = draftNotice();
      title = published ? [`Version ${published.version} (members see it now)`, 'Your draft (not saved)']
        : ['Nothing published yet', 'Your draft (not saved)'];
    } else if (published && previous) {
      before = previous;
      after = published;
      title = [`Version ${previous.version} (${fmtWhen(previous.updated_at)})`, `Version ${published.version} (members see it now)`];
    } else {
      changes.replaceChildren(h('p', { class: 'card' }, published
        ? 'No changes yet. Edit the notice or a question and the differences show here, beside the version members see now.'
        : 'Write the notice: it shows here as members will see it change.'));
      return;
    }
    const d = diffLines(linesOf(before), linesOf(after));
    const added = d.filter((x) => x.op === 'add').length, removed = d.filter((x) => x.op === 'del').length;
    const line = (x) => {
      if (x.op === 'same') return h('li', { class: 'small' }, x.text);
      const mark = x.op === 'add' ? h('span', { class: 'tag ok' }, 'added') : h('span', { class: 'tag off' }, 'removed');
      return h('li', { 'data-change': x.op }, mark, ' ', h(x.op === 'add' ? 'ins' : 'del', {}, x.text));
    };
    const col = (heading, ops) => h('div', { class: 'card', style: 'flex: 1 1 14rem; min-width: 0; margin: 0' },
      h('h3', { style: 'margin: 0 0 .25rem; font-size: 1rem' }, heading),
      ops.length ? h('ul', { class: 'list' }, ops.map(line)) : h('p', { class: 'small' }, 'Empty.'));
    changes.replaceChildren(
      h('p', { class: 'small' }, added || removed
        ? `${added} line${added === 1 ? '' : 's'} added, ${removed} removed.`
        : 'The text is the same.'),
      h('div', { class: 'row', style: 'align-items: flex-start' },
        col(title[0], d.filter((x) => x.op !== 'add')),
        col(title[1], d.filter((x) => x.op !== 'del'))));
  }

  // ---- saving --------------------------------------------------------------
  function problems() {
    const d = draftNotice();
    if (!d.text) return ['text', 'Write what you collect and why: members read it before they join.'];
    if ([...d.text].length > TEXT_MAX) return ['text', `The notice is longer than ${TEXT_MAX} characters.`];
    if (faq.length > FAQ_MAX) return [null, `The FAQ holds at most ${FAQ_MAX} questions.`];
    for (const [i, f] of d.faq.entries()) {
      const uid = faq[i].uid;
      if (!f.q || !f.a)
        return [`q-${uid}`, `Question ${i + 1}: write both the question and its answer, or remove it.`];
      if ([...f.q].length > FAQ_TEXT_MAX || [...f.a].length > FAQ_TEXT_MAX)
        return [`q-${uid}`, `Question ${i + 1}: the question and the answer can each be up to ${FAQ_TEXT_MAX} characters.`];
    }
    return null;
  }

  function explain(detail) {
    const m = /^faq\[(\d+)\]:?\s*(.*)$/.exec(detail || '');
    return m ? `Question ${Number(m[1]) + 1}: ${m[2]}` : detail;
  }

  async function save() {
    say(msg, '');
    if (!dirty()) { say(msg, 'There are no changes to save.', 'ok'); return; }
    const bad = problems();
    if (bad) {
      say(msg, bad[1]);
      if (bad[0] === 'text') textIn.focus();
      else if (bad[0]) list.querySelector(`[data-focus="${bad[0]}"]`)?.focus();
      return;
    }
    saveBtn.disabled = true;
    try {
      const r = await api('PUT', `/v1/brands/${brand.id}/notice`, draftNotice());
      previous = published;
      published = r;
      brand.notice = r;
      brand.notice_version = r.version;
      text = r.text;
      faq = r.faq.map((f) => ({ uid: ++uidSeq, q: f.q, a: f.a }));
      textIn.value = text;
      drawList();
      drawStatus();
      drawChanges();
      keep();
      el.querySelector('.msg.ok[role=status]')?.remove();
      say(msg, `Saved as version ${r.version}. Members see it in My Shopkeeper now, and consents given from now on record version ${r.version}.`, 'ok');
    } catch (e) {
      say(msg, explain(e.message));
    } finally {
      saveBtn.disabled = false;
    }
  }

  // ---- leaving with unsaved changes ----------------------------------------
  guardUnsaved(el, dirty, 'You have unsaved changes to the notice; members do not see them yet. '
    + 'Leave this page anyway? Your draft is kept here until you come back or close the tab.');

  drawStatus();
  drawList();
  drawChanges();
}
