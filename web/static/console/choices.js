// choices.js — Choices: the brand's simple questions for members (the usual
// order, room for cream, ...). Admins add, edit, reorder and retire them in
// a draft; a live preview beside the draft shows the member's form as My
// Shopkeeper draws it and the line staff would read on the counter card.
// Saving makes a new version (PUT /v1/brands/{brand}/choices); answers given
// under earlier versions stay readable. Leaving with unsaved changes asks.
import { h, api, say, confirmAction, field, fmtWhen, guardUnsaved, showIf, moveItem } from '/static/ui.js';

// Limits as the server has them (src/core/choices.h).
const MAX_CHOICES = 50;
const MAX_OPTIONS = 30;
const MAX_LABEL = 120;
const MAX_KEY = 40;

const KINDS = [
  ['choice', 'One answer from a list'],
  ['yesno', 'Yes or no'],
  ['text', 'A few words'],
];
// Who may see an answer: the member must allow this purpose.
const PURPOSES = [
  ['preferences', 'Preferences'],
  ['suggestions', 'Suggestions'],
  ['history', 'Purchase history'],
  ['offers', 'Offers'],
  ['messages', 'Messages'],
  ['care', 'Care'],
  ['insights', 'Insights'],
];

let uidSeq = 0;

// hidden, even where a class sets display (.tag, .field)
// Unsaved drafts by staff member and brand, kept while the tab is open: a
// screen left with changes (a link, the Back button) finds them again.
const drafts = new Map();

function answerWords(v) { return v === true ? 'yes' : v === false ? 'no' : String(v); }

// A choice as the server stores it, for sending and comparing.
function canon(c) {
  const out = { key: c.key, label: c.label.trim(), kind: c.kind, purpose: c.purpose || 'preferences' };
  if (c.kind === 'choice') out.options = c.options.map((o) => o.trim()).filter(Boolean);
  return out;
}
function sameList(a, b) { return JSON.stringify(a.map(canon)) === JSON.stringify(b.map(canon)); }

// A key from a question: "Room for cream?" -> room_for_cream.
function keyFrom(label, taken) {
  let k = label.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(k)) k = 'q_' + k;
  k = k.slice(0, MAX_KEY).replace(/_+$/, '') || 'choice';
  let n = 2, out = k;
  while (taken.has(out)) { const s = '_' + n++; out = k.slice(0, MAX_KEY - s.length) + s; }
  return out;
}

function purposeWords(p) {
  if (p.startsWith('partner:')) return 'sharing with ' + p.slice(8);
  return PURPOSES.find(([v]) => v === p)?.[1] || p;
}

