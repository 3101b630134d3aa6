// members.js — Members: find a member of the brand by name or by the
// counter code they show, and open what the brand may see of them now.
// Every name listed and every member opened is a look the member can read
// in their own access log; fields they did not grant are not there at all.
import { h, api, onSubmit, field, fmtWhen } from '/static/ui.js';

export async function render(ctx, el, args) {
  if (args[0]) return member(ctx, el, args[0]);
  el.append(h('h1', {}, 'Members'),
    h('p', { class: 'lead' }, 'Only members who turned recognition on can be found by name. Each look is shown to the member.'));
  const msg = h('p', { class: 'msg', role: 'alert', hidden: true });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', role: 'search' },
    field('Name or counter code', h('input', { name: 'q', required: true, minlength: 2, maxlength: 100, autocomplete: 'off' })),
    h('button', { type: 'submit' }, 'Find'), msg);
  onSubmit(form, msg, async () => {
    const q = form.q.value.trim();
    if (q.length < 2) throw new Error('Type at least 2 characters of a name, or a counter code.');
    const r = await api('GET', `/v1/brands/${ctx.brand.id}/members?q=${encodeURIComponent(q)}`);
    results.replaceChildren(r.items.length
      ? h('ul', { class: 'list' }, r.items.map((m) => h('li', {},
        h('a', { href: `#/members/${m.id}` }, m.name || 'A member (name not shared)'),
        h('span', { class: 'small' }, ` · member since ${fmtWhen(m.member_since)}`))))
      : h('p', {}, 'No member found.'),
    r.items.length >= r.limit ? h('p', { class: 'small' }, `Showing the first ${r.limit}; type more of the name to narrow it.`) : null);
  });
  el.append(form, results);
}

function answerText(v) { return v === true ? 'yes' : v === false ? 'no' : String(v); }

async function member(ctx, el, id) {
  const m = await api('GET', `/v1/brands/${ctx.brand.id}/members/${id}`);
  const labels = new Map((ctx.brand.choices || []).map((c) => [c.key, c.label]));
  const prefs = m.preferences;
  el.append(h('p', { class: 'small' }, h('a', { href: '#/members' }, '← Members')),
    h('h1', {}, m.name || 'A member (name not shared)'),
    h('p', {}, `Member since ${fmtWhen(m.member_since)}`),
    h('h2', {}, 'What they allow'),
    h('p', {}, (m.purposes || []).map((p) => h('span', { class: 'tag ok' }, p)), (m.purposes || []).length ? '' : 'Nothing at the moment.'),
    h('h2', {}, 'Their answers'),
    prefs && Object.keys(prefs.answers || {}).length
      ? h('ul', { class: 'list' }, Object.entries(prefs.answers).map(([k, v]) => h('li', {}, `${labels.get(k) || k}: ${answerText(v)}`)))
      : h('p', {}, 'No answers shared.'),
    prefs && (prefs.dont || []).length
      ? h('p', {}, h('strong', {}, "Don't ask about: "), prefs.dont.map((d) => labels.get(d) || d).join(', '))
      : null,
    h('p', { class: 'small' }, 'This look is now in the member\'s access log.'));
}
