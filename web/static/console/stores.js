// stores.js — Stores: the brand's stores (an admin opens, edits and closes
// them; a manager edits their own), each with its public notice, a printable
// door sign, and its devices: scanners, counter displays (paired by the code
// the display shows) and tills, with when each was last heard from.
import { h, api, say, onSubmit, confirmAction, field, fmtWhen } from '/static/ui.js';

const KIND_WORDS = { scanner: 'Scanner', display: 'Counter display', pos: 'Till (point of sale)' };

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['UTC', 'Europe/London', 'America/New_York']; }
}

function storeFields(store = {}) {
  const dl = h('datalist', { id: 'tz-list' }, zones().map((z) => h('option', { value: z })));
  return [
    field('Name', h('input', { name: 'name', required: true, maxlength: 100, value: store.name || '' })),
    field('City', h('input', { name: 'city', maxlength: 100, value: store.city || '' })),
    field('Address', h('input', { name: 'address', maxlength: 200, value: store.address || '' })),
    field('Time zone', h('input', { name: 'timezone', required: true, maxlength: 64, list: 'tz-list',
      value: store.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' }),
    'A time zone such as Europe/London or America/New_York'),
    dl,
  ];
}

function formData(form) {
  const out = {};
  for (const el of form.querySelectorAll('input[name]')) out[el.name] = el.value.trim();
  if (!out.city) delete out.city;
  if (!out.address) delete out.address;
  return out;
}

export async function render(ctx, el, args) {
  if (args[0] && args[1] === 'sign') return sign(ctx, el, args[0]);
  if (args[0]) return detail(ctx, el, args[0]);
  return list(ctx, el);
}

async function list(ctx, el) {
  await ctx.reloadStores();
  const mine = ctx.storesFor(['admin', 'manager']);
  el.append(h('h1', {}, 'Stores'),
    h('p', { class: 'lead' }, ctx.isAdmin() ? `Every store of ${ctx.brand.name}.` : 'The stores you manage.'));
  const rows = mine.map((s) => h('tr', {},
    h('td', {}, h('a', { href: `#/stores/${s.id}` }, s.name)),
    h('td', {}, s.city || '—'),
    h('td', {}, s.timezone),
    h('td', {}, s.closed_at ? h('span', { class: 'tag off' }, 'Closed') : h('span', { class: 'tag ok' }, 'Open'))));
  el.append(mine.length
    ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Store'), h('th', {}, 'City'), h('th', {}, 'Time zone'), h('th', {}, 'Status'))), h('tbody', {}, rows))
    : h('p', {}, 'No stores yet.'));
  if (!ctx.isAdmin()) return;
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-store-h' },
    h('h2', { id: 'new-store-h' }, 'Open a store'), storeFields(), h('button', { type: 'submit' }, 'Open store'), msg);
  onSubmit(form, msg, async () => {
    const s = await api('POST', `/v1/brands/${ctx.brand.id}/stores`, formData(form));
    await ctx.reloadStores();
    ctx.go(`#/stores/${s.id}`);
  });
  el.append(form);
}

async function detail(ctx, el, id) {
  await ctx.reloadStores();
  const store = ctx.stores.find((s) => s.id === id);
  if (!store) { el.append(h('h1', {}, 'Store not found'), h('p', {}, h('a', { href: '#/stores' }, 'Back to stores'))); return; }
  const manage = ctx.can(['admin', 'manager'], id);
  el.append(h('p', { class: 'small' }, h('a', { href: '#/stores' }, '← Stores')),
    h('h1', {}, store.name, store.closed_at ? h('span', { class: 'tag off' }, ' Closed') : null),
    h('p', { class: 'row' },
      h('a', { href: `/stores/${id}`, target: '_blank', rel: 'noopener' }, 'Public notice'),
      h('span', { 'aria-hidden': 'true' }, '·'),
      h('a', { href: `#/stores/${id}/sign` }, 'Door sign to print')));
  if (store.closed_at) {
    el.append(h('p', {}, `This store closed on ${fmtWhen(store.closed_at)}. Its devices no longer work.`));
    return;
  }
  if (manage) {
    const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
    const form = h('form', { class: 'card', 'aria-labelledby': 'edit-h' },
      h('h2', { id: 'edit-h' }, 'Details'), storeFields(store), h('button', { type: 'submit' }, 'Save'), msg);
    onSubmit(form, msg, async () => {
      await api('PATCH', `/v1/brands/${ctx.brand.id}/stores/${id}`, formData(form));
      await ctx.reloadStores();
      say(msg, 'Saved.', 'ok');
    });
    el.append(form);
  }
  await devices(ctx, el, id);
  if (ctx.isAdmin()) {
    const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
    const btn = h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!await confirmAction(`Close ${store.name}? Its scanners, displays and tills stop working at once, and its managers and counter staff lose their role there.`, 'Close store')) return;
      try { await api('POST', `/v1/brands/${ctx.brand.id}/stores/${id}/close`); await ctx.reloadStores(); ctx.go('#/stores'); } catch (e) { say(msg, e.message); }
    } }, 'Close this store');
    el.append(h('div', { class: 'card' }, h('h2', {}, 'Close the store'),
      h('p', {}, 'History stays; the store can no longer recognise anyone.'), btn, msg));
  }
}

