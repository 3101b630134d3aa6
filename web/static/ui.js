// ui.js — what every staff screen does: build DOM, call the API with the
// signed-in token, turn a problem document into words a person reads, ask
// before anything destructive, say when the service cannot be reached.
// ES module; the console's screens import it (the portal may move onto it).

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// "in 15 minutes", "in 40 seconds" from a Retry-After in seconds.
export function waitWords(secs) {
  const s = Math.max(1, Math.ceil(Number(secs) || 0));
  if (s < 60) return `in ${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  if (m < 90) return `in ${m} minute${m === 1 ? '' : 's'}`;
  const hrs = Math.ceil(m / 60);
  return `in ${hrs} hours`;
}

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

// The session lives in this tab only (sessionStorage): a shared till
// computer forgets it when the tab closes.
const KEY = 'shopkeeper.staff';
export const session = {
  get() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; } },
  set(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); },
  clear() { sessionStorage.removeItem(KEY); },
};

let onSignedOut = () => {};
export function whenSignedOut(fn) { onSignedOut = fn; }

// Calls the API. body: an object (JSON) or {csv: text}. Throws ApiError with
// a sentence for a person; a 401 ends the session.
export async function api(method, path, body) {
  const s = session.get();
  const headers = {};
  if (s?.token) headers.Authorization = 'Bearer ' + s.token;
  let payload;
  if (body && body.csv != null) { headers['Content-Type'] = 'text/csv'; payload = body.csv; }
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch {
    offline(true);
    throw new ApiError(0, 'The service cannot be reached. Check the connection and try again.');
  }
  offline(false);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.ok) return data;
  let detail = data?.detail || `The service answered ${res.status}.`;
  if (res.status === 429) detail = 'Too many attempts. Try again ' + waitWords(res.headers.get('Retry-After')) + '.';
  if (res.status === 401 && s?.token) {
    session.clear();
    onSignedOut('Your session has ended. Please sign in again.');
  }
  throw new ApiError(res.status, detail);
}

function offline(on) {
  let bar = document.getElementById('offline');
  if (!bar) {
    bar = h('div', { id: 'offline', class: 'offline', role: 'status', hidden: true },
      'The service cannot be reached right now. What you do will not be saved until it is back.');
    document.body.prepend(bar);
  }
  bar.hidden = !on;
}

// A message under a form: role=alert so screen readers say it.
export function say(el, text, kind = 'error') {
  el.textContent = text || '';
  el.className = 'msg ' + kind;
  el.hidden = !text;
}

// Asks before something destructive, in the page; resolves true or false.
export function confirmAction(question, yes = 'Yes', no = 'Cancel') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-label': question },
      h('p', {}, question),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'danger', onclick: () => { dlg.close(); resolve(true); } }, yes),
        h('button', { type: 'button', class: 'secondary', onclick: () => { dlg.close(); resolve(false); } }, no)));
    dlg.addEventListener('cancel', () => resolve(false));
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Runs fn(event) for a form's submit with its button busy; errors go to msg.
export function onSubmit(form, msg, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    say(msg, '');
    try { await fn(ev); } catch (e) { say(msg, e.message); } finally { if (btn) btn.disabled = false; }
  });
}

export function field(label, input, hint) {
  const id = input.id || ('f' + Math.random().toString(36).slice(2, 9));
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

export function fmtWhen(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  return d.toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

// Shows or hides el (the console's CSS makes [hidden] win over any display).
export function showIf(el, on) { el.hidden = !on; }

// Asks before a link leaves a screen that has unsaved changes, and lets the
// browser ask before the tab is closed or reloaded. Ends with the screen.
export function guardUnsaved(el, dirty, question) {
  const onClick = async (ev) => {
    if (!el.isConnected) { stop(); return; }
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target.closest?.('a[href]');
    if (!a || a.target === '_blank' || a.hasAttribute('download') || a.href === location.href || !dirty()) return;
    ev.preventDefault();
    if (!await confirmAction(question, 'Leave', 'Stay')) return;
    stop();
    location.assign(a.href);
  };
  const onUnload = (ev) => {
    if (!el.isConnected) { stop(); return; }
    if (dirty()) { ev.preventDefault(); ev.returnValue = ''; }
  };
  function stop() {
    document.removeEventListener('click', onClick, true);
    window.removeEventListener('beforeunload', onUnload);
  }
  document.addEventListener('click', onClick, true);
  window.addEventListener('beforeunload', onUnload);
}


// Moves item (with a .uid) by one place in list, in place. Returns the
// selector of the button to keep the keyboard on (the same one, or at an end
// the other one: [data-focus="up-<uid>"] / "down-<uid>"), or null at the edge.
export function moveItem(list, item, by, which) {
  const i = list.indexOf(item), j = i + by;
  if (i < 0 || j < 0 || j >= list.length) return null;
  [list[i], list[j]] = [list[j], list[i]];
  const edge = (which === 'up' && j === 0) || (which === 'down' && j === list.length - 1);
  return `[data-focus="${edge ? (which === 'up' ? 'down' : 'up') : which}-${item.uid}"]`;
}
