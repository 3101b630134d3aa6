// staff.js — Staff: who works for the brand, in which role and where. An
// admin adds (by invitation, or with a first password), changes roles and
// stores, and disables anyone but themselves; a manager does the same for
// managers and counter staff of their own stores.
import { h, api, say, onSubmit, confirmAction, field, fmtWhen } from '/static/ui.js';

// least first: a new person starts with the smallest role
const ROLE_WORDS = { counter: 'Counter staff', manager: 'Store manager', admin: 'Admin (whole brand)',
  agent: 'Care agent', team_manager: 'Care team manager', comms: 'Communications' };
const STORE_ROLES = ['manager', 'counter'];

function grantWords(ctx, grants) {
  return grants.map((g) => (ROLE_WORDS[g.role] || g.role) + (g.store ? ' at ' + ctx.storeName(g.store) : '')).join(', ');
}

// the roles this person may hand out
function givable(ctx) {
  return ctx.isAdmin() ? Object.keys(ROLE_WORDS) : ['counter', 'manager'];
}

// role select + store ticks; returns {el, value()} giving {role, stores?}
function roleEditor(ctx, current) {
  const roles = givable(ctx);
  const first = current?.[0];
  const sel = h('select', { name: 'role' }, roles.map((r) => h('option', { value: r, selected: first?.role === r }, ROLE_WORDS[r])));
  const stores = ctx.storesFor(ctx.isAdmin() ? ['admin'] : ['manager']).filter((s) => !s.closed_at);
  const have = new Set((current || []).map((g) => g.store).filter(Boolean));
  const ticks = h('fieldset', { class: 'stores' }, h('legend', {}, 'Stores'),
    stores.map((s) => h('label', { class: 'tick' }, h('input', { type: 'checkbox', value: s.id, checked: have.has(s.id) }), ' ', s.name)));
  const sync = () => { ticks.hidden = !STORE_ROLES.includes(sel.value); };
  sel.addEventListener('change', sync);
  sync();
  return {
    el: [field('Role', sel), ticks],
    value() {
      const out = { role: sel.value };
      if (STORE_ROLES.includes(sel.value)) out.stores = [...ticks.querySelectorAll('input:checked')].map((i) => i.value);
      return out;
    },
  };
}

export async function render(ctx, el, args) {
  if (args[0]) return person(ctx, el, args[0]);
  el.append(h('h1', {}, 'Staff'));
  let query = '';
  if (!ctx.isAdmin()) {
    const mine = ctx.storesFor(['manager']);
    const pick = h('select', { id: 'staff-store' }, mine.map((s) => h('option', { value: s.id }, s.name)));
    el.append(field('Store', pick));
    const body = h('div');
    el.append(body);
    const draw = async () => { body.replaceChildren(); await listAndAdd(ctx, body, `?store=${pick.value}`); };
    pick.addEventListener('change', draw);
    return draw();
  }
  return listAndAdd(ctx, el, query);
}