async function devices(ctx, el, id) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'dev-h' }, h('h2', { id: 'dev-h' }, 'Devices'));
  el.append(box);
  const table = h('div');
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  async function load() {
    const keys = (await api('GET', `/v1/stores/${id}/keys`)).items;
    const live = keys.filter((k) => !k.revoked_at);
    table.replaceChildren(live.length ? h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Name'), h('th', {}, 'Added'), h('th', {}, 'Last heard from'), h('th', {}, ''))),
      h('tbody', {}, live.map((k) => h('tr', {},
        h('td', {}, KIND_WORDS[k.kind] || k.kind), h('td', {}, k.name), h('td', {}, fmtWhen(k.created_at)),
        h('td', {}, k.last_seen_at ? fmtWhen(k.last_seen_at) : 'not yet'),
        h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Revoke ${KIND_WORDS[k.kind] || k.kind} ${k.name}`, onclick: async () => {
          if (!await confirmAction(`Revoke ${k.name}? It stops working at once and cannot be turned back on.`, 'Revoke')) return;
          try { await api('DELETE', `/v1/stores/${id}/keys/${k.id}`); await load(); say(msg, `${k.name} is revoked.`, 'ok'); } catch (e) { say(msg, e.message); }
        } }, 'Revoke')))))) : h('p', {}, 'No devices yet.'));
    const gone = keys.length - live.length;
    if (gone) table.append(h('p', { class: 'small' }, `${gone} revoked device${gone === 1 ? '' : 's'} not shown.`));
    return keys;
  }
  box.append(table, msg);

  // pairing a counter display: the code it shows on its pairing screen
  const pmsg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const pair = h('form', { class: 'subform', 'aria-labelledby': 'pair-h' },
    h('h3', { id: 'pair-h' }, 'Pair a counter display'),
    h('p', { class: 'small' }, 'Open /counter on the till screen: it shows a code. Type it here.'),
    field('Code shown on the display', h('input', { name: 'code', required: true, maxlength: 9, autocomplete: 'off', spellcheck: 'false', placeholder: 'ABCD-EFGH' })),
    field('Name', h('input', { name: 'name', required: true, maxlength: 100, value: 'Till 1' })),
    h('button', { type: 'submit' }, 'Pair display'), pmsg);
  onSubmit(pair, pmsg, async () => {
    const code = pair.querySelector('[name=code]').value.trim();
    const name = pair.querySelector('[name=name]').value.trim();
    if (!code) throw new Error('Type the code the display shows.');
    const d = await api('POST', `/v1/stores/${id}/displays`, { name, pairing_code: code });
    pair.querySelector('[name=code]').value = '';
    say(pmsg, `${name} is paired. It shows this store's cards now.`, 'ok');
    // the display collects its key on its next poll (every 2 s): list it then
    for (let i = 0; i < 10; i++) {
      const keys = await load();
      if (keys.some((k) => k.id === d.id)) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  });

  // scanner and till keys: shown once, for the device's own settings
  const kmsg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const shown = h('div');
  const kind = h('select', { name: 'kind' }, h('option', { value: 'scanners' }, 'Scanner'), h('option', { value: 'pos' }, 'Till (point of sale)'));
  const add = h('form', { class: 'subform', 'aria-labelledby': 'add-h' },
    h('h3', { id: 'add-h' }, 'Add a scanner or a till'),
    field('Kind', kind), field('Name', h('input', { name: 'kname', required: true, maxlength: 100, value: 'Door scanner' })),
    h('button', { type: 'submit' }, 'Create key'), kmsg, shown);
  onSubmit(add, kmsg, async () => {
    const r = await api('POST', `/v1/stores/${id}/${kind.value}`, { name: add.querySelector('[name=kname]').value.trim() });
    shown.replaceChildren(h('p', {}, 'Copy this key into the device now — it is shown only once:'),
      h('p', { class: 'secret', tabindex: '0' }, r.key));
    await load();
  });
  if (ctx.can(['admin', 'manager'], id)) box.append(pair, add);
  await load();
}

async function sign(ctx, el, id) {
  const store = ctx.stores.find((s) => s.id === id);
  const r = await api('GET', `/v1/stores/${id}/sign?base=${encodeURIComponent(location.origin)}`);
  const qr = h('div', { class: 'sign-qr', role: 'img', 'aria-label': `QR code of ${r.url}` });
  qr.innerHTML = r.svg;
  el.append(h('p', { class: 'small noprint' }, h('a', { href: `#/stores/${id}` }, `← ${store ? store.name : 'Store'}`),
    ' · ', h('button', { type: 'button', class: 'link', onclick: () => window.print() }, 'Print')),
  h('article', { class: 'door-sign' },
    h('h1', {}, `${ctx.brand.name} — ${r.store}`),
    h('p', { class: 'big' }, 'Members who said yes can be greeted by name here.'),
    h('p', {}, 'Only if you joined us in Shopkeeper and turned recognition on. Strangers leave no trace. You can see every time we looked, and take it all back in one click.'),
    qr,
    h('p', {}, 'Scan to read what we collect, why, and for how long — and to check in with one tap:'),
    h('p', { class: 'url' }, r.url)));
}
