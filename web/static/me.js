// The customer portal (/me): the shopper's home in Shopkeeper. Sign up or in,
// join brands purpose by purpose, answer their choices, see what staff will
// see, manage devices and counter codes, read who looked, download or erase
// everything. Every action is a call to the public API with the customer's
// token, which lives in this browser's storage only (sessionStorage, or
// localStorage when "keep me signed in" is ticked), travels in the
// Authorization header, and never appears in a URL or a log line.
(function () {
  'use strict';

  const TOKEN_KEY = 'shopkeeper.customer';
  const SHOWN = ['recognition', 'preferences', 'history', 'suggestions', 'offers', 'messages',
    'care', 'insights'];
  const $ = (id) => document.getElementById(id);

  let token = null;
  const S = {
    me: null,
    brands: [],             // every brand, with choices and notice
    purposes: [],           // [{name, explanation}]
    members: new Map(),     // slug -> membership
    prefs: new Map(),       // slug -> {answers, dont}
    privacy: null,
  };
  let codeTimer = null;
  let logNext = null;

  // ---- small DOM helpers -------------------------------------------------

  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (typeof v === 'boolean') { if (k in el) el[k] = v; else if (v) el.setAttribute(k, ''); }
      else el.setAttribute(k, v);
    }
    for (const c of kids.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  // Icons drawn for this page (stroke paths, currentColor).
  const ICONS = {
    brands: '<path d="M4 9l1.5-5h13L20 9M4 9h16M4 9v11h16V9M9 20v-6h6v6"/>',
    devices: '<rect x="6" y="2.5" width="12" height="19" rx="3"/><path d="M10.5 18h3"/>',
    log: '<path d="M2.5 12s3.5-6.5 9.5-6.5 9.5 6.5 9.5 6.5-3.5 6.5-9.5 6.5S2.5 12 2.5 12z"/><circle cx="12" cy="12" r="3"/>',
    data: '<path d="M12 2.5l8 3v6c0 5-3.5 8.5-8 10-4.5-1.5-8-5-8-10v-6z"/><path d="M8.5 12l2.5 2.5 4.5-5"/>',
    display: '<rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4"/>',
    staff: '<circle cx="12" cy="8" r="4"/><path d="M4 21c1-4.5 4.5-6.5 8-6.5s7 2 8 6.5"/>',
    export: '<path d="M12 3v12M7 10l5 5 5-5M4 20h16"/>',
    people: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c.8-3.8 3.4-5.5 6.5-5.5s5.7 1.7 6.5 5.5"/><circle cx="17" cy="9" r="2.8"/><path d="M16.5 14.6c2.6 0 4.4 1.6 5 4.4"/>',
    tag: '<path d="M3 12V4h8l10 10-8 8z"/><circle cx="7.5" cy="8" r="1.5"/>',
  };
  function icon(name) {
    const s = document.createElement('span');
    s.className = 'ico';
    s.innerHTML = '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" ' +
      'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">' +
      (ICONS[name] || '') + '</svg>';
    return s;
  }
  document.querySelectorAll('[data-icon]').forEach((el) => el.replaceWith(icon(el.dataset.icon)));

  function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  function fmtValue(v) { return v === true ? 'yes' : v === false ? 'no' : String(v); }
  function fmtDate(iso) {
    return new Date(iso).toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
  }
  function fmtTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  // "Tue 08:14" this week, "3 Nov 08:14" before.
  function fmtWhen(iso) {
    const d = new Date(iso);
    const days = (Date.now() - d.getTime()) / 864e5;
    const day = days < 6.5 ? d.toLocaleDateString([], { weekday: 'short' })
      : d.toLocaleDateString([], { day: 'numeric', month: 'short', year: days > 300 ? 'numeric' : undefined });
    return day + ' ' + fmtTime(iso);
  }
  function duration(sec) {
    if (sec < 90) return sec + ' seconds';
    if (sec < 5400) return Math.round(sec / 60) + ' minutes';
    return Math.round(sec / 3600) + ' hours';
  }

  // ---- feedback ------------------------------------------------------------

  let toastTimer = null;
  function toast(text) {
    const t = $('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 2600);
  }
  function banner(text) {
    $('banner-text').textContent = text;
    $('banner').hidden = !text;
  }
  $('banner-close').addEventListener('click', () => banner(''));

  // ---- the API -------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'Shopkeeper could not be reached. Check your connection and try again.');
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      let detail = (data && data.detail) || `The service answered ${res.status}.`;
      if (res.status === 429) detail = waitInWords(detail, res.headers.get('Retry-After'));
      if (res.status === 401 && token && path !== '/v1/sessions') {
        forget();
        showAuth('Your session has ended. Please sign in again.');
      }
      throw new ApiError(res.status, detail);
    }
    return data;
  }

  // "too many login attempts; try again in 897 seconds" (Retry-After: 897)
  // reads "Too many login attempts. Please try again in 15 minutes."
  function waitInWords(detail, retryAfter) {
    const secs = Number(retryAfter);
    const what = detail.replace(/[;,.]?\s*try again in \d+ seconds?\.?$/i, '').trim();
    const head = what ? cap(what) + '.' : 'Too many attempts.';
    if (!Number.isFinite(secs) || secs <= 0) return head + ' Please wait a little and try again.';
    let wait;
    if (secs <= 60) wait = 'a minute';
    else if (secs < 3600) wait = Math.ceil(secs / 60) + ' minutes';
    else if (secs <= 3600) wait = 'an hour';
    else wait = Math.ceil(secs / 3600) + ' hours';
    return head + ' Please try again in ' + wait + '.';
  }

  // Every page of a paged list (bounded).
  async function all(path) {
    const out = [];
    let after = null;
    for (let i = 0; i < 50; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await api('GET', path + sep + 'limit=200' + (after ? '&after=' + encodeURIComponent(after) : ''));
      out.push(...(r.items || []));
      if (!r.next) break;
      after = r.next;
    }
    return out;
  }

  // Runs an action; a failure shows its problem detail in `where` (or the banner).
  let lastError = null;
  async function attempt(fn, where) {
    if (where) where.textContent = '';
    lastError = null;
    try { return await fn(); } catch (e) {
      lastError = e;
      if (e.status === 401 && !token) return undefined;  // already back at sign-in
      if (where) where.textContent = e.message; else banner(e.message);
      return undefined;
    }
  }

  // ---- the token -----------------------------------------------------------

  function remember(t, keep) {
    token = t;
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
    (keep ? localStorage : sessionStorage).setItem(TOKEN_KEY, t);
  }
  function forget() {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
    S.me = null;
    S.members.clear();
    S.prefs.clear();
    showInvitesWaiting(0);
  }

  // ---- sign in / sign up ---------------------------------------------------

  let signup = false;
  function setMode(up) {
    signup = up;
    $('tab-signin').setAttribute('aria-selected', String(!up));
    $('tab-signup').setAttribute('aria-selected', String(up));
    $('field-name').hidden = !up;
    $('pw-hint').hidden = !up;
    $('auth-password').autocomplete = up ? 'new-password' : 'current-password';
    $('auth-submit').textContent = up ? 'Create my account' : 'Sign in';
    $('auth-error').textContent = '';
  }
  $('tab-signin').addEventListener('click', () => setMode(false));
  $('tab-signup').addEventListener('click', () => setMode(true));

  $('auth-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = $('auth-email').value.trim();
    const password = $('auth-password').value;
    const name = $('auth-name').value.trim();
    const err = $('auth-error');
    err.textContent = '';
    if (signup && !name) { err.textContent = 'Please tell us your name.'; return; }
    if (!email) { err.textContent = 'Please enter your email.'; return; }
    if (!password) { err.textContent = 'Please enter your password.'; return; }
    const btn = $('auth-submit');
    btn.disabled = true;
    try {
      const r = signup
        ? await api('POST', '/v1/customers', { name, email, password })
        : await api('POST', '/v1/sessions', { email, password, kind: 'customer' });
      remember(r.token, $('auth-keep').checked);
      $('auth-password').value = '';
      await enter(signup ? 'Welcome to Shopkeeper, ' + name.split(' ')[0] + '.' : null);
    } catch (ex) {
      err.textContent = ex.status === 409 ? 'There is already an account with this email. Sign in instead.' : ex.message;
    } finally {
      btn.disabled = false;
    }
  });

  $('signout').addEventListener('click', async () => {
    try { await api('DELETE', '/v1/sessions/current'); } catch (e) { /* signed out here anyway */ }
    forget();
    showAuth('You are signed out.');
  });

  function showAuth(note) {
    stopCode();
    $('tabs').hidden = true;
    $('who').hidden = true;
    document.body.classList.remove('in');
    for (const v of document.querySelectorAll('main > section')) v.hidden = v.id !== 'view-auth';
    $('auth-note').textContent = note || '';
    $('auth-note').hidden = !note;
    banner('');
  }

  async function enter(welcome) {
    try {
      const [me, brands, purposes] = await Promise.all([
        api('GET', '/v1/me'), all('/v1/brands'), api('GET', '/v1/purposes')]);
      S.me = me;
      S.brands = brands;
      S.purposes = purposes.items.filter((p) => SHOWN.includes(p.name))
        .sort((a, b) => SHOWN.indexOf(a.name) - SHOWN.indexOf(b.name));
      const partner = purposes.items.find((p) => p.name.startsWith('partner:'));
      S.partnerExplanation = partner ? partner.explanation : 'The brand may share what you like with this partner brand.';
      await loadMemberships();
    } catch (e) {
      // a 401 has already brought the sign-in back; anything else is said there
      // (the token is kept, so a reload tries again)
      if (token) { S.me = null; showAuth('Your account could not be loaded: ' + e.message); }
      return;
    }
    $('who-name').textContent = S.me.name;
    $('who').hidden = false;
    $('tabs').hidden = false;
    document.body.classList.add('in');
    $('auth-note').hidden = true;
    if (welcome) toast(welcome);
    fillBrandFilter();
    route();
  }

  async function loadMemberships() {
    const items = await all('/v1/me/brands');
    S.members.clear();
    for (const m of items) S.members.set(m.brand.slug, m);
  }

  // ---- routing ---------------------------------------------------------------

  function route() {
    if (!token || !S.me) return;
    shownHash = location.hash;
    stopCode();
    const hash = location.hash.replace(/^#/, '') || 'brands';
    const [view, arg] = hash.split('/');
    const id = { brands: 'view-brands', brand: 'view-brand', devices: 'view-devices', log: 'view-log', people: 'view-people', data: 'view-data' }[view] || 'view-brands';
    for (const v of document.querySelectorAll('main > section')) v.hidden = v.id !== id;
    const tab = view === 'brand' ? 'brands' : (id.slice(5));
    for (const a of document.querySelectorAll('#tabs a')) {
      if (a.dataset.tab === tab) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    banner('');
    window.scrollTo(0, 0);
    if (id === 'view-brands') renderBrands();
    else if (id === 'view-brand') renderBrand(decodeURIComponent(arg || ''));
    else if (id === 'view-devices') renderDevices();
    else if (id === 'view-log') renderLog(true);
    else if (id === 'view-people') renderPeople();
    else if (id === 'view-data') renderData();
    if (id !== 'view-people') countInvitesWaiting();
  }
  // Unsaved choices are not lost silently: moving to another screen asks
  // first (the address is put back until the shopper decides), and closing
  // or reloading the page asks the browser's own question.
  let shownHash = location.hash;
  window.addEventListener('hashchange', async () => {
    if (!hasUnsavedChoices()) { route(); return; }
    const target = location.hash;
    history.replaceState(null, '', shownHash || '#brands');
    if (await confirmLeave(unsavedChoices)) {
      unsavedChoices = null;
      location.hash = target;
    }
  });
  window.addEventListener('beforeunload', (e) => {
    if (!hasUnsavedChoices()) return;
    e.preventDefault();
    e.returnValue = '';
  });

  // The choices form on screen with changes not saved yet, or null.
  let unsavedChoices = null;
  function hasUnsavedChoices() { return !!(unsavedChoices && unsavedChoices.dirty()); }

  // "Leave without saving?" in the page: resolves true to leave.
  let leaveDialog = null;
  function confirmLeave(form) {
    if (leaveDialog) return Promise.resolve(false);
    return new Promise((resolve) => {
      const stay = h('button', { type: 'button', class: 'btn primary' }, 'Stay and save');
      const go = h('button', { type: 'button', class: 'btn ghost' }, 'Leave without saving');
      const d = h('dialog', { class: 'leave-dialog', 'aria-labelledby': 'leave-title', 'aria-describedby': 'leave-text' },
        h('h2', { id: 'leave-title' }, 'Leave without saving?'),
        h('p', { id: 'leave-text' }, 'You changed your choices for ' + form.brand + ' but did not save them. If you leave now, the changes are lost.'),
        h('div', { class: 'row dialog-actions' }, stay, go));
      const done = (leave) => {
        d.close();
        d.remove();
        leaveDialog = null;
        resolve(leave);
        if (!leave) form.focusSave();
      };
      stay.addEventListener('click', () => done(false));
      go.addEventListener('click', () => done(true));
      d.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });   // Escape: stay
      leaveDialog = d;
      document.body.appendChild(d);
      d.showModal();
      stay.focus();
    });
  }

  // ---- brands ----------------------------------------------------------------

  function brandBySlug(slug) { return S.brands.find((b) => b.slug === slug); }

  function renderBrands() {
    const mine = $('brands-mine'), other = $('brands-other');
    mine.textContent = ''; other.textContent = '';
    for (const b of S.brands) {
      const m = S.members.get(b.slug);
      const tile = h('a', { class: 'tile' + (m ? ' joined' : ''), href: '#brand/' + encodeURIComponent(b.slug) },
        h('div', { class: 'tile-top' },
          h('span', { class: 'monogram', 'aria-hidden': 'true' }, b.name.charAt(0)),
          h('div', { class: 'tile-title' },
            h('h3', null, b.name),
            m ? h('span', { class: 'pill on' }, 'Member since ' + fmtDate(m.joined_at))
              : h('span', { class: 'pill' }, 'Not joined'))),
        m ? h('div', { class: 'chips' },
          m.purposes.length ? m.purposes.map((p) => h('span', { class: 'chip' }, purposeTitle(p)))
            : h('span', { class: 'muted small' }, 'Nothing switched on'))
          : h('p', { class: 'tile-text' }, b.notice ? b.notice.text : 'This brand has not published its notice yet.'),
        h('span', { class: 'tile-go' }, m ? 'Manage ›' : 'Read and join ›'));
      (m ? mine : other).appendChild(tile);
    }
    if (!mine.children.length) {
      mine.appendChild(h('div', { class: 'empty-note' },
        h('b', null, 'You have not joined any brand yet.'),
        ' Nothing about you is shared with anyone. Pick a brand below to read what it would see.'));
    }
    $('brands-other-title').hidden = !other.children.length;
  }

  function noticeBlock(b, open) {
    const faq = (b.notice && b.notice.faq) || [];
    return h('div', { class: 'notice' },
      h('p', { class: 'notice-text' }, b.notice ? b.notice.text : 'This brand has not published its notice yet.'),
      faq.length ? h('div', { class: 'faq' },
        h('h3', null, 'Questions people ask'),
        faq.map((f) => h('details', { open: !!open }, h('summary', null, f.q), h('p', { class: 'faq-a' }, f.a)))) : null,
      b.notice ? h('p', { class: 'muted small' }, 'Notice version ' + b.notice.version + ' · updated ' + fmtDate(b.notice.updated_at)) : null);
  }

  // "Recognition"; "Share with Pike & Pine Coffee" for partner:pike-pine
  function purposeTitle(name) {
    if (!name.startsWith('partner:')) return cap(name);
    const b = brandBySlug(name.slice(8));
    return 'Share with ' + (b ? b.name : name.slice(8));
  }

  function purposeRow(p, checked, onChange, idp) {
    const id = idp + '-' + p.name.replace(/[^a-z0-9-]/g, '-');
    const title = p.title || cap(p.name);
    const input = h('input', { type: 'checkbox', role: 'switch', id, checked: !!checked, 'aria-label': title, 'aria-describedby': id + '-x' });
    input.addEventListener('change', () => onChange(p.name, input.checked, input));
    return h('div', { class: 'perm' },
      h('label', { for: id, class: 'perm-text' },
        h('span', { class: 'perm-name' }, title),
        h('span', { class: 'perm-x', id: id + '-x' }, p.explanation)),
      h('span', { class: 'switch' }, input, h('span', { class: 'track', 'aria-hidden': 'true' })));
  }

  function renderBrand(slug) {
    const b = brandBySlug(slug);
    const body = $('brand-body');
    body.textContent = '';
    if (!b) { body.appendChild(h('div', { class: 'panel' }, h('h1', null, 'No such brand'), h('p', null, 'It may have been removed. ', h('a', { href: '#brands' }, 'See all brands')))); return; }
    const m = S.members.get(slug);
    const head = h('div', { class: 'brand-head' },
      h('span', { class: 'monogram big', 'aria-hidden': 'true' }, b.name.charAt(0)),
      h('div', null, h('h1', null, b.name),
        m ? h('span', { class: 'pill on' }, 'Member since ' + fmtDate(m.joined_at)) : h('span', { class: 'pill' }, 'Not joined')));
    body.appendChild(head);
    if (!m) { body.appendChild(joinView(b)); return; }
    body.appendChild(memberView(b, m));
  }

  // Before joining: the notice and FAQ, what staff could see, then the switches.
  function joinView(b) {
    const picked = new Set();
    const err = h('p', { class: 'error', role: 'alert' });
    const join = h('button', { class: 'btn primary wide', type: 'button', disabled: true }, 'Join ' + b.name);
    const rows = S.purposes.map((p) => purposeRow(p, false, (name, on) => {
      if (on) picked.add(name); else picked.delete(name);
      join.disabled = picked.size === 0;
    }, 'j-' + b.slug));
    join.addEventListener('click', async () => {
      join.disabled = true;
      const r = await attempt(() => api('PUT', '/v1/me/brands/' + encodeURIComponent(b.slug), {
        purposes: [...picked], via: 'portal', ...(b.notice ? { notice_version: b.notice.version } : {}),
      }), err);
      join.disabled = false;
      if (r) {
        S.members.set(b.slug, r);
        toast('You joined ' + b.name + '.');
        renderBrand(b.slug);
      } else await noticeChanged(b);
    });
    return h('div', { class: 'join-grid' },
      h('div', { class: 'panel' },
        h('h2', null, 'Before you join'),
        noticeBlock(b, true),
        b.choices.length ? h('div', { class: 'would' },
          h('h3', null, 'What you could tell ' + b.name),
          h('div', { class: 'chips' }, b.choices.map((c) => h('span', { class: 'chip' }, c.label))),
          h('p', { class: 'muted small' }, 'Only if you switch on preferences, and only the answers you give.')) : null),
      h('div', { class: 'panel' },
        h('h2', null, 'What may ' + b.name + ' do?'),
        h('p', { class: 'muted small' }, 'Everything starts switched off. Pick what you are happy with; you can change it or leave at any time.'),
        h('div', { class: 'perms' }, rows),
        err, join));
  }

  // A 409 means the brand's notice changed since it was read: show the new one.
  async function noticeChanged(b) {
    if (!lastError || lastError.status !== 409) return;
    try {
      const fresh = await api('GET', '/v1/brands/' + encodeURIComponent(b.slug));
      const i = S.brands.findIndex((x) => x.slug === b.slug);
      if (i >= 0) S.brands[i] = fresh;
      renderBrand(b.slug);
      banner(b.name + ' changed its notice since you opened this page. Please read it again before you choose.');
    } catch (e) { /* the error stays shown */ }
  }

  // The brand's notice changed since the member agreed: say so, and show
  // the version they agreed to beside the one in force. Choosing again on
  // this page is agreeing to the new one (the service records it).
  function noticeChangedNote(b, m) {
    if (!b.notice || !m.notice_version || m.notice_version >= b.notice.version) return null;
    const old = h('div', { class: 'notice-old' }, h('p', { class: 'muted small' }, 'Loading…'));
    const det = h('details', null, h('summary', null, 'See the version you agreed to'), old);
    det.addEventListener('toggle', async () => {
      if (!det.open || old.dataset.loaded) return;
      try {
        const n = await api('GET', '/v1/brands/' + encodeURIComponent(b.id) + '/notice?version=' + m.notice_version);
        old.dataset.loaded = '1';
        old.replaceChildren(h('p', { class: 'notice-text' }, n.text),
          ...(n.faq || []).map((f) => h('p', { class: 'small' }, h('b', null, f.q), ' ', f.a)),
          h('p', { class: 'muted small' }, 'Version ' + n.version + ' · ' + fmtDate(n.updated_at)));
      } catch (e) { old.replaceChildren(h('p', { class: 'error' }, e.message)); }
    });
    return h('div', { class: 'panel notice-changed', role: 'status' },
      h('h2', null, b.name + ' changed its notice'),
      h('p', null, 'You agreed to version ' + m.notice_version + '; version ' + b.notice.version + ' is in force since ' +
        fmtDate(b.notice.updated_at) + '. Read it below under "About ' + b.name + '". What you allow stays as it is; ' +
        'switching a permission on or off here agrees to the new version.'),
      det);
  }

  function memberView(b, m) {
    const slug = b.slug;
    const preview = h('div', { class: 'panel preview-panel' });
    const permErr = h('p', { class: 'error', role: 'alert' });
    const choicesBox = h('div', { class: 'panel' });
    const granted = new Set(m.purposes);

    async function setPurpose(name, on, input) {
      const next = new Set(granted);
      if (on) next.add(name); else next.delete(name);
      input.disabled = true;
      const r = await attempt(() => api('PUT', '/v1/me/brands/' + encodeURIComponent(slug), {
        purposes: [...next], via: 'portal', ...(b.notice ? { notice_version: b.notice.version } : {}),
      }), permErr);
      input.disabled = false;
      if (!r) { input.checked = !on; await noticeChanged(b); return; }
      S.members.set(slug, r);
      granted.clear(); r.purposes.forEach((p) => granted.add(p));
      toast(purposeTitle(name) + (on ? ' switched on.' : ' switched off.'));
      renderChoices(b, choicesBox, granted, refreshPreview);
      refreshPreview();
    }
    function refreshPreview() { return loadPreview(b, preview); }

    const leave = h('button', { class: 'btn danger-outline', type: 'button' }, 'Leave ' + b.name);
    const leaveErr = h('p', { class: 'error', role: 'alert' });
    leave.addEventListener('click', async () => {
      leave.disabled = true;
      const r = await attempt(() => api('DELETE', '/v1/me/brands/' + encodeURIComponent(slug), { via: 'portal' }), leaveErr);
      leave.disabled = false;
      if (!r) return;
      S.members.delete(slug);
      S.prefs.delete(slug);
      toast('You left ' + b.name + '. It no longer sees anything about you.');
      renderBrand(slug);
    });

    const perms = h('div', { class: 'panel perms-panel' },
      h('h2', null, 'What ' + b.name + ' may do'),
      h('p', { class: 'muted small' }, 'Changes take effect at once, even on screens already showing you.'),
      h('div', { class: 'perms' }, S.purposes.map((p) => purposeRow(p, granted.has(p.name), setPurpose, 'm-' + slug)),
        // partner shares granted elsewhere: shown so they can be switched off here
        [...granted].filter((p) => p.startsWith('partner:')).map((p) =>
          purposeRow({ name: p, title: purposeTitle(p), explanation: S.partnerExplanation }, true, setPurpose, 'm-' + slug))),
      permErr);
    const about = h('details', { class: 'panel about' },
      h('summary', null, h('h2', null, 'About ' + b.name + ' — notice and FAQ')), noticeBlock(b, false));
    const leaveBox = h('div', { class: 'panel leave' },
      h('div', null, h('h2', null, 'Leave ' + b.name),
        h('p', { class: 'muted small' }, 'Withdraws everything at once and deletes your answers for this brand. The record of your consent stays, for you.')),
      leave, leaveErr);

    const bought = h('div', { class: 'panel', id: 'purchases-panel' });
    const suggest = h('div', { class: 'panel', id: 'suggestions-panel' });
    renderChoices(b, choicesBox, granted, refreshPreview);
    refreshPreview();
    renderPurchases(b, bought, granted);
    renderSuggestions(b, suggest, granted, refreshPreview);
    return h('div', null, noticeChangedNote(b, m), h('div', { class: 'member-grid' },
      h('div', { class: 'g-perms' }, perms),
      h('div', { class: 'g-preview' }, preview),
      h('div', { class: 'g-choices' }, choicesBox),
      h('div', { class: 'g-shop' }, suggest, bought),
      h('div', { class: 'g-rest' }, about, leaveBox)));
  }

  // "What you bought here": the customer's linked purchases, newest first,
  // a page at a time.
  async function renderPurchases(b, box, granted) {
    box.textContent = '';
    box.appendChild(h('h2', null, 'What you bought here'));
    if (!granted.has('history')) {
      box.appendChild(h('div', { class: 'empty-note' }, 'Switch on ', h('b', null, 'History'),
        ' to keep your purchases at ' + b.name + ' with your account. Until then each sale is kept without your name.'));
      return;
    }
    const list = h('ol', { class: 'buys' });
    const more = h('button', { type: 'button', class: 'btn ghost wide', hidden: true }, 'Show older purchases');
    const err = h('p', { class: 'error', role: 'alert' });
    box.append(list, err, more);
    let next = null;
    async function page() {
      more.disabled = true;
      const q = '?limit=10' + (next ? '&after=' + encodeURIComponent(next) : '');
      const r = await attempt(() => api('GET', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/purchases' + q), err);
      more.disabled = false;
      if (!r) return;
      if (!next && !r.items.length) {
        list.replaceWith(h('p', { class: 'muted' }, 'Nothing yet. Purchases appear here when a ' + b.name + ' till links them to you.'));
      }
      for (const p of r.items) list.appendChild(purchaseEl(p));
      next = r.next;
      more.hidden = !next;
    }
    more.addEventListener('click', page);
    await page();
  }

  function money(n) {
    return Number(n).toLocaleString([], { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function purchaseEl(p) {
    const lines = p.lines || [];
    return h('li', { class: 'buy' },
      h('div', { class: 'buy-head' },
        h('time', { datetime: p.at }, fmtDate(p.at)),
        h('span', { class: 'muted' }, p.store_name ? ' · ' + p.store_name : ''),
        h('span', { class: 'buy-total' }, money(p.total))),
      h('ul', { class: 'buy-lines' }, lines.map((l) => h('li', null,
        h('span', { class: 'buy-title' }, l.title || l.sku),
        l.qty > 1 ? h('span', { class: 'muted' }, ' × ' + l.qty) : null))));
  }

  // "Suggestions for you": what the brand's model would mention, each with its
  // reason, why it is shown, and a way to never see it again.
  async function renderSuggestions(b, box, granted, dismissed) {
    box.textContent = '';
    // a brand without a catalogue has nothing to suggest: no section at all
    const probe = await api('GET', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/suggestions').catch(() => null);
    if (probe && probe.catalogue === false) { box.hidden = true; return; }
    box.hidden = false;
    box.appendChild(h('h2', null, 'Suggestions for you'));
    if (!granted.has('suggestions')) {
      box.appendChild(h('div', { class: 'empty-note' }, 'Switch on ', h('b', null, 'Suggestions'),
        ' to see what ' + b.name + ' might suggest to you and the people you shop for.'));
      return;
    }
    const err = h('p', { class: 'error', role: 'alert' });
    box.append(h('p', { class: 'muted small' }, 'Only from what you bought here and what you told us about the people you shop for. Nothing is recorded when you look.'), err);
    // whose ideas: everyone's together, or one person's own list
    const people = await api('GET', '/v1/me/people').then((x) => x.items || []).catch(() => []);
    const results = h('div', { class: 'sugg-results' });
    if (people.length) {
      const whose = h('div', { class: 'whose', role: 'group', 'aria-label': 'Whose ideas' });
      const opts = [{ id: '', label: 'Everyone' }, { id: 'me', label: 'You' }]
        .concat(people.map((p) => ({ id: p.id, label: p.label })));
      for (const o of opts) {
        const btn = h('button', { type: 'button', class: 'whose-btn', 'aria-pressed': o.id ? 'false' : 'true', 'data-for': o.id }, o.label);
        btn.addEventListener('click', () => {
          whose.querySelectorAll('button').forEach((x) => x.setAttribute('aria-pressed', String(x === btn)));
          load(o.id, o.label);
        });
        whose.appendChild(btn);
      }
      box.appendChild(whose);
    }
    box.appendChild(results);
    let asked = 0;   // the latest choice wins when answers cross
    await load('', '');

    async function load(forId, label) {
      const mine = ++asked;
      const q = forId ? '?for=' + encodeURIComponent(forId) : '';
      const r = await attempt(() => api('GET', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/suggestions' + q), err);
      if (!r || mine !== asked) return;
      results.textContent = '';
      const list = h('ul', { class: 'suggs' });
      const none = forId === 'me' ? 'Nothing for you right now.'
        : forId ? 'No ideas for ' + label + ' yet: tell us what they like on the People page, or say who a purchase was for.'
          : 'No suggestions right now.';
      const empty = h('p', { class: 'muted', hidden: !!r.items.length }, none);
      results.append(list, empty);
      for (const s of r.items) list.appendChild(item(s, list, empty, refill));
      // a few at first, so the page stays short on a phone
      const FEW = 3;
      const all = h('button', { type: 'button', class: 'btn ghost wide more', hidden: true });
      all.addEventListener('click', () => { list.querySelectorAll('.sugg[hidden]').forEach((li) => { li.hidden = false; }); all.hidden = true; });
      results.appendChild(all);
      [...list.children].slice(FEW).forEach((li) => { li.hidden = true; });
      function refill() {
        const hidden = list.querySelectorAll('.sugg[hidden]');
        if (hidden.length && list.querySelectorAll('.sugg:not([hidden])').length < FEW) hidden[0].hidden = false;
        const left = list.querySelectorAll('.sugg[hidden]').length;
        all.hidden = !left;
        all.textContent = 'Show all ' + list.children.length + ' suggestions';
      }
      refill();
      // the titles of the items a "because you bought" points at (public catalogue)
      for (const el of list.querySelectorAll('[data-because]')) {
        api('GET', '/v1/brands/' + encodeURIComponent(b.slug) + '/items/' + encodeURIComponent(el.dataset.because))
          .then((it) => { if (it && it.title) el.textContent = it.title; }).catch(() => {});
      }
    }

    function item(s, list, empty, refill) {
      const why = h('details', { class: 'why' }, h('summary', null, 'Why am I seeing this?'), h('p', null, whyText(b, s)));
      const no = h('button', { type: 'button', class: 'btn ghost small' }, "Don't suggest this again");
      const e2 = h('p', { class: 'error', role: 'alert' });
      const li = h('li', { class: 'sugg', 'data-sku': s.sku },
        h('p', { class: 'sugg-title' }, s.title || s.sku),
        h('p', { class: 'sugg-reason' }, s.for ? h('span', { class: 'pill for' }, 'For ' + s.for) : null, ' ', cap(s.reason || '')),
        why, h('div', { class: 'sugg-foot' }, no), e2);
      no.addEventListener('click', async () => {
        no.disabled = true;
        const d = await attempt(() => api('POST', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/suggestions/' +
          encodeURIComponent(s.sku) + '/dismiss'), e2);
        no.disabled = false;
        if (!d) return;
        li.remove();
        refill();
        empty.hidden = !!list.children.length;
        toast('“' + (s.title || s.sku) + '” will not be suggested again.');
        if (dismissed) dismissed();   // nor shown to staff
      });
      return li;
    }
  }

  function whyText(b, s) {
    const w = s.why || {};
    if (w.source === 'history') {
      return ['You bought ', h('b', { 'data-because': w.because || null }, w.because || 'something similar'),
        ' at ' + b.name + '. People who bought it here often bought this too. This uses your History, which you switched on.'];
    }
    if (w.source === 'person') {
      return ['You told us what ', h('b', null, w.person || s.for || 'someone'),
        ' likes in ', h('a', { href: '#people' }, 'People I shop for'), ', and this matches it. Change what they like, or remove them, there.'];
    }
    if (w.source === 'new') {
      return ['It is new, from a maker you or someone you shop for likes (see ', h('a', { href: '#people' }, 'People I shop for'), ').'];
    }
    return cap(s.reason || 'Suggested by ' + b.name + '.');
  }

  // The brand's choices as a form, and the don't-list.
  const DONT_MAX = 30;   // entries in a don't-list, as the server (core/choices.h)
  async function renderChoices(b, box, granted, after) {
    // changes not saved yet survive a redraw (a switch turned on or off)
    const carried = unsavedChoices && unsavedChoices.slug === b.slug && unsavedChoices.dirty()
      ? unsavedChoices.draft() : null;
    box.textContent = '';
    box.appendChild(h('h2', null, 'Your choices'));
    if (!b.choices.length) { box.appendChild(h('p', { class: 'muted' }, b.name + ' has no choices to answer yet.')); return; }
    if (!granted.has('preferences')) {
      box.appendChild(h('div', { class: 'empty-note' },
        'Switch on ', h('b', null, 'Preferences'), ' to tell ' + b.name + ' how you like things — ',
        b.choices.slice(0, 3).map((c) => c.label.toLowerCase()).join(', '), '… — and what never to ask you.'));
      return;
    }
    box.appendChild(h('p', { class: 'muted small' }, 'Answer only what you like. Staff see your answers while preferences is on.'));
    let prefs = S.prefs.get(b.slug);
    if (!prefs) {
      prefs = await attempt(() => api('GET', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/preferences'));
      if (!prefs) return;
      S.prefs.set(b.slug, prefs);
    }
    const keys = new Set(b.choices.map((c) => c.key));
    // what is saved, and what is on screen
    const saved = { answers: prefs.answers || {}, dont: prefs.dont || [] };
    const draft = carried || saved;
    const answers = Object.assign({}, draft.answers);
    const dontKeys = new Set(draft.dont.filter((d) => keys.has(d)));
    const dontText = draft.dont.filter((d) => !keys.has(d));
    const dontList = () => [...b.choices.filter((c) => dontKeys.has(c.key)).map((c) => c.key), ...dontText];

    const form = h('form', { class: 'choices', novalidate: true });
    for (const c of b.choices) {
      const id = 'c-' + b.slug + '-' + c.key;
      let control;
      if (c.kind === 'choice') {
        control = h('select', { id },
          h('option', { value: '' }, '— not set —'),
          (c.options || []).map((o) => h('option', { value: o, selected: answers[c.key] === o }, o)));
        control.addEventListener('change', () => {
          if (control.value === '') delete answers[c.key]; else answers[c.key] = control.value;
        });
      } else if (c.kind === 'yesno') {
        const yes = h('button', { type: 'button', class: 'yn', 'aria-pressed': String(answers[c.key] === true) }, 'Yes');
        const no = h('button', { type: 'button', class: 'yn', 'aria-pressed': String(answers[c.key] === false) }, 'No');
        const pick = (v) => {
          if (answers[c.key] === v) delete answers[c.key]; else answers[c.key] = v;
          yes.setAttribute('aria-pressed', String(answers[c.key] === true));
          no.setAttribute('aria-pressed', String(answers[c.key] === false));
        };
        yes.addEventListener('click', () => pick(true));
        no.addEventListener('click', () => pick(false));
        control = h('div', { class: 'yesno', role: 'group', id, 'aria-label': c.label }, yes, no);
      } else {
        control = h('input', { id, value: typeof answers[c.key] === 'string' ? answers[c.key] : '', maxlength: '200', autocomplete: 'off' });
        control.addEventListener('input', () => {
          const v = control.value.trim();
          if (v) answers[c.key] = control.value; else delete answers[c.key];
        });
      }
      const never = h('input', { type: 'checkbox', checked: dontKeys.has(c.key) });
      never.addEventListener('change', () => { if (never.checked) dontKeys.add(c.key); else dontKeys.delete(c.key); });
      const note = c.purpose && c.purpose !== 'preferences'
        ? h('small', { class: 'hint' }, 'Staff see this only while ' + cap(c.purpose) + ' is on' + (granted.has(c.purpose) ? '.' : ' (it is off now).'))
        : null;
      form.appendChild(h('div', { class: 'choice' },
        c.kind === 'yesno' ? h('span', { class: 'choice-label', id: id + '-l' }, c.label)
          : h('label', { class: 'choice-label', for: id }, c.label),
        control, note,
        h('label', { class: 'never' }, never, h('span', null, 'Never ask me this'))));
    }

    // free-text don't-list
    const list = h('ul', { class: 'dont-list' });
    const drawDont = () => {
      list.textContent = '';
      dontText.forEach((t, i) => list.appendChild(h('li', null, h('span', null, t),
        h('button', { type: 'button', class: 'x', 'aria-label': 'Remove “' + t + '”', onclick: () => { dontText.splice(i, 1); drawDont(); } }, '×'))));
    };
    drawDont();
    const add = h('input', { placeholder: 'e.g. pastry offers', maxlength: '200', 'aria-label': 'Something never to ask or offer', autocomplete: 'off' });
    const dontErr = h('p', { class: 'error', role: 'alert' });
    const addIt = () => {
      const v = add.value.trim();
      dontErr.textContent = '';
      if (v && !dontText.includes(v) && dontList().length >= DONT_MAX) {
        dontErr.textContent = 'Your list is full: ' + DONT_MAX + ' things at most. Remove one to add another.';
        return;
      }
      if (v && !dontText.includes(v)) dontText.push(v);
      add.value = '';
      drawDont();
    };
    add.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addIt(); } });
    form.appendChild(h('div', { class: 'dont-box' },
      h('h3', null, 'Never ask or offer me…'),
      h('p', { class: 'muted small' }, 'Anything else staff should leave alone.'),
      list,
      h('div', { class: 'row' }, add, h('button', { type: 'button', class: 'btn ghost', onclick: addIt }, 'Add')), dontErr));

    const err = h('p', { class: 'error', role: 'alert' });
    const save = h('button', { type: 'submit', class: 'btn primary' }, 'Save my choices');
    form.appendChild(h('div', { class: 'form-foot' }, save, err));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (add.value.trim()) addIt();
      save.disabled = true;
      if (dontErr.textContent) return;
      const body = { answers, dont: dontList() };
      const r = await attempt(() => api('PUT', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/preferences', body), err);
      save.disabled = false;
      if (!r) return;
      S.prefs.set(b.slug, r);
      savedState = state(r.answers || {}, r.dont || [], '');
      toast('Your choices are saved.');
      after();
    });
    box.appendChild(form);

    // changes not saved yet: compared in a stable order
    const state = (a, dont, pending) => JSON.stringify([Object.keys(a).sort().map((k) => [k, a[k]]), [...dont].sort(), pending]);
    let savedState = state(saved.answers, saved.dont, '');
    unsavedChoices = {
      slug: b.slug,
      brand: b.name,
      dirty: () => form.isConnected && state(answers, dontList(), add.value.trim()) !== savedState,
      draft: () => ({ answers: Object.assign({}, answers), dont: dontList().concat(add.value.trim() && !dontText.includes(add.value.trim()) ? [add.value.trim()] : []) }),
      focusSave: () => { save.scrollIntoView({ block: 'center' }); save.focus(); },
    };
  }

  // "What staff will see": the card a counter display would show now.
  async function loadPreview(b, box) {
    let r;
    try {
      r = await api('GET', '/v1/me/brands/' + encodeURIComponent(b.slug) + '/card');
    } catch (e) {
      if (e.status !== 404) { box.textContent = ''; box.appendChild(h('p', { class: 'error' }, e.message)); return; }
      r = { shown: false, card: null, purposes: [] };
    }
    box.textContent = '';
    box.appendChild(h('h2', null, 'What staff will see'));
    box.appendChild(h('p', { class: 'muted small' }, 'On the counter screen at any ' + b.name + ' store when you arrive. Updated with every change you make.'));
    const screen = h('div', { class: 'screen', 'aria-live': 'polite', id: 'preview' });
    if (!r.shown) {
      screen.classList.add('off');
      screen.append(h('p', { class: 'nothing' }, 'Staff see nothing.'),
        h('p', { class: 'nothing-why' }, 'Recognition is off, so no ' + b.name + ' counter screen will show you, and nothing is written about your visits.'));
    } else {
      screen.appendChild(cardEl(r.card));
    }
    box.appendChild(screen);
  }

  function cardEl(c) {
    const el = h('article', { class: 'ccard' });
    const hr = new Date().getHours();
    const greet = hr < 12 ? 'Good morning' : hr < 18 ? 'Good afternoon' : 'Good evening';
    if (c.customer && c.customer.name) {
      el.append(h('p', { class: 'greet' }, greet + ','), h('p', { class: 'cname', title: c.customer.name }, c.customer.name.split(' ')[0]));
    } else {
      el.append(h('p', { class: 'greet' }, 'A member is here'), h('p', { class: 'cname anon' }, 'Name not shared'));
    }
    const choices = c.choices || [];
    const usual = choices.find((x) => x.key === 'usual');
    if (usual) el.appendChild(h('p', { class: 'usual' }, 'The usual: ' + fmtValue(usual.value)));
    const rest = choices.filter((x) => x !== usual);
    if (rest.length) el.appendChild(h('dl', null, rest.map((x) => [h('dt', null, x.label), h('dd', null, fmtValue(x.value))])));
    if (c.dont && c.dont.length) el.appendChild(h('div', { class: 'cdont' }, h('strong', null, "Don't ask or offer: "), c.dont.join(' · ')));
    // what staff would mention, as on the counter: the title and its reason
    const suggs = (c.suggestions || []).filter((s) => s && (s.title || s.sku));
    if (suggs.length) {
      el.appendChild(h('div', { class: 'csugg' }, h('p', { class: 'csugg-head' }, 'Worth mentioning'),
        suggs.map((s) => h('div', { class: 'csugg-row' },
          h('b', { class: 'csugg-title' }, s.title || s.sku),
          s.reason ? h('span', { class: 'csugg-reason' }, s.reason) : null))));
    }
    if (!choices.length && !(c.dont && c.dont.length) && !suggs.length) el.appendChild(h('p', { class: 'cempty' }, 'No choices shown.'));
    return el;
  }

  // ---- devices ---------------------------------------------------------------

  function stopCode() { clearTimeout(codeTimer); codeTimer = null; }

  async function renderDevices() {
    stopCode();
    const list = $('device-list');
    list.textContent = '';
    list.appendChild(h('p', { class: 'muted' }, 'Loading…'));
    const items = await attempt(() => all('/v1/me/devices'));
    if (!items) { list.textContent = ''; return; }
    list.textContent = '';
    if (!items.length) {
      list.appendChild(h('div', { class: 'empty-note' }, h('b', null, 'No devices yet.'),
        ' A counter code comes from a device: add a tag below and its code appears here, ready to show at the till.' +
        ' Without a device, a store can still notice you when you check in with the app.'));
    }
    for (const d of items) list.appendChild(deviceEl(d));
  }

  function deviceEl(d) {
    const codeBox = h('div', { class: 'code-box', hidden: true });
    const err = h('p', { class: 'error', role: 'alert' });
    const show = h('button', { type: 'button', class: 'btn primary small show-code', 'aria-expanded': 'false' }, 'Counter code');
    const remove = h('button', { type: 'button', class: 'btn ghost small' }, 'Remove');
    const el = h('div', { class: 'panel device' },
      h('div', { class: 'device-row' },
        icon(d.method === 'shared' ? 'tag' : 'devices'),
        h('div', { class: 'device-text' },
          h('h3', null, d.name),
          h('p', { class: 'muted small' },
            (d.method === 'shared' ? 'Simulated tag' : 'Phone or watch') + ' · new identifier every ' +
            duration(2 ** d.rotation_exponent) + ' · added ' + fmtDate(d.created_at))),
        h('div', { class: 'device-actions' }, show, remove)),
      codeBox, err);
    show.addEventListener('click', () => {
      const open = codeBox.hidden;
      stopCode();
      document.querySelectorAll('.code-box').forEach((x) => { x.hidden = true; });
      document.querySelectorAll('.device [aria-expanded]').forEach((x) => x.setAttribute('aria-expanded', 'false'));
      document.querySelectorAll('.device .show-code').forEach((x) => { x.textContent = 'Counter code'; });
      if (open) {
        codeBox.hidden = false;
        show.setAttribute('aria-expanded', 'true');
        show.textContent = 'Hide code';
        loadCode(d, codeBox, err);
      }
    });
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      const r = await attempt(() => api('DELETE', '/v1/me/devices/' + encodeURIComponent(d.id)), err);
      remove.disabled = false;
      if (r === undefined) return;
      stopCode();
      toast(d.name + ' removed. It is no longer recognised anywhere.');
      renderDevices();
    });
    return el;
  }

  async function loadCode(d, box, err) {
    const r = await attempt(() => api('GET', '/v1/me/devices/' + encodeURIComponent(d.id) + '/code'), err);
    if (!r || box.hidden || !box.isConnected) return;
    box.textContent = '';
    const visual = h('div', { class: 'qr' });
    if (typeof r.svg === 'string' && /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/i.test(r.svg)) {
      // shown as an image, so the markup cannot run anything
      const svg = /xmlns=/.test(r.svg) ? r.svg : r.svg.replace(/<svg/i, '<svg xmlns="http://www.w3.org/2000/svg"');
      visual.appendChild(h('img', { src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg), alt: 'QR code of ' + r.code, class: 'qr-img' }));
    } else {
      visual.classList.add('qr-text');
      visual.append(h('span', { class: 'muted small' }, 'QR content'), h('code', { class: 'qr-string' }, r.qr));
    }
    box.append(
      h('p', { class: 'code-label' }, 'Show this at the counter'),
      h('p', { class: 'code', 'aria-label': 'Counter code ' + r.code.split('').join(' ') }, r.code),
      h('p', { class: 'muted small code-valid' }, 'Valid until ' + fmtTime(r.valid_until) + ' · a new one appears by itself'),
      visual);
    const ms = Math.max(5000, new Date(r.valid_until).getTime() - Date.now() + 1000);
    stopCode();
    codeTimer = setTimeout(() => { if (!box.hidden && box.isConnected) loadCode(d, box, err); }, ms);
  }

  $('device-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('device-name').value.trim() || 'Key fob';
    const btn = $('device-add');
    btn.disabled = true;
    // The answer carries the tag's key once (to program a real tag); the
    // page does not keep or show it.
    const r = await attempt(() => api('POST', '/v1/me/devices', { name, method: 'shared', rotation_exponent: 8 }), $('device-error'));
    btn.disabled = false;
    if (!r) return;
    toast(name + ' added.');
    $('device-name').value = '';
    renderDevices();
  });

  // ---- who looked --------------------------------------------------------------

  const FIELDS = {
    name: 'your name', choices: 'your choices', preferences: 'your choices',
    dont: "your don't-list", visits: 'your visits', suggestions: 'a suggestion',
  };
  const ROLES = {
    counter: 'counter staff', manager: 'a store manager', admin: 'a brand admin', agent: 'a care agent',
    team_manager: 'a care team manager', comms: 'the comms team', operator: 'the operator',
  };
  function joinWords(xs) {
    return xs.length <= 1 ? (xs[0] || '') : xs.slice(0, -1).join(', ') + ' and ' + xs[xs.length - 1];
  }
  function describe(e) {
    const seen = [];
    for (const f of (e.fields || '').split(/\s+/).filter(Boolean)) {
      const w = FIELDS[f] || f.replace(/_/g, ' ');
      if (!seen.includes(w)) seen.push(w);
    }
    let who;
    if (e.actor_kind === 'display') who = 'counter display';
    else if (e.actor_kind === 'staff') who = ROLES[e.actor_role] || (e.actor_role ? e.actor_role.replace(/_/g, ' ') + ' staff' : 'staff');
    else if (e.actor_kind === 'export') who = 'export by ' + (ROLES[e.actor_role] || e.actor_role || 'the brand');
    else who = (e.actor_kind || 'someone') + (e.actor_role ? ' (' + e.actor_role + ')' : '');
    const parts = [e.brand_name || e.brand_slug || 'A brand'];
    if (e.store_name) parts.push(e.store_name + ' store');
    parts.push(who);
    return { head: parts.join(', '), saw: seen.length ? 'saw ' + joinWords(seen) : 'looked', kind: e.actor_kind };
  }

  function fillBrandFilter() {
    const sel = $('log-brand');
    const keep = sel.value;
    sel.textContent = '';
    sel.appendChild(h('option', { value: '' }, 'All brands'));
    for (const b of S.brands) sel.appendChild(h('option', { value: b.slug }, b.name));
    sel.value = keep;
  }
  $('log-brand').addEventListener('change', () => renderLog(true));
  $('log-refresh').addEventListener('click', () => renderLog(true));
  $('log-more').addEventListener('click', () => renderLog(false));

  // Consecutive identical looks (same brand, store, actor, fields, purposes)
  // are one line with a count, so twenty profile views do not bury a visit.
  let lastGroup = null;
  function groupKey(e) {
    return [e.brand_id, e.store_id, e.actor_kind, e.actor_role, e.fields, e.purpose].join('|');
  }
  function drawGroup(g) {
    const d = describe(g.first);
    const newest = g.first.at, oldest = g.last.at;
    const when = g.count === 1 || fmtWhen(newest) === fmtWhen(oldest) ? fmtWhen(newest)
      : fmtWhen(oldest) + ' – ' + fmtWhen(newest);
    g.el.textContent = '';
    g.el.dataset.kind = d.kind;
    g.el.append(
      icon(d.kind === 'display' ? 'display' : d.kind === 'export' ? 'export' : 'staff'),
      h('div', { class: 'entry-text' },
        h('p', { class: 'entry-line' }, h('b', null, d.head), ', ' + d.saw + ', ', h('time', { datetime: newest }, when),
          g.count > 1 ? h('span', { class: 'times' }, g.count + ' times') : null),
        g.first.purpose ? h('p', { class: 'muted small' }, 'Allowed by: ' + g.first.purpose.split(/\s+/).map(purposeTitle).join(', ')) : null));
  }

  async function renderLog(fresh) {
    const list = $('log-list');
    if (fresh) {
      logNext = null; lastGroup = null;
      list.textContent = '';
      list.appendChild(h('p', { class: 'muted' }, 'Loading…'));
      verifyLog();
    }
    const brand = $('log-brand').value;
    const q = ['limit=20'];
    if (brand) q.push('brand=' + encodeURIComponent(brand));
    if (!fresh && logNext) q.push('after=' + encodeURIComponent(logNext));
    const r = await attempt(() => api('GET', '/v1/me/access-log?' + q.join('&')));
    if (fresh) list.textContent = '';
    if (!r) return;
    if (fresh && !r.items.length) {
      list.appendChild(h('div', { class: 'empty-note' }, h('b', null, 'No one has looked.'),
        brand ? ' This brand has not seen your data.' : ' When a brand sees your data, you will find it here.'));
    }
    for (const e of r.items) {
      const key = groupKey(e);
      if (lastGroup && lastGroup.key === key) {
        lastGroup.count++;
        lastGroup.last = e;
      } else {
        lastGroup = { key, first: e, last: e, count: 1, el: h('div', { class: 'entry' }) };
        list.appendChild(lastGroup.el);
      }
      drawGroup(lastGroup);
    }
    logNext = r.next;
    $('log-more').hidden = !r.next;
  }

  async function verifyLog() {
    const b = $('log-badge');
    try {
      const v = await api('GET', '/v1/me/access-log/verify');
      b.hidden = false;
      b.className = 'badge ' + (v.intact ? 'ok' : 'bad');
      b.textContent = v.intact ? '✓ Log intact' : '⚠ Log altered';
      b.title = v.intact ? 'The hash chain of all ' + v.checked + ' entries checks out: none was changed or removed.'
        : 'The chain breaks at entry ' + (v.first_broken || '?') + ': the log was changed outside Shopkeeper.';
    } catch (e) { b.hidden = true; }
  }

  // ---- people I shop for -----------------------------------------------------

  const OCCASIONS_MAX = 20;   // as the server (h_people.c)
  const KINDS = [['categories', 'Categories', 'e.g. biographies, gardening'],
    ['makers', 'Authors or makers', 'e.g. Ann Cleeves'], ['tags', 'Tags', 'e.g. spies, classic']];
  const splitList = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);

  async function renderPeople() {
    $('person-new').textContent = '';
    $('person-add').hidden = false;
    const list = $('people-list');
    list.textContent = '';
    list.appendChild(h('p', { class: 'muted' }, 'Loading…'));
    renderHousehold();
    const r = await attempt(() => api('GET', '/v1/me/people'));
    list.textContent = '';
    if (!r) return;
    if (!r.items.length) {
      list.appendChild(h('div', { class: 'empty-note' }, h('b', null, 'No one yet.'),
        ' Add a partner, a friend or the kids, with what they like, and brands can suggest things for them.'));
    }
    for (const p of r.items) list.appendChild(personEl(p));
  }

  function likesLine(title, x, cls) {
    const all = KINDS.flatMap(([k]) => (x && x[k]) || []);
    if (!all.length) return null;
    return h('div', { class: 'likes ' + cls }, h('span', { class: 'likes-h' }, title),
      h('span', { class: 'chips' }, all.map((t) => h('span', { class: 'chip' }, t))));
  }

  function fmtDay(md) {
    const [m, d] = md.split('-').map(Number);
    return new Date(2000, m - 1, d).toLocaleDateString([], { day: 'numeric', month: 'long' });
  }

  function personEl(p) {
    const err = h('p', { class: 'error', role: 'alert' });
    const edit = h('button', { type: 'button', class: 'btn ghost small' }, 'Edit');
    const del = h('button', { type: 'button', class: 'btn danger-outline small' }, 'Remove');
    const el = h('div', { class: 'panel person', 'data-person': p.id },
      h('div', { class: 'person-head' },
        h('span', { class: 'monogram', 'aria-hidden': 'true' }, p.label.charAt(0).toUpperCase()),
        h('h3', null, p.label),
        h('div', { class: 'device-actions' }, edit, del)),
      likesLine('Likes', p.likes, 'yes'),
      likesLine("Doesn't like", p.dislikes, 'no'),
      (p.occasions || []).length ? h('p', { class: 'small occasions' }, (p.occasions || []).map((o, i) =>
        [i ? ' · ' : '', h('b', null, cap(o.name)), ' ' + fmtDay(o.date)])) : null,
      !likesLine('', p.likes, '') && !likesLine('', p.dislikes, '') && !(p.occasions || []).length
        ? h('p', { class: 'muted small' }, 'Nothing said yet about what they like.') : null,
      err);
    edit.addEventListener('click', () => {
      const form = personForm(p, () => renderPeople(), () => form.replaceWith(el));
      el.replaceWith(form);
      form.querySelector('input').focus();
    });
    del.addEventListener('click', async () => {
      if (!del.dataset.sure) { del.dataset.sure = '1'; del.textContent = 'Remove ' + p.label + '?'; return; }
      del.disabled = true;
      const r = await attempt(() => api('DELETE', '/v1/me/people/' + encodeURIComponent(p.id)), err);
      del.disabled = false;
      if (!r) return;
      toast(p.label + ' removed.');
      renderPeople();
    });
    return el;
  }

  // The add/edit form of a person; `done` after a save, `cancel` to close.
  function personForm(p, done, cancel) {
    const uid = p ? p.id : 'new';
    const err = h('p', { class: 'error', role: 'alert' });
    const label = h('input', { id: 'pf-' + uid + '-label', maxlength: '60', autocomplete: 'off', value: p ? p.label : '', placeholder: 'e.g. Anna, my wife, the kids' });
    const inputs = {};
    const group = (side, title) => h('fieldset', { class: 'pf-group ' + side }, h('legend', null, title),
      KINDS.map(([k, name, ph]) => {
        const id = 'pf-' + uid + '-' + side + '-' + k;
        // up to 50 entries of up to 200 characters each, with ", " between
        const input = h('input', { id, autocomplete: 'off', placeholder: ph, maxlength: '10100',
          value: p && p[side] && p[side][k] ? p[side][k].join(', ') : '' });
        inputs[side + '.' + k] = input;
        return h('label', { class: 'field', for: id }, h('span', null, name), input);
      }),
      h('small', { class: 'hint' }, 'Separate several with commas.'));
    const occ = h('div', { class: 'occ-list' });
    const addOcc = (o) => {
      const n = h('input', { 'aria-label': 'Occasion', placeholder: 'birthday', maxlength: '60', value: o ? o.name : '', autocomplete: 'off', class: 'occ-name' });
      const d = h('input', { 'aria-label': 'Date (MM-DD)', placeholder: 'MM-DD', maxlength: '5', value: o ? o.date : '', autocomplete: 'off', inputmode: 'numeric', class: 'occ-date' });
      const row = h('div', { class: 'occ' }, n, d,
        h('button', { type: 'button', class: 'x', 'aria-label': 'Remove this occasion', onclick: () => { row.remove(); addOccBtn.disabled = false; } }, '×'));
      occ.appendChild(row);
      addOccBtn.disabled = occ.children.length >= OCCASIONS_MAX;
      return n;
    };
    const addOccBtn = h('button', { type: 'button', class: 'btn ghost small', onclick: () => addOcc().focus() }, 'Add an occasion');
    for (const o of (p && p.occasions) || []) addOcc(o);
    const save = h('button', { type: 'submit', class: 'btn primary' }, p ? 'Save ' + p.label : 'Add person');
    const close = h('button', { type: 'button', class: 'btn ghost', onclick: () => cancel() }, 'Cancel');
    const form = h('form', { class: 'panel person-form', novalidate: true, 'data-editing': uid },
      h('h2', null, p ? 'Edit ' + p.label : 'Add a person'),
      h('label', { class: 'field', for: label.id }, h('span', null, 'Name or label'), label),
      h('div', { class: 'pf-sides' }, group('likes', 'Likes'), group('dislikes', "Doesn't like")),
      h('fieldset', { class: 'pf-group' }, h('legend', null, 'Occasions'), occ,
        addOccBtn,
        h('small', { class: 'hint' }, 'A name and a day as month-day, e.g. birthday 03-14.')),
      h('div', { class: 'form-foot' }, save, close), err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { label: label.value.trim(), likes: {}, dislikes: {}, occasions: [] };
      for (const side of ['likes', 'dislikes']) {
        for (const [k] of KINDS) body[side][k] = splitList(inputs[side + '.' + k].value);
      }
      for (const row of occ.querySelectorAll('.occ')) {
        const name = row.querySelector('.occ-name').value.trim(), date = row.querySelector('.occ-date').value.trim();
        if (name || date) body.occasions.push({ name, date });
      }
      if (!body.label) { err.textContent = 'Please give a name or label.'; label.focus(); return; }
      save.disabled = true;
      const r = await attempt(() => p ? api('PUT', '/v1/me/people/' + encodeURIComponent(p.id), body)
        : api('POST', '/v1/me/people', body), err);
      save.disabled = false;
      if (!r) return;
      toast(p ? r.label + ' saved.' : r.label + ' added.');
      done(r);
    });
    return form;
  }

  $('person-add').addEventListener('click', () => {
    const box = $('person-new');
    $('person-add').hidden = true;
    box.textContent = '';
    const close = () => { box.textContent = ''; $('person-add').hidden = false; };
    const form = personForm(null, () => renderPeople(), close);
    box.appendChild(form);
    form.querySelector('input').focus();
  });

  // ---- the household ---------------------------------------------------------------

  async function renderHousehold(given) {
    const box = $('household');
    const r = given || await attempt(() => api('GET', '/v1/me/household'), $('invite-error'));
    box.textContent = '';
    if (!r) return;
    const act = async (btn, fn, msg) => {
      btn.disabled = true;
      const x = await attempt(fn, $('invite-error'));
      btn.disabled = false;
      if (x === undefined) return;
      toast(msg);
      renderHousehold(x && x.members ? x : null);
    };
    const received = r.invitations.received || [];
    showInvitesWaiting(received.length);
    if (received.length) {
      box.appendChild(h('h3', { class: 'hh-h' }, 'Invitations for you'));
      for (const inv of received) {
        const yes = h('button', { type: 'button', class: 'btn primary small' }, 'Accept');
        const no = h('button', { type: 'button', class: 'btn ghost small' }, 'Decline');
        const base = '/v1/me/household/invitations/' + encodeURIComponent(inv.id);
        const who = (inv.from && inv.from.name) || 'Someone';
        yes.addEventListener('click', () => act(yes, () => api('POST', base + '/accept'), 'You and ' + who + ' are now a household.'));
        no.addEventListener('click', () => act(no, () => api('POST', base + '/decline'), 'Invitation declined.'));
        box.appendChild(h('div', { class: 'hh-row invite-in' },
          h('div', { class: 'hh-text' }, h('b', null, who), h('span', { class: 'muted small' }, ' invited you · ' + fmtDate(inv.created_at))),
          h('div', { class: 'device-actions' }, yes, no)));
      }
    }
    box.appendChild(h('h3', { class: 'hh-h' }, 'Members'));
    if (!r.members.length) box.appendChild(h('p', { class: 'muted small' }, 'No one linked yet.'));
    for (const m of r.members) {
      const undo = h('button', { type: 'button', class: 'btn danger-outline small' }, 'Undo link');
      undo.addEventListener('click', () => {
        // a second tap to be sure: the other adult would have to invite again
        if (!undo.dataset.sure) { undo.dataset.sure = '1'; undo.textContent = 'Unlink ' + (m.name || 'them') + '?'; return; }
        act(undo, () => api('DELETE', '/v1/me/household/members/' + encodeURIComponent(m.customer)),
          'You and ' + (m.name || 'they') + ' are no longer linked.');
      });
      box.appendChild(h('div', { class: 'hh-row' },
        h('div', { class: 'hh-text' }, h('b', null, m.name || 'A member'), h('span', { class: 'muted small' }, ' · since ' + fmtDate(m.since))),
        h('div', { class: 'device-actions' }, undo)));
    }
    const sent = r.invitations.sent || [];
    if (sent.length) {
      box.appendChild(h('h3', { class: 'hh-h' }, 'Invitations you sent'));
      for (const inv of sent) {
        // a declined one can only be cleared away; a pending one is withdrawn
        const declined = inv.status === 'declined';
        const withdraw = h('button', { type: 'button', class: 'btn ghost small' }, declined ? 'Remove' : 'Withdraw');
        withdraw.addEventListener('click', () => act(withdraw,
          () => api('DELETE', '/v1/me/household/invitations/' + encodeURIComponent(inv.id)),
          declined ? 'Invitation removed.' : 'Invitation withdrawn.'));
        box.appendChild(h('div', { class: 'hh-row' },
          h('div', { class: 'hh-text' }, h('b', { class: 'hh-email' }, inv.email),
            h('span', { class: 'pill' + (inv.status === 'declined' ? ' no' : '') }, cap(inv.status))),
          h('div', { class: 'device-actions' }, withdraw)));
      }
    }
  }

  // Invitations waiting for an answer are counted on the People tab, so they
  // are seen on signing in, not only by someone who opens People.
  function showInvitesWaiting(n) {
    const el = $('people-count');
    el.hidden = !n;
    el.textContent = n ? String(n) : '';
    el.title = n === 1 ? '1 household invitation for you' : n + ' household invitations for you';
    el.setAttribute('aria-label', el.title);
  }

  async function countInvitesWaiting() {
    try {
      const r = await api('GET', '/v1/me/household');
      showInvitesWaiting((r.invitations.received || []).length);
    } catch (e) { /* the count is a hint; People shows any error */ }
  }

  $('invite-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = $('invite-email').value.trim();
    if (!email) { $('invite-error').textContent = 'Please enter their email.'; return; }
    const btn = $('invite-send');
    btn.disabled = true;
    const r = await attempt(() => api('POST', '/v1/me/household/invitations', { email }), $('invite-error'));
    btn.disabled = false;
    if (!r) return;
    $('invite-email').value = '';
    toast('Invitation sent to ' + email + '. They will see it when they sign in.');
    renderHousehold();
  });

  // ---- my data -------------------------------------------------------------------

  let consentsAll = false;
  async function renderData() {
    const p = $('profile');
    p.textContent = '';
    p.append(h('dt', null, 'Name'), h('dd', null, S.me.name),
      h('dt', null, 'Email'), h('dd', null, S.me.email),
      h('dt', null, 'With Shopkeeper since'), h('dd', null, fmtDate(S.me.created_at)));
    $('delete-confirm').hidden = true;
    $('delete-start').hidden = false;
    $('export-status').textContent = '';
    consentsAll = false;
    renderAccount();
    renderRetention();
    renderConsents();
  }

  async function renderRetention() {
    const ul = $('retention');
    if (!S.privacy) S.privacy = await attempt(() => api('GET', '/v1/privacy'));
    ul.textContent = '';
    if (!S.privacy) return;
    const r = S.privacy.retention || {};
    const months = (d) => d >= 60 ? ' (about ' + Math.round(d / 30.4) + ' months)' : '';
    if (r.visits_days != null) {
      ul.appendChild(h('li', null, h('b', null, 'Visits'), h('span', null, r.visits_days + ' days'),
        h('small', null, 'When and where you were recognised; deleted after that.')));
    }
    if (r.access_log_days != null) {
      ul.appendChild(h('li', null, h('b', null, 'Who looked'), h('span', null, r.access_log_days + ' days' + months(r.access_log_days)),
        h('small', null, 'The record of each look at your data; deleted after that.')));
    }
    if (r.consent_ledger) {
      ul.appendChild(h('li', null, h('b', null, 'Consent record'), h('span', null, 'Kept'),
        h('small', null, cap(r.consent_ledger) + '.')));
    }
    ul.appendChild(h('li', null, h('b', null, 'Profile, answers, devices'), h('span', null, 'Until you remove them'),
      h('small', null, 'Leaving a brand deletes your answers for it; deleting your account deletes everything else.')));
  }

  async function renderConsents() {
    const ol = $('consents');
    ol.textContent = '';
    const items = await attempt(() => all('/v1/me/consents'));
    if (!items) return;
    items.reverse();
    if (!items.length) ol.appendChild(h('li', { class: 'muted' }, 'Nothing yet: you have not joined a brand.'));
    const show = consentsAll ? items : items.slice(0, 8);
    for (const c of show) {
      const grant = c.action === 'grant';
      ol.appendChild(h('li', { class: grant ? 'grant' : 'withdraw' },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, grant ? '✓' : '✕'),
        h('div', null,
          h('p', null, h('b', null, (grant ? 'Granted ' : 'Withdrew ') + (c.purpose.startsWith('partner:') ? purposeTitle(c.purpose).replace('Share', 'sharing') : cap(c.purpose))), ' — ' + (c.brand_name || c.brand_slug)),
          h('p', { class: 'muted small' }, fmtWhen(c.at) + ' · via ' + c.via + (c.notice_version ? ' · notice v' + c.notice_version : ''),
            ' · receipt ', h('code', { class: 'receipt', title: c.receipt }, c.receipt)))));
    }
    $('consents-all').hidden = consentsAll || items.length <= 8;
    $('consents-all').textContent = 'Show all ' + items.length;
  }
  $('consents-all').addEventListener('click', () => { consentsAll = true; renderConsents(); });

  $('export').addEventListener('click', async () => {
    const btn = $('export');
    const st = $('export-status');
    btn.disabled = true;
    st.className = 'small';
    st.textContent = 'Preparing your file…';
    try {
      const data = await api('GET', '/v1/me/export');
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'shopkeeper-export-' + new Date().toISOString().slice(0, 10) + '.json' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      st.textContent = 'Downloaded: ' + a.download;
    } catch (e) {
      st.className = 'small error';
      st.textContent = e.message;
    } finally {
      btn.disabled = false;
    }
  });

  $('delete-start').addEventListener('click', () => {
    $('delete-confirm').hidden = false;
    $('delete-start').hidden = true;
    $('delete-error').textContent = '';
    $('delete-cancel').focus();
  });
  $('delete-cancel').addEventListener('click', () => {
    $('delete-confirm').hidden = true;
    $('delete-start').hidden = false;
  });
  $('delete-go').addEventListener('click', async () => {
    const btn = $('delete-go');
    btn.disabled = true;
    const r = await attempt(() => api('DELETE', '/v1/me', { confirm: true }), $('delete-error'));
    btn.disabled = false;
    if (!r) return;
    forget();
    setMode(false);
    $('auth-email').value = '';
    showAuth('Your account is deleted and your data key destroyed: no store will recognise you again. Only the pseudonymous record of your consents remains. Thank you for trying Shopkeeper.');
  });

  // ---- account settings and forgotten password (issue 10) ------------------------
  // Name, email (needs the current password) and password (current one, the
  // new one twice; other devices are signed out) under "My data"; "Forgot
  // your password?" under the sign-in form mails a one-time link (/reset).
  // These forms exist in the page only while they are on screen, so their
  // fields never stand in for the sign-in form's.

  const PW_MIN = 8;
  const PW_MAX = 200;
  const NAME_MAX = 100;
  const EMAIL_MAX = 254;
  const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  // A labelled input (extra props go to the input) and its hint, outside the
  // label so that the label alone names the field.
  function acctField(id, label, props, hint) {
    return h('div', { class: 'field' },
      h('label', { for: id }, label),
      h('input', { id, ...props, 'aria-describedby': hint ? id + '-hint' : null }),
      hint ? h('small', { class: 'hint', id: id + '-hint' }, hint) : null);
  }

  // Runs a settings request with its button disabled; problems go under the
  // form (err). Returns the answer, or undefined.
  async function saveForm(form, err, fn) {
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try { return await attempt(fn, err); } finally { btn.disabled = false; }
  }

  function nameForm() {
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'acct-form', novalidate: true, 'aria-labelledby': 'acct-name-h' },
      h('h3', { id: 'acct-name-h' }, 'Your name'),
      acctField('acct-name', 'Name', { autocomplete: 'name', maxlength: NAME_MAX, required: true, value: S.me.name }),
      err, h('button', { class: 'btn primary', type: 'submit' }, 'Save name'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = $('acct-name').value.trim();
      err.textContent = '';
      if (!name) { err.textContent = 'Please enter your name.'; $('acct-name').focus(); return; }
      if (name === S.me.name) { err.textContent = 'That is already your name.'; return; }
      const me = await saveForm(form, err, () => api('PATCH', '/v1/me', { name }));
      if (!me) return;
      S.me = me;
      $('who-name').textContent = me.name;
      renderData();
      toast('Your name is now ' + me.name + '.');
    });
    return form;
  }

  function emailForm() {
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'acct-form', novalidate: true, 'aria-labelledby': 'acct-email-h' },
      h('h3', { id: 'acct-email-h' }, 'Your email'),
      h('p', { class: 'small muted' }, 'Now: ', h('b', null, S.me.email)),
      acctField('acct-email', 'New email', { type: 'email', autocomplete: 'email', maxlength: EMAIL_MAX, required: true }),
      acctField('acct-email-pw', 'Your current password', { type: 'password', autocomplete: 'current-password', maxlength: PW_MAX, required: true }),
      err, h('button', { class: 'btn primary', type: 'submit' }, 'Change email'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const email = $('acct-email').value.trim();
      const current = $('acct-email-pw').value;
      err.textContent = '';
      if (!EMAIL_RE.test(email)) { err.textContent = 'Please enter the new email address in full, like name@example.com.'; $('acct-email').focus(); return; }
      if (!current) { err.textContent = 'Please enter your current password to change your email.'; $('acct-email-pw').focus(); return; }
      const me = await saveForm(form, err, () => api('PATCH', '/v1/me', { email, current_password: current }));
      if (!me) {
        if (lastError && lastError.status === 409) err.textContent = 'Another account already uses this email.';
        else if (lastError && lastError.status === 403) err.textContent = 'That is not your current password.';
        return;
      }
      S.me = me;
      renderData();
      toast('Your email is now ' + me.email + '. Use it to sign in from now on.');
    });
    return form;
  }

  function passwordForm() {
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'acct-form', novalidate: true, 'aria-labelledby': 'acct-pw-h' },
      h('h3', { id: 'acct-pw-h' }, 'Your password'),
      acctField('acct-pw-current', 'Current password', { type: 'password', autocomplete: 'current-password', maxlength: PW_MAX, required: true }),
      acctField('acct-pw-new', 'New password', { type: 'password', autocomplete: 'new-password', minlength: PW_MIN, maxlength: PW_MAX, required: true },
        'At least 8 characters. You stay signed in here; other devices are signed out.'),
      acctField('acct-pw-again', 'New password again', { type: 'password', autocomplete: 'new-password', minlength: PW_MIN, maxlength: PW_MAX, required: true }),
      err, h('button', { class: 'btn primary', type: 'submit' }, 'Change password'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const current = $('acct-pw-current').value;
      const pw = $('acct-pw-new').value;
      const again = $('acct-pw-again').value;
      err.textContent = '';
      if (!current) { err.textContent = 'Please enter your current password.'; $('acct-pw-current').focus(); return; }
      if (pw.length < PW_MIN) { err.textContent = 'Your new password needs at least ' + PW_MIN + ' characters.'; $('acct-pw-new').focus(); return; }
      if (pw.length > PW_MAX) { err.textContent = 'Your new password can have at most ' + PW_MAX + ' characters.'; $('acct-pw-new').focus(); return; }
      if (pw !== again) { err.textContent = 'The two new passwords are not the same. Type them again.'; $('acct-pw-again').focus(); return; }
      const r = await saveForm(form, err,
        () => api('PUT', '/v1/sessions/current/password', { current_password: current, password: pw }));
      if (!r) {
        if (lastError && lastError.status === 403) err.textContent = 'That is not your current password.';
        return;
      }
      renderAccount();
      toast('Your password is changed. Other devices are signed out.');
    });
    return form;
  }

  function renderAccount() {
    $('account-forms').replaceChildren(nameForm(), emailForm(), passwordForm());
  }
  // off screen, the forms leave the page
  new MutationObserver(() => {
    if ($('view-data').hidden) $('account-forms').replaceChildren();
  }).observe($('view-data'), { attributes: true, attributeFilter: ['hidden'] });

  function forgotForm() {
    const err = h('p', { class: 'error', role: 'alert' });
    const status = h('p', { class: 'ok-note', role: 'status', hidden: true });
    const form = h('form', { id: 'forgot-form', class: 'forgot', novalidate: true, 'aria-labelledby': 'forgot-h' },
      h('h2', { id: 'forgot-h', class: 'forgot-h' }, 'Forgot your password?'),
      h('p', { class: 'small muted' }, 'Enter the email you signed up with. We will send you a link to choose a new password; it works once, for 30 minutes.'),
      acctField('forgot-email', 'Email for the link', { type: 'email', autocomplete: 'email', maxlength: EMAIL_MAX, required: true }),
      err, status,
      h('div', { class: 'row' },
        h('button', { class: 'btn primary', type: 'submit' }, 'Send me a link'),
        h('button', { class: 'btn ghost', type: 'button', onclick: () => { showForgot(false); $('auth-email').focus(); } }, 'Back to sign in')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const email = $('forgot-email').value.trim();
      err.textContent = '';
      status.hidden = true;
      if (!EMAIL_RE.test(email)) { err.textContent = 'Please enter your email address in full, like name@example.com.'; $('forgot-email').focus(); return; }
      const r = await saveForm(form, err, () => api('POST', '/v1/password-resets', { email }));
      if (!r) return;
      status.textContent = 'Check your inbox: if an account uses ' + email +
        ', a link to choose a new password is on its way. It works once, for 30 minutes.';
      status.hidden = false;
    });
    return form;
  }

  function showForgot(open) {
    $('forgot-slot').replaceChildren(...(open ? [forgotForm()] : []));
    $('forgot-line').hidden = open;
    $('forgot-open').setAttribute('aria-expanded', String(open));
    if (open) {
      $('forgot-email').value = $('auth-email').value.trim();
      $('forgot-email').focus();
    }
  }
  $('forgot-open').addEventListener('click', () => showForgot(true));
  // signing up needs no forgotten password
  $('tab-signup').addEventListener('click', () => { showForgot(false); $('forgot-line').hidden = true; });
  $('tab-signin').addEventListener('click', () => showForgot(false));
  // signed in, the form goes
  new MutationObserver(() => {
    if ($('view-auth').hidden) showForgot(false);
  }).observe($('view-auth'), { attributes: true, attributeFilter: ['hidden'] });

  if (location.hash === '#forgot') showForgot(true);

  // ---- start -------------------------------------------------------------------

  setMode(false);
  token = sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY);
  if (token) enter(); else showAuth();
})();
