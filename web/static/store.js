// The public notice of one store (/stores/{id}), for the sign at the door:
// which brand, who is recognised, what staff see, how long data is kept, how
// to join or leave, and the brand's own notice and FAQ. No sign-in; every
// fact comes from the public API (the store, its brand, whether it has a
// catalogue, the retention policy).
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  async function get(path) {
    const res = await fetch(path, { headers: { Accept: 'application/json' } });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) { const err = new Error((body && body.detail) || 'HTTP ' + res.status); err.status = res.status; throw err; }
    return body;
  }
  function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  function fmtDate(iso) { return new Date(iso).toLocaleDateString([], { day: 'numeric', month: 'long', year: 'numeric' }); }

  function missing(why) {
    $('loading').hidden = true;
    $('missing').hidden = false;
    if (why) $('missing-why').textContent = why;
    $('sheet').setAttribute('aria-busy', 'false');
  }

  async function main() {
    const id = decodeURIComponent(location.pathname.replace(/^\/stores\//, '').replace(/\/$/, ''));
    let store;
    try {
      store = await get('/v1/stores/' + encodeURIComponent(id));
    } catch (e) {
      missing(e.status === 404 ? null : 'The notice could not be loaded right now (' + e.message + '). Please try again.');
      return;
    }
    let brand, privacy, items;
    try {
      [brand, privacy, items] = await Promise.all([get('/v1/brands/' + encodeURIComponent(store.brand_id)), get('/v1/privacy'),
        get('/v1/brands/' + encodeURIComponent(store.brand_id) + '/items?limit=1')]);
    } catch (e) {
      missing('The notice could not be loaded right now (' + e.message + '). Please try again.');
      return;
    }

    document.title = brand.name + ', ' + store.name + ' — recognition notice';
    $('brand-name').textContent = brand.name;
    $('store-name').textContent = store.name;
    $('store-where').textContent = [store.address, store.city].filter(Boolean).join(', ');
    for (const b of document.querySelectorAll('.bn')) b.textContent = brand.name;
    $('store-id').textContent = store.id;

    // what staff may see: the brand's choices, grouped by the purpose each needs
    const list = $('choice-list');
    const byPurpose = new Map();
    for (const c of brand.choices || []) {
      const p = c.purpose || 'preferences';
      if (!byPurpose.has(p)) byPurpose.set(p, []);
      byPurpose.get(p).push(c.label);
    }
    for (const label of byPurpose.get('preferences') || []) list.appendChild(el('span', 'chip', label));
    if (!(byPurpose.get('preferences') || []).length) list.appendChild(el('span', 'muted', 'this brand asks none at the moment'));
    const others = [...byPurpose.entries()].filter(([p]) => p !== 'preferences');
    if (others.length) {
      $('choice-other').hidden = false;
      $('choice-other').textContent = others.map(([p, labels]) =>
        labels.join(', ') + ' — shown only if you also switch on ' + p).join('; ') + '.';
    }

    // suggestions need the brand's catalogue: say so when there is none
    if (!(items && items.items && items.items.length)) {
      $('sugg-none').hidden = false;
      $('sugg-none').textContent = brand.name + ' has no catalogue in Shopkeeper yet, so staff are shown no suggestions today.';
    }

    // retention, from the service's own policy
    const keep = $('keep');
    const r = (privacy && privacy.retention) || {};
    const months = (d) => d >= 60 ? ' (about ' + Math.round(d / 30.4) + ' months)' : '';
    const row = (what, how, why) => {
      const li = el('li');
      li.append(el('b', null, what), el('span', null, how), el('small', null, why));
      keep.appendChild(li);
    };
    if (r.visits_days != null) row('Your visits', r.visits_days + ' days', 'When and where you were recognised; then deleted.');
    if (r.access_log_days != null) row('Who looked', r.access_log_days + ' days' + months(r.access_log_days), 'The record of each look at your data, kept for you to read; then deleted.');
    if (r.purchases) row('What you bought', 'While history is on', cap(r.purchases) + '.');
    if (r.consent_ledger) row('What you agreed to', 'Kept', cap(r.consent_ledger) + '.');
    row('Your answers and don\'t-list', 'Until you leave', 'Leaving ' + brand.name + ' deletes your answers for it at once. Deleting your Shopkeeper account deletes your name and everything else, apart from the consent record above.');

    // join or leave: straight to this brand in the portal
    $('join-link').href = '/me#brand/' + encodeURIComponent(brand.slug);
    $('join-link').textContent = 'Join or manage ' + brand.name;
    $('me-url').textContent = location.host + '/me';

    // the brand's own words and FAQ
    if (brand.notice && brand.notice.text) {
      $('notice-text').textContent = brand.notice.text;
      $('notice-meta').textContent = 'Notice version ' + brand.notice.version + ', updated ' + fmtDate(brand.notice.updated_at) + '.';
    } else {
      $('brand-words').hidden = true;
    }
    const faq = (brand.notice && brand.notice.faq) || [];
    if (faq.length) {
      for (const f of faq) {
        const d = el('details', 'qa');
        d.open = true;
        d.append(el('summary', null, f.q), el('p', null, f.a));
        $('faq').appendChild(d);
      }
    } else {
      $('faq-block').hidden = true;
    }

    if (store.closed_at) {
      $('store-where').textContent = 'This store has closed. It no longer recognises anyone.';
    } else {
      await checkin(store, brand);
    }

    $('loading').hidden = true;
    $('notice').hidden = false;
    $('sheet').setAttribute('aria-busy', 'false');
  }

  // One-tap check-in (the app check-in channel) for a member signed in to
  // the portal on this phone; the others are told what checking in shares.
  async function checkin(store, brand) {
    const token = sessionStorage.getItem('shopkeeper.customer') || localStorage.getItem('shopkeeper.customer');
    const box = $('checkin');
    const text = $('checkin-text');
    const link = $('checkin-link');
    box.hidden = false;
    const portal = '/me#brand/' + encodeURIComponent(brand.slug);
    if (!token) {
      text.textContent = 'Members of ' + brand.name + ' who switched on recognition can check in with one tap, so staff can greet them. Sign in to My Shopkeeper on this phone first.';
      link.href = '/me';
      link.textContent = 'Sign in to check in';
      link.hidden = false;
      return;
    }
    let m = null;
    try {
      const res = await fetch('/v1/me/brands/' + encodeURIComponent(brand.id), { headers: { Authorization: 'Bearer ' + token } });
      if (res.ok) m = await res.json();
      else if (res.status === 401) { text.textContent = 'Your sign-in has ended. Sign in to My Shopkeeper again to check in.'; link.href = '/me'; link.textContent = 'Sign in'; link.hidden = false; return; }
    } catch (e) { m = null; }
    const granted = (m && m.purposes) || [];
    if (!m) {
      text.textContent = 'You are not a member of ' + brand.name + '. Checking in would tell staff here your name — only after you join and switch on recognition.';
      link.href = portal; link.textContent = 'Read about ' + brand.name + ' and decide'; link.hidden = false;
      return;
    }
    if (!granted.includes('recognition')) {
      text.textContent = 'You have not switched on recognition for ' + brand.name + '. Checking in would show staff at ' + store.name +
        ' your name' + (granted.includes('preferences') ? ', your answers and your don\'t-list' : '') +
        ' while you are here. Switch it on first if you want that.';
      link.href = portal; link.textContent = 'Change what ' + brand.name + ' may do'; link.hidden = false;
      return;
    }
    text.textContent = 'Checking in shows staff at ' + store.name + ' your card: your name' +
      (granted.includes('preferences') ? ', your answers and your don\'t-list' : '') + '. It is written in your log.';
    const btn = $('checkin-btn');
    btn.hidden = false;
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const res = await fetch('/v1/me/presence', { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify({ store: store.id }) });
        const body = await res.json().catch(() => null);
        $('checkin-result').textContent = res.ok ? 'You are checked in. Staff at ' + store.name + ' can greet you now.' : ((body && body.detail) || 'Checking in did not work. Please try again.');
      } catch (e) {
        $('checkin-result').textContent = 'The service cannot be reached. Please try again.';
      } finally { btn.disabled = false; }
    });
  }

  main().catch((e) => missing('The notice could not be loaded right now (' + e.message + ').'));
})();