async function listAndAdd(ctx, el, query) {
  const items = (await api('GET', `/v1/brands/${ctx.brand.id}/staff${query}${query ? '&' : '?'}limit=200`)).items;
  el.append(h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Email'), h('th', {}, 'Roles'), h('th', {}, 'Status'))),
    h('tbody', {}, items.map((s) => h('tr', {},
      h('td', {}, h('a', { href: `#/staff/${s.id}` }, s.name)),
      h('td', {}, s.email),
      h('td', {}, grantWords(ctx, s.grants)),
      h('td', {}, s.disabled ? h('span', { class: 'tag off' }, 'Disabled')
        : s.invited ? h('span', { class: 'tag' }, 'Invited') : h('span', { class: 'tag ok' }, 'Active')))))));

  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const out = h('div');
  const roles = roleEditor(ctx);
  const form = h('form', { class: 'card', 'aria-labelledby': 'add-staff-h' },
    h('h2', { id: 'add-staff-h' }, 'Add someone'),
    field('Name', h('input', { name: 'name', required: true, maxlength: 100 })),
    field('Work email', h('input', { name: 'email', type: 'email', required: true, maxlength: 254 })),
    roles.el,
    field('First password (optional)', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8, maxlength: 200 }),
      'Leave empty to send an invitation: they choose their own password from a one-time link.'),
    h('button', { type: 'submit' }, 'Add'), msg, out);
  onSubmit(form, msg, async () => {
    const body = { name: form.name.value.trim(), email: form.email.value.trim(), ...roles.value() };
    if (form.password.value) body.password = form.password.value;
    const s = await api('POST', `/v1/brands/${ctx.brand.id}/staff`, body);
    form.reset();
    out.replaceChildren(h('p', { class: 'msg ok' }, `${s.name} is added as ${grantWords(ctx, s.grants)}.`),
      s.invite_url ? h('div', {}, h('p', {}, s.invite_sent ? 'An invitation is on its way by email. The link, if you want to pass it on yourself (it works once):' : 'Send them this one-time link to choose a password:'),
        h('p', { class: 'secret', tabindex: '0' }, s.invite_url)) : null);
  });
  el.append(form);
}

async function person(ctx, el, id) {
  const s = await api('GET', `/v1/brands/${ctx.brand.id}/staff/${id}`);
  const self = s.id === ctx.me.id;
  el.append(h('p', { class: 'small' }, h('a', { href: '#/staff' }, '← Staff')),
    h('h1', {}, s.name),
    h('p', {}, s.email, ' · ', grantWords(ctx, s.grants), ' · added ', fmtWhen(s.created_at)),
    s.disabled ? h('p', { class: 'msg error' }, `Disabled since ${fmtWhen(s.disabled_at)}: they cannot sign in.`) : null);
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const nameForm = h('form', { class: 'card', 'aria-labelledby': 'rename-h' }, h('h2', { id: 'rename-h' }, 'Name'),
    field('Name', h('input', { name: 'name', required: true, maxlength: 100, value: s.name })),
    h('button', { type: 'submit' }, 'Save name'), msg);
  onSubmit(nameForm, msg, async () => {
    await api('PATCH', `/v1/brands/${ctx.brand.id}/staff/${id}`, { name: nameForm.name.value.trim() });
    say(msg, 'Saved.', 'ok');
  });
  el.append(nameForm);
  if (self) {
    el.append(h('p', { class: 'small' }, 'You cannot change your own roles or disable yourself; ask another admin.'));
    return;
  }
  const rmsg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const roles = roleEditor(ctx, s.grants);
  const roleForm = h('form', { class: 'card', 'aria-labelledby': 'roles-h' }, h('h2', { id: 'roles-h' }, 'Role and stores'),
    roles.el, h('button', { type: 'submit' }, 'Save role'), rmsg);
  onSubmit(roleForm, rmsg, async () => {
    const r = await api('PATCH', `/v1/brands/${ctx.brand.id}/staff/${id}`, roles.value());
    say(rmsg, `Now ${grantWords(ctx, r.grants)}. It applies at once, also to a session they have open.`, 'ok');
  });
  el.append(roleForm);
  const dmsg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const toggle = h('button', { type: 'button', class: s.disabled ? '' : 'danger', onclick: async () => {
    if (!s.disabled && !await confirmAction(`Disable ${s.name}? They are signed out everywhere at once and cannot sign in.`, 'Disable')) return;
    try {
      await api('PATCH', `/v1/brands/${ctx.brand.id}/staff/${id}`, { disabled: !s.disabled });
      el.replaceChildren();
      await person(ctx, el, id);
    } catch (e) { say(dmsg, e.message); }
  } }, s.disabled ? 'Enable again' : 'Disable');
  el.append(h('div', { class: 'card' }, h('h2', {}, 'Access'), toggle, dmsg));
}
