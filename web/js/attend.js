// The attendee room: the stage (screen share or camera, camera as a
// picture-in-picture while sharing), audio with an unmute button when the
// browser blocks autoplay, chat and Q&A.

import { h, mount } from './dom.js';
import { LiveSession } from './live.js';
import { watch } from './media.js';
import { RoomState, chatPanel, qaPanel, tabs } from './panels.js';
import { shell } from './shell.js';

export function show({ slug, card, token, kind }) {
  const live = new LiveSession(slug, token);
  const state = new RoomState().attach(live);
  let streams = null;

  const stage = h('video', { id: 'stage-video', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Presenter' });
  const pip = h('video', { id: 'pip-video', class: 'pip', autoplay: true, playsinline: true, muted: true, hidden: true, 'aria-label': 'Presenter camera' });
  const audio = h('audio', { id: 'room-audio', autoplay: true });
  const waiting = h('div', { class: 'stage-overlay', id: 'waiting' }, 'Waiting for the presenter…');
  const unmute = h('button', { class: 'unmute', id: 'unmute', hidden: true, onclick: () => playAudio() }, '🔊 Tap to unmute');
  stage.muted = true;
  pip.muted = true;

  function playAudio() {
    audio.play().then(
      () => (unmute.hidden = true),
      () => (unmute.hidden = false),
    );
  }

  // The screen takes the stage while it is shared; the camera goes small.
  function place() {
    const sharing = state.media.screen && streams?.screen.getVideoTracks().length;
    const want = streams ? (sharing ? streams.screen : streams.camera) : null;
    if (stage.srcObject !== want) stage.srcObject = want;
    const pipWant = sharing && state.media.live ? streams.camera : null;
    if (pip.srcObject !== pipWant) pip.srcObject = pipWant;
    pip.hidden = !pipWant;
    stage.dataset.showing = sharing ? 'screen' : 'camera';
    waiting.hidden = state.media.live || state.media.screen;
  }

  const viewer = watch({
    slug,
    token,
    onTracks: (s) => {
      streams = s;
      if (audio.srcObject !== s.audio) {
        audio.srcObject = s.audio;
        playAudio();
      }
      place();
    },
  });
  // Diagnostics for tests and support: the viewer's WebRTC statistics.
  window.podium = { stats: () => viewer.pc()?.getStats(), pc: () => viewer.pc() };

  const { header, banner } = shell({ live, state, card, kind, onEnded: () => viewer.stop() });
  live.addEventListener('welcome', place);
  // A welcome after a drop may follow a server restart: is our media there?
  live.addEventListener('welcome', () => viewer.check());
  live.addEventListener('media.state', place);

  document.title = `${card.title} · Podium`;
  mount(
    banner,
    header,
    h(
      'main',
      { class: 'room attend' },
      h('section', { class: 'stage', 'aria-label': 'Stage' }, stage, pip, waiting, unmute, audio),
      tabs([
        ['Q&A', qaPanel(live, state)],
        ['Chat', chatPanel(live, state)],
      ]),
    ),
  );
  live.start();
}
