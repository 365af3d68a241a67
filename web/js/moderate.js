// The moderator console: the Q&A queue with every control, chat with
// delete and promote, the room's settings and the participant list.

import { h, mount } from './dom.js';
import { LiveSession } from './live.js';
import { RoomState, chatPanel, qaPanel, participantsPanel, settingsPanel } from './panels.js';
import { shell } from './shell.js';

export function show({ slug, card, token, kind }) {
  const live = new LiveSession(slug, token);
  const state = new RoomState().attach(live);
  const report = h('a', { class: 'button secondary', href: `/r/${slug}/report`, target: '_blank', rel: 'noopener' }, 'Statistics');
  const { header, banner } = shell({ live, state, card, kind, actions: report });
  const column = (title, ...children) => h('div', { class: 'column' }, h('h2', {}, title), ...children);
  document.title = `Moderate · ${card.title} · Podium`;
  mount(
    banner,
    header,
    h(
      'main',
      { class: 'console' },
      column('Questions', qaPanel(live, state)),
      column('Chat', chatPanel(live, state)),
      column('Room', settingsPanel(live, state), h('h2', {}, 'People'), participantsPanel(live, state)),
    ),
  );
  live.start();
}
