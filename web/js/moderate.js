// The moderator console: the Q&A queue with every control (and a filter
// for questions awaiting approval), chat with promote and delete, a small
// preview of the stage, the room's settings and the participant list.
// Each column scrolls on its own, so the page never grows past the screen.

import { h, mount } from './dom.js';
import { LiveSession } from './live.js';
import { watch } from './media.js';
import { RoomState, chatPanel, qaPanel, participantsPanel, settingsPanel } from './panels.js';
import { pollsPanel } from './polls.js';
import { stagePanel } from './stage.js';
import { reactionLayer } from './reactions.js';
import { shell } from './shell.js';

export function show({ slug, card, token, kind }) {
  const live = new LiveSession(slug, token);
  const state = new RoomState().attach(live);
  const key = new URLSearchParams(location.hash.slice(1)).get('key');
  const report = h('a', { class: 'button secondary', href: `/r/${slug}/report${key ? `#key=${encodeURIComponent(key)}` : ''}`, target: '_blank', rel: 'noopener' }, 'Statistics');

  // What attendees see, small and silent: the screen while shared, else
  // the camera.
  const stage = h('video', { id: 'console-stage', autoplay: true, playsinline: true, muted: true, 'aria-label': 'The stage as attendees see it' });
  stage.muted = true;
  const offAir = h('p', { class: 'stage-note muted' }, 'Nothing on stage yet.');
  let streams = null;
  function place() {
    const sharing = state.media.screen && streams?.screen.getVideoTracks().length;
    const want = streams ? (sharing ? streams.screen : streams.camera) : null;
    if (stage.srcObject !== want) stage.srcObject = want;
    offAir.hidden = state.media.live || state.media.screen;
  }
  const viewer = watch({ slug, token, onTracks: (s) => ((streams = s), place()) });
  state.watch(['welcome', 'media.state'], place);
  state.watch(['welcome'], () => viewer.check());

  const { header, banner } = shell({ live, state, card, kind, actions: report, onEnded: () => viewer.abandon() });
  const column = (title, id, ...children) => h('section', { class: 'column', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
  document.title = `Moderate · ${card.title} · Podium`;
  mount(
    banner,
    header,
    h(
      'main',
      { class: 'console' },
      column('Questions', 'col-questions', qaPanel(live, state, { canAsk: false })),
      column('Chat', 'col-chat', chatPanel(live, state)),
      column(
        'Stage',
        'col-room',
        h('div', { class: 'console-stage' }, stage, reactionLayer(state), offAir),
        h('h2', {}, 'Stage'),
        stagePanel(live, state),
        h('h2', {}, 'Polls'),
        pollsPanel(live, state),
        h('h2', {}, 'Settings'),
        settingsPanel(live, state),
        h('h2', {}, 'People'),
        participantsPanel(live, state),
      ),
    ),
  );
  live.start();
}