export async function render(ctx, el) {
  const brand = ctx.brand;
  const current = await api('GET', `/v1/brands/${brand.id}/choices`);
  let saved = current.choices || [];
  let version = current.version || 0;
  let savedAt = current.created_at;
  let partners = [];
  try {
    partners = (await api('GET', '/v1/brands?limit=200')).items.filter((b) => b.id !== brand.id);
  } catch { /* partner purposes are rare; the rest still works */ }

  const toDraft = (c) => ({ uid: ++uidSeq, key: c.key, label: c.label, kind: c.kind,
    options: [...(c.options || [])], purpose: c.purpose || 'preferences', fresh: false });
  let draft = saved.map(toDraft);
  let sample = new Map();        // uid -> a sample answer for the preview
  let never = new Set();         // uids ticked "never ask me this" in the preview
  const stashKey = `${ctx.me.id}:${brand.id}`;
  const kept = drafts.get(stashKey);
  if (kept) ({ draft, sample, never } = kept);

  const dirty = () => !sameList(draft, saved);
  const keep = () => {
    if (dirty()) drafts.set(stashKey, { draft, sample, never, base: version });
    else drafts.delete(stashKey);
  };

  // ---- page ----------------------------------------------------------------
  const status = h('p', { class: 'small', 'aria-live': 'polite' });
  const unsaved = h('span', { class: 'tag off', hidden: true }, 'Unsaved changes');
  const list = h('div', {});
  const retired = h('div', {});
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const addBtn = h('button', { type: 'button', class: 'secondary', onclick: () => add() }, 'Add a choice');
  const saveBtn = h('button', { type: 'button', onclick: () => save() }, 'Save as a new version');
  const preview = h('div', { 'aria-live': 'polite' });
  const earlier = h('div', {});

  el.append(
    h('h1', {}, 'Choices'),
    h('p', { class: 'lead' }, `The simple questions members of ${brand.name} can answer in My Shopkeeper — `
      + 'their usual order, room for cream. Staff see an answer on the counter only while the member allows it. '
      + 'Each save is a new version; answers given under an earlier version stay readable.'),
    status,
    kept && dirty() ? restored(kept) : '',
    h('div', { class: 'row', style: 'align-items: flex-start; gap: 1.25rem' },
      h('section', { 'aria-labelledby': 'ch-edit-h', style: 'flex: 1 1 22rem; min-width: 0' },
        h('h2', { id: 'ch-edit-h', style: 'margin-top: .5rem' }, 'Your choices'),
        list,
        h('div', { class: 'row' }, addBtn),
        retired,
        h('div', { class: 'row', style: 'margin-top: 1rem' }, saveBtn, unsaved),
        msg),
      h('section', { 'aria-labelledby': 'ch-prev-h', style: 'flex: 1 1 17rem; min-width: 0' },
        h('h2', { id: 'ch-prev-h', style: 'margin-top: .5rem' }, 'Preview'),
        preview)),
    earlier);

  // The draft left unsaved earlier, back: say so, and offer to drop it.
  function restored(k) {
    const note = h('div', { class: 'msg ok', role: 'status' },
      k.base === version ? 'Your unsaved changes from earlier are back. Save them, or ' 
        : `Your unsaved changes from earlier are back, but version ${version} was saved since: saving yours replaces it. Save them, or `,
      h('button', { type: 'button', class: 'link', onclick: () => {
        draft = saved.map(toDraft); sample = new Map(); never = new Set();
        note.remove(); drawList(); changed(); addBtn.focus();
      } }, 'discard them'), '.');
    return note;
  }

  function drawStatus() {
    status.textContent = version
      ? `Members see version ${version}, saved ${fmtWhen(savedAt)}.`
      : 'No choices published yet: members have nothing to answer.';
    showIf(unsaved, dirty());
  }

  // ---- the editor ----------------------------------------------------------
  function drawList(focus) {
    list.replaceChildren(...(draft.length ? draft.map(editorFor)
      : [h('p', { class: 'card' }, 'No choices yet. Add one: members answer only what they like.')]));
    drawRetired();
    if (focus) list.querySelector(focus)?.focus();
  }

  function editorFor(c, i) {
    const n = i + 1;
    const title = () => c.label.trim() || 'New choice';
    const legend = h('legend', { style: 'font-weight: 600; padding: 0 .25rem' }, `${n}. ${title()}`);
    const label = h('input', { value: c.label, maxlength: String(MAX_LABEL), required: true, autocomplete: 'off',
      'data-focus': `label-${c.uid}` });
    const keyIn = c.fresh ? h('input', { value: c.key, maxlength: String(MAX_KEY), autocomplete: 'off',
      pattern: '[a-z][a-z0-9_]*', spellcheck: 'false' }) : null;
    label.addEventListener('input', () => {
      c.label = label.value;
      legend.textContent = `${n}. ${title()}`;
      up.setAttribute('aria-label', `Move up: “${title()}”`);
      down.setAttribute('aria-label', `Move down: “${title()}”`);
      retire.setAttribute('aria-label', `${c.fresh ? 'Remove' : 'Retire'}: “${title()}”`);
      if (c.fresh && !c.keyTouched) {
        const taken = new Set(draft.filter((d) => d !== c).map((d) => d.key));
        c.key = keyFrom(c.label || 'choice', taken);
        keyIn.value = c.key;
      }
      changed();
    });
    keyIn?.addEventListener('input', () => { c.key = keyIn.value.trim(); c.keyTouched = true; changed(); });

    const kind = h('select', {}, KINDS.map(([v, t]) => h('option', { value: v, selected: c.kind === v }, t)));
    const opts = h('textarea', { rows: '4', spellcheck: 'true' }, c.options.join('\n'));
    const optsField = field('Answers to pick from', opts, `One per line, up to ${MAX_OPTIONS}.`);
    showIf(optsField, c.kind === 'choice');
    kind.addEventListener('change', () => {
      c.kind = kind.value;
      showIf(optsField, c.kind === 'choice');
      sample.delete(c.uid);
      changed();
    });
    opts.addEventListener('input', () => { c.options = opts.value.split('\n').map((o) => o.trim()).filter(Boolean); changed(); });

    const purposes = [...PURPOSES, ...partners.map((b) => [`partner:${b.slug}`, `Sharing with ${b.name}`])];
    if (!purposes.some(([v]) => v === c.purpose)) purposes.push([c.purpose, purposeWords(c.purpose)]);
    const purpose = h('select', {}, purposes.map(([v, t]) => h('option', { value: v, selected: c.purpose === v }, t)));
    purpose.addEventListener('change', () => { c.purpose = purpose.value; changed(); });

    const up = h('button', { type: 'button', class: 'secondary', disabled: i === 0, 'data-focus': `up-${c.uid}`,
      'aria-label': `Move up: “${title()}”`, onclick: () => move(c, -1, 'up') }, 'Move up');
    const down = h('button', { type: 'button', class: 'secondary', disabled: i === draft.length - 1, 'data-focus': `down-${c.uid}`,
      'aria-label': `Move down: “${title()}”`, onclick: () => move(c, 1, 'down') }, 'Move down');
    const retire = h('button', { type: 'button', class: 'secondary', 'aria-label': `${c.fresh ? 'Remove' : 'Retire'}: “${title()}”`,
      onclick: () => retireOne(c) }, c.fresh ? 'Remove' : 'Retire');

    // closed, a choice is one line; open, its fields
    const gist = h('p', { class: 'small', style: 'margin: 0 0 .5rem' }, gistOf(c));
    const details = h('details', { open: c.open || c.fresh },
      h('summary', { style: 'cursor: pointer; margin-bottom: .25rem' }, 'Edit this choice'),
      field('Question members see', label, c.fresh ? `Up to ${MAX_LABEL} characters, e.g. “Room for cream”.` : null),
      keyIn ? field('Short name', keyIn, 'Used in exports and by your systems. Lower-case letters, digits and _; it cannot change once saved.')
        : h('p', { class: 'small' }, `Short name: ${c.key} (it stays, so earlier answers keep their meaning)`),
      field('Kind of answer', kind),
      optsField,
      field('Staff see the answer while the member allows', purpose));
    details.addEventListener('toggle', () => { c.open = details.open; });
    const fs = h('fieldset', { class: 'card', 'data-key': c.key, style: 'min-width: 0' },
      legend, gist, details, h('div', { class: 'row' }, up, down, retire));
    fs.addEventListener('input', () => { gist.textContent = gistOf(c); });
    fs.addEventListener('change', () => { gist.textContent = gistOf(c); });
    return fs;
  }

  function gistOf(c) {
    let s = KINDS.find(([k]) => k === c.kind)?.[1] || c.kind;
    if (c.kind === 'choice') {
      s += c.options.length ? `: ${c.options.slice(0, 4).join(', ')}${c.options.length > 4 ? ` and ${c.options.length - 4} more` : ''}`
        : ': no answers yet';
    }
    if (c.purpose !== 'preferences') s += ` · staff see it only while the member allows ${purposeWords(c.purpose)}`;
    return s + '.';
  }

  function changed() { keep(); drawStatus(); drawPreview(); say(msg, ''); }

  function add() {
    if (draft.length >= MAX_CHOICES) { say(msg, `A brand can have at most ${MAX_CHOICES} choices. Retire one first.`); return; }
    const taken = new Set(draft.map((d) => d.key));
    const c = { uid: ++uidSeq, key: keyFrom('choice', taken), label: '', kind: 'yesno', options: [],
      purpose: 'preferences', fresh: true, keyTouched: false };
    draft.push(c);
    drawList(`[data-focus="label-${c.uid}"]`);
    changed();
  }

  function move(c, by, which) {
    // keep the keyboard where it was; at the ends, on the other button
    const focus = moveItem(draft, c, by, which);
    if (!focus) return;
    drawList(focus);
    changed();
  }

  async function retireOne(c) {
    const name = c.label.trim() || 'this new choice';
    if (!c.fresh) {
      const ok = await confirmAction(`Retire “${name}”? Members will no longer be asked it once you save. `
        + 'Answers they already gave stay readable in the earlier version.', 'Retire', 'Keep it');
      if (!ok) return;
    }
    draft = draft.filter((d) => d !== c);
    drawList();
    changed();
    (retired.querySelector('button') || addBtn).focus();
  }

  // Saved choices missing from the draft: retired at the next save.
  function drawRetired() {
    const keys = new Set(draft.map((d) => d.key));
    const gone = saved.filter((s) => !keys.has(s.key));
    retired.replaceChildren(gone.length ? h('div', { class: 'card' },
      h('p', { style: 'margin-top: 0' }, h('strong', {}, 'Retired when you save'), h('br'),
        h('span', { class: 'small' }, 'Members stop being asked; answers they gave stay readable in earlier versions.')),
      h('ul', { class: 'list' }, gone.map((s) => h('li', { class: 'row' }, h('span', {}, s.label),
        h('button', { type: 'button', class: 'link', 'aria-label': `Keep “${s.label}”`,
          onclick: () => { draft.push({ ...toDraft(s), open: true }); drawList(`[data-focus="label-${draft[draft.length - 1].uid}"]`); changed(); } },
        'Keep it'))))) : '');
  }

  // ---- the preview ---------------------------------------------------------
  function drawPreview() {
    const form = h('div', { class: 'card' },
      h('h3', { style: 'margin: 0 0 .25rem; font-size: 1rem' }, 'In My Shopkeeper'),
      h('p', { class: 'small', style: 'margin-top: 0' }, 'A member who shares preferences answers here. Try it: the counter card below follows.'),
      draft.length ? draft.map(previewQuestion) : h('p', {}, `${brand.name} has no choices to answer yet.`));

    const shown = [], dont = [];
    for (const c of draft) {
      if (never.has(c.uid)) { dont.push(c.label.trim() || 'New choice'); continue; }
      const v = sample.get(c.uid);
      if (v === undefined || v === '') continue;
      if (c.kind === 'choice' && !c.options.includes(v)) continue;
      shown.push({ c, v });
    }
    const usual = shown.find((s) => s.c.key === 'usual');
    const rest = shown.filter((s) => s !== usual);
    const card = h('div', { class: 'card', style: 'border-left: 6px solid #0b5cad' },
      h('h3', { style: 'margin: 0 0 .25rem; font-size: 1rem' }, 'On the counter card'),
      h('p', { style: 'margin: 0' }, 'Good morning, ', h('strong', {}, 'Sam')),
      usual ? h('p', { style: 'font-weight: 600; margin: .35rem 0' }, `The usual: ${answerWords(usual.v)}`) : null,
      rest.length ? h('ul', { class: 'list', 'data-testid': 'card-answers' },
        rest.map(({ c, v }) => h('li', {}, `${c.label.trim() || 'New choice'}: ${answerWords(v)}`,
          c.purpose !== 'preferences' ? h('span', { class: 'small' }, ` (only while the member allows ${purposeWords(c.purpose)})`) : null)))
        : null,
      dont.length ? h('p', { class: 'msg error' }, h('strong', {}, "Don't ask about: "), dont.join(', ')) : null,
      !shown.length && !dont.length ? h('p', { class: 'small' }, 'Nothing answered yet: staff would see only the greeting.') : null);
    preview.replaceChildren(form, card);
  }

  function previewQuestion(c) {
    const id = `pv-${c.uid}`;
    const text = c.label.trim() || 'New choice';
    const v = sample.get(c.uid);
    let control;
    if (c.kind === 'choice') {
      control = h('select', { id }, h('option', { value: '' }, '— not set —'),
        c.options.map((o) => h('option', { value: o, selected: v === o }, o)));
      control.addEventListener('change', () => { sample.set(c.uid, control.value); drawPreview(); focusPreview(id); });
    } else if (c.kind === 'yesno') {
      const btn = (val, words) => h('button', { type: 'button', class: v === val ? '' : 'secondary',
        'aria-pressed': String(v === val), id: `${id}-${words}`,
        onclick: () => { if (v === val) sample.delete(c.uid); else sample.set(c.uid, val); drawPreview(); focusPreview(`${id}-${words}`); } }, words);
      control = h('div', { class: 'row', role: 'group', 'aria-labelledby': `${id}-l` }, btn(true, 'Yes'), btn(false, 'No'));
    } else {
      control = h('input', { id, value: typeof v === 'string' ? v : '', maxlength: '200', autocomplete: 'off' });
      control.addEventListener('change', () => { sample.set(c.uid, control.value.trim()); drawPreview(); });
    }
    const tick = h('input', { type: 'checkbox', id: `${id}-never`, checked: never.has(c.uid) });
    tick.addEventListener('change', () => { if (tick.checked) never.add(c.uid); else never.delete(c.uid); drawPreview(); focusPreview(`${id}-never`); });
    return h('div', { class: 'field', style: 'border-top: 1px solid #d0d5da; padding-top: .5rem' },
      c.kind === 'yesno' ? h('span', { id: `${id}-l`, style: 'font-weight: 600' }, text) : h('label', { for: id }, text),
      control,
      c.purpose !== 'preferences' ? h('small', { class: 'hint' }, `Staff see this only while ${purposeWords(c.purpose)} is on.`) : null,
      h('label', { for: `${id}-never`, style: 'font-weight: 400' }, tick, ' Never ask me this'));
  }
  function focusPreview(id) { document.getElementById(id)?.focus(); }

  // ---- saving --------------------------------------------------------------
  function problems() {
    if (draft.length > MAX_CHOICES) return [null, `A brand can have at most ${MAX_CHOICES} choices.`];
    const keys = new Set();
    for (const [i, c] of draft.entries()) {
      const name = `Choice ${i + 1}${c.label.trim() ? ` (“${c.label.trim()}”)` : ''}`;
      if (!c.label.trim()) return [`label-${c.uid}`, `${name}: write the question members see.`];
      if (c.label.trim().length > MAX_LABEL) return [`label-${c.uid}`, `${name}: the question is longer than ${MAX_LABEL} characters.`];
      if (!/^[a-z][a-z0-9_]*$/.test(c.key) || c.key.length > MAX_KEY)
        return [`label-${c.uid}`, `${name}: the short name must start with a letter and use only lower-case letters, digits and _.`];
      if (keys.has(c.key)) return [`label-${c.uid}`, `${name}: another choice already has the short name “${c.key}”.`];
      keys.add(c.key);
      if (c.kind === 'choice') {
        if (!c.options.length) return [`label-${c.uid}`, `${name}: give at least one answer to pick from.`];
        if (c.options.length > MAX_OPTIONS) return [`label-${c.uid}`, `${name}: at most ${MAX_OPTIONS} answers to pick from.`];
        const seen = new Set();
        for (const o of c.options) {
          if (o.length > MAX_LABEL) return [`label-${c.uid}`, `${name}: “${o.slice(0, 30)}…” is longer than ${MAX_LABEL} characters.`];
          if (seen.has(o)) return [`label-${c.uid}`, `${name}: “${o}” is listed twice.`];
          seen.add(o);
        }
      }
    }
    return null;
  }

  // "choices[2].label: required …" -> "Choice 3 (“Milk”): label: required …"
  function explain(detail) {
    const m = /^choices\[(\d+)\]\.?(.*)$/.exec(detail || '');
    if (!m) return detail;
    const c = draft[Number(m[1])];
    return `Choice ${Number(m[1]) + 1}${c?.label.trim() ? ` (“${c.label.trim()}”)` : ''}: ${m[2]}`;
  }

  async function save() {
    say(msg, '');
    if (!dirty()) { say(msg, 'There are no changes to save.', 'ok'); return; }
    const bad = problems();
    if (bad) {
      say(msg, bad[1]);
      const at = bad[0] && list.querySelector(`[data-focus="${bad[0]}"]`);
      if (at) { at.closest('details').open = true; at.focus(); }
      return;
    }
    saveBtn.disabled = true;
    try {
      const r = await api('PUT', `/v1/brands/${brand.id}/choices`, { choices: draft.map(canon) });
      saved = r.choices;
      version = r.version;
      savedAt = r.created_at;
      brand.choices = r.choices;
      brand.choices_version = r.version;
      const uids = new Map(draft.map((d) => [d.key, d.uid]));
      draft = saved.map((c) => ({ ...toDraft(c), uid: uids.get(c.key) ?? ++uidSeq }));
      drawList();
      drawStatus();
      drawPreview();
      drawEarlier();
      keep();
      el.querySelector('.msg.ok[role=status]')?.remove();
      say(msg, `Saved as version ${version}. Members see the new choices now.`, 'ok');
    } catch (e) {
      say(msg, explain(e.message));
    } finally {
      saveBtn.disabled = false;
    }
  }

  // ---- earlier versions ----------------------------------------------------
  function drawEarlier() {
    if (version < 2) { earlier.replaceChildren(); return; }
    const pick = h('select', {}, Array.from({ length: version - 1 }, (_, i) => version - 1 - i)
      .map((v) => h('option', { value: String(v) }, `Version ${v}`)));
    const out = h('div', { 'aria-live': 'polite' });
    const show = async () => {
      out.replaceChildren(h('p', { class: 'small' }, 'Loading…'));
      try {
        const r = await api('GET', `/v1/brands/${brand.id}/choices?version=${pick.value}`);
        out.replaceChildren(h('p', { class: 'small' }, `Version ${r.version}, saved ${fmtWhen(r.created_at)}.`),
          h('ul', { class: 'list' }, r.choices.map((c) => h('li', {}, h('strong', {}, c.label), ' — ',
            KINDS.find(([k]) => k === c.kind)?.[1] || c.kind,
            c.options ? `: ${c.options.join(', ')}` : ''))));
      } catch (e) { out.replaceChildren(h('p', { class: 'msg error' }, e.message)); }
    };
    pick.addEventListener('change', show);
    earlier.replaceChildren(h('details', { class: 'card' },
      h('summary', {}, 'Earlier versions'),
      h('p', { class: 'small' }, 'Answers members gave under an earlier version stay readable with the questions they answered.'),
      field('Version', pick), out));
    earlier.querySelector('details').addEventListener('toggle', (e) => { if (e.target.open && !out.childNodes.length) show(); });
  }

  // ---- leaving with unsaved changes ----------------------------------------
  guardUnsaved(el, dirty, 'You have unsaved changes to the choices; members do not see them yet. '
    + 'Leave this page anyway? Your draft is kept here until you come back or close the tab.');

  drawStatus();
  drawList();
  drawPreview();
  drawEarlier();
}
