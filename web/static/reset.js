// The one-time password link page (/reset#token=...): a forgotten
// password's reset, or a new staff member's invitation. The token is read
// from the fragment (never sent to the server by the browser as part of a
// page request), removed from the address bar at once, and travels only in
// the API calls that check and use it.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const MIN = 8;
  const MAX = 200;

  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  const token = m ? m[1] : '';
  if (location.hash) history.replaceState(null, '', location.pathname);

  function gone(text) {
    $('reset-title').textContent = 'This link no longer works';
    $('reset-lead').textContent = '';
    $('reset-form').hidden = true;
    $('reset-gone-text').textContent = text;
    $('reset-gone').hidden = false;
  }

  async function call(method, body) {
    let res;
    try {
      res = await fetch('/v1/password-links/' + encodeURIComponent(token), {
        method,
        headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      return { status: 0, detail: 'Shopkeeper could not be reached. Check your connection and try again.' };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, data, detail: (data && data.detail) || 'Something went wrong (' + res.status + '). Please try again.' };
  }

  function minutesLeft(iso) {
    const min = Math.ceil((new Date(iso).getTime() - Date.now()) / 60000);
    if (!(min > 0)) return '';
    if (min < 90) return 'This link works for ' + min + (min === 1 ? ' more minute.' : ' more minutes.');
    const h = Math.round(min / 60);
    if (h < 48) return 'This link works for about ' + h + ' more hours.';
    return 'This link works for ' + Math.round(h / 24) + ' more days.';
  }

  let kind = 'customer';
  let purpose = 'reset';

  async function start() {
    if (!token) {
      gone('This page needs the whole link from your email. Open the link again, or ask for a new one.');
      return;
    }
    const r = await call('GET');
    if (r.status !== 200) { gone(r.detail); return; }
    kind = r.data.kind;
    purpose = r.data.purpose;
    const invite = purpose === 'invite';
    $('reset-title').textContent = invite ? 'Welcome — choose a password' : 'Choose a new password';
    document.title = (invite ? 'Welcome' : 'Choose a new password') + ' — Shopkeeper';
    $('reset-lead').textContent = (invite
      ? 'You have been invited to your brand\'s Shopkeeper console. Choose the password you will sign in with. '
      : 'Choose the password you will sign in with from now on. Your old password stops working, and you are signed out everywhere. ')
      + minutesLeft(r.data.expires_at);
    $('reset-form').hidden = false;
    $('reset-password').focus();
  }

  $('reset-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const pw = $('reset-password').value;
    const again = $('reset-again').value;
    const err = $('reset-error');
    err.textContent = '';
    if (pw.length < MIN) { err.textContent = 'Your password needs at least ' + MIN + ' characters.'; $('reset-password').focus(); return; }
    if (pw.length > MAX) { err.textContent = 'Your password can have at most ' + MAX + ' characters.'; $('reset-password').focus(); return; }
    if (pw !== again) { err.textContent = 'The two passwords are not the same. Type them again.'; $('reset-again').focus(); return; }
    const btn = $('reset-submit');
    btn.disabled = true;
    const r = await call('POST', { password: pw });
    btn.disabled = false;
    if (r.status === 404) { gone(r.detail); return; }
    if (r.status !== 200) { err.textContent = r.detail; return; }
    $('reset-password').value = '';
    $('reset-again').value = '';
    const staff = r.data.kind === 'staff';
    $('reset-title').textContent = 'Your password is set';
    $('reset-lead').textContent = '';
    $('reset-form').hidden = true;
    $('reset-done-text').textContent = staff
      ? 'Your password is set — sign in to the console with your email and the new password.'
      : 'Your password is set — sign in with your email and the new password.';
    const a = $('reset-signin');
    a.href = staff ? '/console' : '/me';
    a.textContent = staff ? 'Sign in to the console' : 'Sign in';
    $('reset-done').hidden = false;
    a.focus();
  });

  start();
})();
