// The counter display: paired with a store's display key, it shows the cards
// of members who opted in, live, from the store's event stream. The key is
// kept in this browser only (localStorage) and sent in the Authorization
// header, never in a URL. Reconnects by itself and says when it is offline.
(function () {
  'use strict';
  const KEY = 'shopkeeper.display';
  const $ = (id) => document.getElementById(id);
  let auth = null;   // {key, store}
  const cards = new Map();
  const shown = new Set();   // visits already drawn: only new cards animate in
  let retryMs = 1000;
  let abort = null;

  function setStatus(kind, text) {
    $('status').className = 'status ' + kind;
    $('status-text').textContent = text;
  }

  function greeting() {
    const h = new Date().getHours();
    return h < 12 ? 'Good morning' : h < 18 ? 'Good afternoon' : 'Good evening';
  }

  function fmtValue(v) { return v === true ? 'yes' : v === false ? 'no' : String(v); }

  function render() {
    const list = [...cards.values()].sort((a, b) => b.opened_at.localeCompare(a.opened_at));
    const box = $('cards');
    box.textContent = '';
    $('empty').hidden = list.length > 0;
    for (const c of list) box.appendChild(cardEl(c));
  }

  function cardEl(c) {
    const el = document.createElement('article');
    el.className = 'card' + (c.served ? ' served' : '') + (shown.has(c.visit) ? '' : ' new');
    shown.add(c.visit);
    el.dataset.visit = c.visit;
    const g = document.createElement('p'); g.className = 'greet';
    const n = document.createElement('h2');
    if (c.customer && c.customer.name) {
      g.textContent = greeting() + ',';
      n.className = 'name';
      n.textContent = c.customer.name.split(' ')[0];
      n.title = c.customer.name;
    } else {
      g.textContent = 'A member is here';
      n.className = 'name anon';
      n.textContent = 'Name not shared';
    }
    el.append(g, n);
    const choices = c.choices || [];
    const usual = choices.find((x) => x.key === 'usual');
    if (usual) {
      const u = document.createElement('p'); u.className = 'usual';
      u.textContent = 'The usual: ' + fmtValue(usual.value);
      el.appendChild(u);
    }
    const rest = choices.filter((x) => x !== usual);
    if (rest.length) {
      const dl = document.createElement('dl');
      for (const x of rest) {
        const dt = document.createElement('dt'); dt.textContent = x.label;
        const dd = document.createElement('dd'); dd.textContent = fmtValue(x.value);
        dl.append(dt, dd);
      }
      el.appendChild(dl);
    }
    if (c.dont && c.dont.length) {
      const d = document.createElement('div'); d.className = 'dont';
      const s = document.createElement('strong'); s.textContent = "Don't ask or offer: ";
      d.append(s, document.createTextNode(c.dont.join(' · ')));
      el.appendChild(d);
    }
    if (c.suggestions && c.suggestions.length) {
      const box = document.createElement('div'); box.className = 'sugg';
      const h = document.createElement('p'); h.className = 'sugg-head'; h.textContent = 'Worth mentioning';
      box.appendChild(h);
      for (const s of c.suggestions) {
        const row = document.createElement('div'); row.className = 'sugg-row';
        const text = document.createElement('div');
        const t = document.createElement('strong'); t.textContent = s.title;
        const r = document.createElement('span'); r.className = 'reason'; r.textContent = s.reason || '';
        text.append(t, r);
        const acts = document.createElement('div'); acts.className = 'sugg-acts';
        for (const [outcome, label] of [['accepted', 'Taken'], ['declined', 'No thanks'], ['not_now', 'Not now']]) {
          const b = document.createElement('button');
          b.className = 'sugg-btn ' + outcome; b.textContent = label;
          b.addEventListener('click', () => suggestionOutcome(c.visit, s.sku, outcome));
          acts.appendChild(b);
        }
        row.append(text, acts);
        box.appendChild(row);
      }
      el.appendChild(box);
    }
    const meta = document.createElement('div'); meta.className = 'meta';
    const since = document.createElement('span');
    const how = { device: 'phone or tag', app: 'app check-in', code: 'counter code' }[c.channel] || c.channel;
    since.textContent = 'Arrived ' + new Date(c.opened_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ' · ' + how;
    const b = document.createElement('button'); b.className = 'served-btn';
    b.textContent = c.served ? 'Served ✓' : 'Served';
    b.disabled = !!c.served;
    b.addEventListener('click', () => served(c.visit));
    meta.append(since, b);
    el.appendChild(meta);
    return el;
  }

  async function served(visit) {
    try {
      const r = await api('POST', `/v1/stores/${auth.store}/cards/${visit}/served`);
      if (r.ok) { const c = cards.get(visit); if (c) { c.served = true; render(); } }
    } catch (e) { /* offline: the status shows it */ }
  }

  // One tap records how the shopper took a suggestion; it leaves the card
  // (the service also sends an update) and its cooldown starts.
  async function suggestionOutcome(visit, sku, outcome) {
    try {
      const r = await api('POST', `/v1/stores/${auth.store}/cards/${visit}/suggestions/${encodeURIComponent(sku)}`, { outcome });
      if (r.ok || r.status === 404) {
        const c = cards.get(visit);
        if (c && c.suggestions) { c.suggestions = c.suggestions.filter((s) => s.sku !== sku); render(); }
      }
    } catch (e) { /* offline: the status shows it */ }
  }

  function api(method, path, body) {
    return fetch(path, {
      method,
      headers: { 'Authorization': 'Bearer ' + auth.key, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  function handle(event, data) {
    if (event === 'card' || event === 'update') { cards.set(data.visit, data); render(); }
    else if (event === 'gone') { cards.delete(data.visit); shown.delete(data.visit); render(); }
  }

  async function connect() {
    if (abort) abort.abort();
    abort = new AbortController();
    setStatus('', 'Connecting…');
    try {
      const res = await fetch(`/v1/stores/${auth.store}/cards/stream`, {
        headers: { 'Authorization': 'Bearer ' + auth.key, 'Accept': 'text/event-stream' },
        signal: abort.signal,
      });
      if (res.status === 401 || res.status === 403) { unpair('This display key is no longer valid.'); return; }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      cards.clear(); render();
      setStatus('online', 'Live');
      retryMs = 1000;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          let ev = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) { try { handle(ev, JSON.parse(data)); } catch (e) { /* skip */ } }
        }
      }
      throw new Error('stream ended');
    } catch (e) {
      if (e.name === 'AbortError') return;
      setStatus('offline', 'Offline — reconnecting…');
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    }
  }

  async function pair(key) {
    const r = await fetch('/v1/sessions/current', { headers: { 'Authorization': 'Bearer ' + key } });
    if (!r.ok) throw new Error('This key was not accepted.');
    const who = await r.json();
    if (who.kind !== 'display') throw new Error('This is not a display key.');
    auth = { key, store: who.store_id };
    localStorage.setItem(KEY, JSON.stringify(auth));
    start();
  }

  function unpair(msg) {
    if (abort) abort.abort();
    localStorage.removeItem(KEY);
    auth = null;
    cards.clear();
    $('main').hidden = true; $('foot').hidden = true; $('pair').hidden = false;
    $('pair-error').textContent = msg || '';
    setStatus('', 'Not paired');
  }

  async function start() {
    $('pair').hidden = true; $('main').hidden = false; $('foot').hidden = false;
    try {
      const s = await fetch(`/v1/stores/${auth.store}`).then((r) => r.ok ? r.json() : null);
      if (s) $('store-name').textContent = s.name + (s.city ? ' · ' + s.city : '');
    } catch (e) { /* name is cosmetic */ }
    connect();
  }

  $('pair-form').addEventListener('submit', (e) => {
    e.preventDefault();
    pair($('pair-key').value.trim()).catch((err) => { $('pair-error').textContent = err.message; });
  });
  $('unpair').addEventListener('click', () => unpair());
  $('code-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = $('code').value.trim();
    if (!code) return;
    try {
      const r = await api('POST', `/v1/stores/${auth.store}/codes`, { code });
      const body = await r.json();
      $('code-result').textContent = r.ok ? 'Recognised ✓' : body.detail;
      if (r.ok) $('code').value = '';
    } catch (err) { $('code-result').textContent = 'Offline'; }
  });

  // Pairing link: /counter#pair=<key>. The fragment never reaches the server;
  // it is moved to this browser's storage and removed from the address bar.
  const m = location.hash.match(/pair=([A-Za-z0-9_\-]+)/);
  if (m) {
    history.replaceState(null, '', location.pathname);
    pair(m[1]).catch((err) => unpair(err.message));
  } else {
    try { auth = JSON.parse(localStorage.getItem(KEY)); } catch (e) { auth = null; }
    if (auth && auth.key && auth.store) start(); else unpair();
  }
})();
