// account.js — Your account: who is signed in, their roles and where, and
// their password. Changing the password ends their other sessions.
import { h, api, say, onSubmit, field, session } from '/static/ui.js';

const ROLE_WORDS = { admin: 'Admin (whole brand)', manager: 'Store manager', counter: 'Counter staff',
  agent: 'Care agent', team_manager: 'Care team manager', comms: 'Communications' };

export async function render(ctx, el) {
  const grants = ctx.me.grants || [];
  el.append(h('h1', {}, 'Your account'),
    h('p', {}, `Signed in as ${session.get()?.email || ''} at ${ctx.brand.name}`),
    h('h2', {}, 'What you may do'),
    grants.length
      ? h('ul', { class: 'list' }, grants.map((g) => h('li', {}, (ROLE_WORDS[g.role] || g.role) + (g.store ? ' at ' + ctx.storeName(g.store) : ''))))
      : h('p', {}, 'No role at the moment.'),
    h('p', { class: 'small' }, 'Only an admin (or the manager of your store) can change your roles.'));
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const cur = h('input', { type: 'password', autocomplete: 'current-password', required: true, maxlength: 200 });
  const next = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 200 });
  const again = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 200 });
  const form = h('form', { class: 'card', 'aria-labelledby': 'pw-h' }, h('h2', { id: 'pw-h' }, 'Change your password'),
    field('Current password', cur), field('New password', next, 'At least 8 characters.'), field('New password again', again),
    h('button', { type: 'submit' }, 'Change password'), msg);
  onSubmit(form, msg, async () => {
    if (next.value !== again.value) throw new Error('The two new passwords are not the same.');
    await api('PUT', '/v1/sessions/current/password', { current_password: cur.value, password: next.value });
    form.reset();
    say(msg, 'Your password is changed. Your other sessions have ended.', 'ok');
  });
  el.append(form);
}
