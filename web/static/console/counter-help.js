// counter-help.js — where counter staff go: the counter display of their
// store (a display is paired by a manager; staff use it there).
import { h } from '/static/ui.js';

export function render(ctx, el) {
  const mine = ctx.storesFor(['counter', 'manager']);
  el.append(
    h('h1', {}, 'Counter'),
    h('p', { class: 'lead' }, 'Members who opted in appear on the counter display of the store as they arrive.'),
    h('ul', { class: 'list' }, mine.map((s) => h('li', {}, h('strong', {}, s.name), ' — ', s.city || '',
      h('br'), h('span', { class: 'small' }, 'Open the counter display on the till screen; a manager pairs it with a code from Stores → Devices.')))),
    h('p', {}, h('a', { href: '/counter' }, 'Open the counter display on this screen')));
}
