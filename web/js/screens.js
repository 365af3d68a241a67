// Whole-page screens: the session ended, or something is wrong.

import { h, mount, notice } from './dom.js';

export function endedScreen(card, extra) {
  document.title = `${card.title} has ended · Podium`;
  return mount(
    h(
      'main',
      { class: 'center card-page' },
      h('h1', {}, card.title),
      h('p', { class: 'lead', id: 'ended' }, 'This session has ended. Thank you for joining!'),
      extra,
    ),
  );
}

export function fatal(title, text) {
  mount(h('main', { class: 'center card-page' }, h('h1', {}, title), notice(text, 'error'), h('p', {}, h('a', { href: '/' }, 'Create a room'))));
}
