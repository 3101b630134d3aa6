// console.js — the brand console's shell: staff sign-in, the navigation a
// role may use, and the router (#/area/...) that hands the main area to one
// screen module. Each screen exports render(ctx, el, args) and builds its
// part of the page inside el; ctx says who is signed in and what they may do.
import { h, api, session, say, onSubmit, whenSignedOut } from '/static/ui.js';

// Areas, in navigation order: who sees each, and the module that draws it.
// roles: the staff roles whose grants open the area.
const AREAS = [
  { path: 'stores', title: 'Stores', roles: ['admin', 'manager'], module: './stores.js' },
  { path: 'choices', title: 'Choices', roles: ['admin'], module: './choices.js' },
  { path: 'notice', title: 'Notice & FAQ', roles: ['admin'], module: './notice.js' },
  { path: 'staff', title: 'Staff', roles: ['admin', 'manager'], module: './staff.js' },
  { path: 'members', title: 'Members', roles: ['admin', 'manager'], module: './members.js' },
  { path: 'catalogue', title: 'Catalogue', roles: ['admin', 'manager'], module: './catalogue.js' },
  { path: 'counter', title: 'Counter', roles: ['admin', 'manager', 'counter'], module: './counter-help.js' },
  { path: 'account', title: 'Your account', roles: ['*'], module: './account.js' },
];

const $ = (id) => document.getElementById(id);
let ctx = null;

function makeCtx(me, brand, stores) {
  const grants = me.grants || [];
  return {
    me, brand, stores,
    // whether one grant with a role in roles covers store (null: any store)
    can(roles, store = null) {
      if (roles.includes('*')) return true;
      return grants.some((g) => roles.includes(g.role) && (!g.store || !store || g.store === store));
    },
    isAdmin() { return grants.some((g) => g.role === 'admin'); },
    // the stores a role opens: all for an admin, else those named
    storesFor(roles) {
      if (this.isAdmin()) return stores;
      const ids = new Set(grants.filter((g) => roles.includes(g.role)).map((g) => g.store));
      return stores.filter((s) => ids.has(s.id));
    },
    storeName(id) { return stores.find((s) => s.id === id)?.name || 'a store'; },
    async reloadStores() {
      stores.length = 0;
      stores.push(...(await api('GET', `/v1/brands/${brand.id}/stores?limit=200`)).items);
    },
    go(hash) { location.hash = hash; },
  };
}

function showSignIn(message) {
  ctx = null;
  $('who').hidden = true;
  $('nav').hidden = true;
  $('screen').replaceChildren();
  $('signin').hidden = false;
  say($('signin-msg'), message || '', message === 'You are signed out.' ? 'ok' : 'error');
  $('email').focus();
}

async function start() {
  const s = session.get();
  if (!s?.token) return showSignIn();
  try {
    const me = await api('GET', '/v1/sessions/current');
    if (me.kind !== 'staff') { session.clear(); return showSignIn('That account is a shopper account. Shoppers use My Shopkeeper.'); }
    const brand = await api('GET', `/v1/brands/${me.brand_id}`);
    const stores = (await api('GET', `/v1/brands/${me.brand_id}/stores?limit=200`)).items;
    me.name = s.name || '';
    ctx = makeCtx(me, brand, stores);
  } catch (e) {
    if (!session.get()) return; // the 401 handler showed the sign-in
    return showSignIn(e.message);
  }
  $('signin').hidden = true;
  $('who').hidden = false;
  $('who-text').textContent = `${s.email} · ${ctx.me.role} · ${ctx.brand.name}`;
  drawNav();
  route();
}

function areasFor() {
  return AREAS.filter((a) => ctx.can(a.roles));
}

function drawNav() {
  const nav = $('nav');
  nav.replaceChildren(...areasFor().map((a) => h('a', { href: '#/' + a.path, 'data-area': a.path }, a.title)),
    // for whoever connects the brand's tills, apps and tools: the API's contract
    h('a', { href: '/docs/api', class: 'ext', target: '_blank', rel: 'noopener' }, 'API reference'));
  nav.hidden = false;
}

async function route() {
  if (!ctx) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const open = areasFor();
  if (!open.some((a) => !a.roles.includes('*')) && parts[0] !== 'account') {
    $('screen').replaceChildren(h('h1', {}, 'No role at the moment'),
      h('p', {}, `You hold no role in ${ctx.brand.name} right now — perhaps your store closed or your role changed. Ask an admin of ${ctx.brand.name}; you can sign out meanwhile.`));
    return;
  }
  let area = open.find((a) => a.path === parts[0]);
  if (!area) {
    area = open[0];
    history.replaceState(null, '', '#/' + area.path);
    parts.splice(0, parts.length, area.path);
  }
  for (const a of $('nav').querySelectorAll('a'))
    if (a.dataset.area === area.path) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  const el = h('div', { class: 'screen' });
  $('screen').replaceChildren(el);
  document.title = `${area.title} — ${ctx.brand.name} — Shopkeeper console`;
  try {
    const mod = await import(area.module);
    await mod.render(ctx, el, parts.slice(1));
  } catch (e) {
    el.replaceChildren(h('p', { class: 'msg error', role: 'alert' }, e.message || String(e)));
  }
  $('main').focus({ preventScroll: true });
}

onSubmit($('signin-form'), $('signin-msg'), async () => {
  const email = $('email').value.trim();
  const password = $('password').value;
  if (!email || !password) throw new Error('Enter your work email and your password.');
  const r = await api('POST', '/v1/sessions', { email, password, kind: 'staff' });
  session.set({ token: r.token, email, expires_at: r.expires_at });
  $('password').value = '';
  await start();
});

$('signout').addEventListener('click', async () => {
  try { await api('DELETE', '/v1/sessions/current'); } catch { /* signed out either way */ }
  session.clear();
  history.replaceState(null, '', '/console');
  showSignIn('You are signed out.');
});

whenSignedOut((msg) => showSignIn(msg));
window.addEventListener('hashchange', route);
start();
