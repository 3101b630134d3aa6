// The counter display. Not yet paired, it asks the server for a pairing
// code, shows it large and waits (polling every 2 s) until a manager enters
// the code in the brand console; the key it then receives is kept in this
// browser only (localStorage) and sent in the Authorization header, never in
// a URL. Paired, it shows the cards of members who opted in, live, from the
// store's event stream. The server sends a keep-alive every 15 s (it says
// how often in its first comment): hearing nothing for twice that, the page
// says it is offline and reconnects by itself.
(function () {
  'use strict';
  const KEY = 'shopkeeper.display';
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  let auth = null;   // {key, store}
  const cards = new Map();
  const shown = new Set();   // visits already drawn: only new cards animate in
  let retryMs = 1000;
  let abort = null;
  let staleMs = 30000;       // twice the server's keep-alive
  let lastHeard = 0;         // when the stream last said anything
  let watchdog = null;
  let undoTimer = null;
  let pairing = null;        // {id, secret, code, expires_at}
  let pairTimer = null;

  function setStatus(kind, text) {
    $('status').className = 'status ' + kind;
    $('status-text').textContent = text;
  }

  function greeting() {
    const h = new Date().getHours();
    return h < 12 ? 'Good morning' : h < 18 ? 'Good afternoon' : 'Good evening';
  }

  function fmtValue(v) { return v === true ? 'yes' : v === false ? 'no' : String(v); }

  function canUndo(c) {
    return c.served && c.undo_until && Date.parse(c.undo_until) > Date.now();
  }

  function render() {
    const list = [...cards.values()].sort((a, b) => b.opened_at.localeCompare(a.opened_at));
    const box = $('cards');
    box.textContent = '';
    $('empty').hidden = list.length > 0;
    for (const c of list) box.appendChild(cardEl(c));
    // Undo disappears when its minute is over
    clearTimeout(undoTimer);
    const ends = list.filter(canUndo).map((c) => Date.parse(c.undo_until) - Date.now());
    if (ends.length) undoTimer = setTimeout(render, Math.min(...ends) + 50);
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
      // what staff must not do, said as an instruction
      const d = document.createElement('p'); d.className = 'dont';
      const s = document.createElement('strong'); s.textContent = "Don't ask about: ";
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
          b.type = 'button';
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
    const acts = document.createElement('div'); acts.className = 'meta-acts';
    if (canUndo(c)) {
      const u = document.createElement('button'); u.type = 'button'; u.className = 'undo-btn';
      u.textContent = 'Undo';
      u.setAttribute('aria-label', 'Undo served');
      u.addEventListener('click', () => unserve(c.visit));
      acts.appendChild(u);
    }
    const b = document.createElement('button'); b.type = 'button'; b.className = 'served-btn';
    b.textContent = c.served ? 'Served ✓' : 'Served';
    b.disabled = !!c.served;
    b.addEventListener('click', () => served(c.visit));
    acts.appendChild(b);
    meta.append(since, acts);
    el.appendChild(meta);
    return el;
  }

  async function served(visit) {
    try {
      const r = await api('POST', `/v1/stores/${auth.store}/cards/${visit}/served`);
      // the stream's "update" brings served_at and the undo time
      if (r.ok) { const c = cards.get(visit); if (c && !c.served) { c.served = true; render(); } }
    } catch (e) { /* offline: the status shows it */ }
  }

  async function unserve(visit) {
    try {
      const r = await api('DELETE', `/v1/stores/${auth.store}/cards/${visit}/served`);
      const c = cards.get(visit);
      if (r.ok && c) { c.served = false; delete c.undo_until; render(); }
      else if (c) { delete c.undo_until; render(); }   // too late: Undo goes
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

  // Nothing heard for staleMs — while connecting or on an open stream — is
  // a server or network that has gone quiet: say so and start again.
  function checkStale() {
    if (!auth || !abort || Date.now() - lastHeard < staleMs) return;
    abort.abort();
    abort = null;
    offline(`Offline — no word from the server for ${Math.round(staleMs / 1000)} seconds. Reconnecting…`);
  }

  function offline(text) {
    setStatus('offline', text);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  }

  async function connect() {
    if (!auth) return;
    if (abort) abort.abort();
    const ctl = abort = new AbortController();
    lastHeard = Date.now();
    if (!watchdog) watchdog = setInterval(checkStale, 1000);
    if (!$('status').classList.contains('offline')) setStatus('', 'Connecting…');
    try {
      const res = await fetch(`/v1/stores/${auth.store}/cards/stream`, {
        headers: { 'Authorization': 'Bearer ' + auth.key, 'Accept': 'text/event-stream' },
        signal: ctl.signal,
      });
      if (res.status === 401 || res.status === 403) { unpair('This display key is no longer valid. Pair the display again.'); return; }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      lastHeard = Date.now();
      cards.clear(); render();
      setStatus('online', 'Live');
      retryMs = 1000;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        lastHeard = Date.now();
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2);
          let ev = 'message', data = '';
          for (const line of block.split('\n')) {
            const ka = line.match(/^: keep-alive every (\d+) s/);
            if (ka && +ka[1] > 0) staleMs = +ka[1] * 2000;
            if (line.startsWith('event: ')) ev = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) { try { handle(ev, JSON.parse(data)); } catch (e) { /* skip */ } }
        }
      }
      throw new Error('stream ended');
    } catch (e) {
      if (ctl.signal.aborted) return;   // unpaired, or the watchdog took over
      abort = null;
      offline('Offline — reconnecting…');
    }
  }

  async function pairWithKey(key) {
    const r = await fetch('/v1/sessions/current', { headers: { 'Authorization': 'Bearer ' + key } });
    if (!r.ok) throw new Error('This key was not accepted. Check it with your manager.');
    const who = await r.json();
    if (who.kind !== 'display') throw new Error('This is not a counter display key.');
    paired(key, who.store_id);
  }

  function paired(key, store) {
    stopPairing();
    auth = { key, store };
    localStorage.setItem(KEY, JSON.stringify(auth));
    start();
  }

  // ---- pairing by code ----------------------------------------------------

  function stopPairing() {
    clearTimeout(pairTimer);
    pairTimer = null;
    pairing = null;
  }

  function pairLater(ms, fn) {
    clearTimeout(pairTimer);
    pairTimer = setTimeout(fn, ms);
  }

  async function newCode() {
    if (auth) return;
    pairing = null;
    try {
      const r = await fetch('/v1/display-pairings', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      const body = await r.json().catch(() => ({}));
      if (r.status === 429) {
        const wait = parseInt(r.headers.get('Retry-After') || '30', 10);
        $('pair-note').textContent = `Too many codes were asked for from here. A new code appears in ${wait} second${wait === 1 ? '' : 's'}.`;
        pairLater(wait * 1000, newCode);
        return;
      }
      if (!r.ok) throw new Error(body.detail || 'no code');
      pairing = body;
      $('pair-code').textContent = body.code;
      $('pair-code').setAttribute('aria-label', 'Pairing code ' + body.code.split('').join(' '));
      const until = new Date(body.expires_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      $('pair-note').textContent = `This code works until ${until}; a new one appears by itself.`;
      setStatus('', 'Not paired — waiting for the code');
      pairLater(POLL_MS, poll);
    } catch (e) {
      $('pair-code').textContent = '····-····';
      $('pair-note').textContent = 'Cannot reach the server to get a code. Trying again…';
      setStatus('offline', 'Offline — trying again…');
      pairLater(5000, newCode);
    }
  }

  async function poll() {
    const p = pairing;
    if (!p || auth) return;
    if (Date.parse(p.expires_at) <= Date.now()) { newCode(); return; }
    try {
      const r = await fetch(`/v1/display-pairings/${encodeURIComponent(p.id)}/poll`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ secret: p.secret }),
      });
      if (p !== pairing) return;
      if (r.status === 404 || r.status === 410) { newCode(); return; }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const body = await r.json();
      if (body.status === 'paired') { paired(body.key, body.store.id); return; }
      setStatus('', 'Not paired — waiting for the code');
    } catch (e) {
      if (p !== pairing) return;
      setStatus('offline', 'Offline — trying again…');
    }
    pairLater(POLL_MS, poll);
  }

  function unpair(msg) {
    if (abort) abort.abort();
    abort = null;
    clearInterval(watchdog); watchdog = null;
    localStorage.removeItem(KEY);
    auth = null;
    cards.clear();
    $('store-name').textContent = 'Counter display';
    $('main').hidden = true; $('foot').hidden = true; $('pair').hidden = false;
    $('pair-error').textContent = msg || '';
    setStatus('', 'Not paired');
    newCode();
  }

  async function start() {
    $('pair').hidden = true; $('main').hidden = false; $('foot').hidden = false;
    $('pair-error').textContent = '';
    try {
      const s = await fetch(`/v1/stores/${auth.store}`).then((r) => r.ok ? r.json() : null);
      if (s) $('store-name').textContent = s.name + (s.city ? ' · ' + s.city : '');
    } catch (e) { /* name is cosmetic */ }
    connect();
  }

  $('pair-form').addEventListener('submit', (e) => {
    e.preventDefault();
    pairWithKey($('pair-key').value.trim()).catch((err) => { $('pair-error').textContent = err.message; });
  });
  // Unpair asks first: one stray tap must not take the counter off the air.
  const dialog = $('unpair-dialog');
  $('unpair').addEventListener('click', () => dialog.showModal());
  $('unpair-cancel').addEventListener('click', () => dialog.close());
  $('unpair-confirm').addEventListener('click', () => { dialog.close(); unpair(); });
  $('code-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = $('code').value.trim();
    if (!code) return;
    try {
      const r = await api('POST', `/v1/stores/${auth.store}/codes`, { code });
      const body = await r.json();
      $('code-result').textContent = r.ok ? 'Recognised ✓' : body.detail;
      if (r.ok) $('code').value = '';
    } catch (err) { $('code-result').textContent = 'Offline — try again in a moment'; }
  });

  // Pairing link: /counter#pair=<key>. The fragment never reaches the server;
  // it is moved to this browser's storage and removed from the address bar.
  const m = location.hash.match(/pair=([A-Za-z0-9_\-]+)/);
  if (m) {
    history.replaceState(null, '', location.pathname);
    pairWithKey(m[1]).catch((err) => unpair(err.message));
  } else {
    try { auth = JSON.parse(localStorage.getItem(KEY)); } catch (e) { auth = null; }
    if (auth && auth.key && auth.store) start(); else unpair();
  }
})();
