// The attendee room: the stage (the screen share or the camera, the camera
// as a movable, hideable inset while sharing), sound with volume and an
// unmute button when the browser blocks autoplay, the video quality
// (automatic, a fixed one, or audio only), full screen, chat and Q&A. When
// the picture stops, drops in quality or cannot connect, it says why and
// what it tries next.

import { h, mount } from './dom.js';
import { LiveSession } from './live.js';
import { watch } from './media.js';
import { RoomState, chatPanel, qaPanel, tabs, finalQuestions } from './panels.js';
import { pollsPanel } from './polls.js';
import { reactionBar, reactionLayer } from './reactions.js';
import { handButton, stageSeat } from './stage.js';
import { shell } from './shell.js';

// How long "reconnecting" is believed before the stage says "waiting".
const RECONNECT_GRACE_MS = 20_000;
// A live picture without a new frame for this long is a stalled one.
const STALL_MS = 2500;
const CORNERS = ['br', 'bl', 'tl', 'tr'];
const QUALITIES = [
  ['auto', 'Auto'],
  ['high', 'High'],
  ['medium', 'Medium'],
  ['low', 'Low'],
  ['audio', 'Audio only'],
];

// What the stage's note says about the connection and the network, or
// null: how media is being reached when it cannot connect, a lower layer
// or a paused video the network forced (never a choice of the viewer's).
export function networkNote(connection, section, choice) {
  if (connection.state === 'failed') {
    return connection.detail === 'relay'
      ? 'The video could not connect from this network. Trying through a relay server…'
      : 'The video could not connect from this network. Trying again…';
  }
  if (connection.state === 'connecting' && connection.detail === 'tcp') return 'Connecting the video… trying over TCP.';
  if (connection.state === 'connecting' && connection.detail === 'relay') return 'Connecting the video through a relay server…';
  if (!section || choice !== 'auto' || section.mode !== 'auto') return null;
  if (section.paused) return 'Your connection is too slow for video right now: you still hear the presenter.';
  const ids = section.layers.map((l) => l.encodingId);
  if (ids.length > 1 && section.current && section.current !== ids[ids.length - 1]) {
    return 'Lower video quality: your connection is slow right now.';
  }
  return null;
}

export function show({ slug, card, token, kind }) {
  const live = new LiveSession(slug, token);
  const state = new RoomState().attach(live);
  let streams = null;
  let corner = 0;
  let reconnectUntil = 0;
  let lastFrame = 0;

  const stage = h('video', { id: 'stage-video', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Presenter' });
  const pip = h('video', { id: 'pip-video', class: 'pip corner-br', autoplay: true, playsinline: true, muted: true, hidden: true, 'aria-label': 'Presenter camera' });
  const audio = h('audio', { id: 'room-audio', autoplay: true });
  const waiting = h('div', { class: 'stage-overlay', id: 'waiting', role: 'status' }, 'Waiting for the presenter…');
  const unmute = h('button', { class: 'unmute', id: 'unmute', hidden: true, onclick: () => playAudio() }, '🔊 Tap to unmute');
  stage.muted = true;
  pip.muted = true;

  const pipToggle = h('button', { class: 'small', id: 'pip-toggle', 'aria-pressed': 'false', hidden: true, onclick: () => setPipHidden(pipToggle.getAttribute('aria-pressed') !== 'true') }, 'Hide camera');
  const pipMove = h('button', { class: 'small', id: 'pip-move', hidden: true, onclick: () => movePip() }, 'Move camera');
  const volume = h('input', { type: 'range', id: 'volume', min: 0, max: 1, step: 0.05, value: 1, oninput: () => setVolume(Number(volume.value)) });
  const muteAudio = h('button', { class: 'small', id: 'mute-audio', 'aria-pressed': 'false', onclick: () => setMuted(!audio.muted) }, 'Mute');
  const fullscreen = h('button', { class: 'small', id: 'fullscreen', onclick: () => toggleFullscreen() }, 'Full screen');
  const quality = h(
    'select',
    { id: 'quality', class: 'small', onchange: () => ((choice = quality.value), viewer.setQuality(choice).then(overlay), overlay()) },
    ...QUALITIES.map(([value, label]) => h('option', { value }, label)),
  );
  // What the network does to the video, and what is tried when it fails.
  const netNote = h('div', { class: 'net-note', id: 'net-note', role: 'status', hidden: true });
  let layersNow = { camera: null, screen: null };
  let choice = 'auto';
  let connection = { state: 'connecting', detail: 'direct' };
  const controls = h(
    'div',
    { class: 'stage-controls' },
    pipToggle,
    pipMove,
    h('span', { class: 'spacer' }),
    muteAudio,
    h('label', { for: 'volume', class: 'visually-hidden' }, 'Volume'),
    volume,
    h('label', { for: 'quality', class: 'visually-hidden' }, 'Video quality'),
    quality,
    fullscreen,
  );
  // The speakers' sections: the page asks for as many as the room allows.
  const seats = Math.max(0, Math.min(10, card.settings?.max_speakers ?? 3));
  const seatAudio = Array.from({ length: seats }, (_, k) => h('audio', { autoplay: true, class: 'seat-audio', dataset: { seat: k } }));
  // Spotlight (the screen, or whoever speaks, large; the others small) or
  // a grid of everyone on stage.
  let grid = false;
  const layout = h('button', { class: 'small', id: 'layout', 'aria-pressed': 'false', onclick: () => ((grid = !grid), place()) }, 'Grid');
  controls.insertBefore(layout, fullscreen);
  const strip = h('div', { class: 'stage-strip', id: 'stage-strip', 'aria-label': 'On stage' });
  let self = null;
  const stageBox = h('section', { class: 'stage', 'aria-label': 'Stage' }, stage, pip, reactionLayer(state), waiting, netNote, unmute, controls, audio, seatAudio);
  const seat = stageSeat(live, state, { slug, token, onLocal: (s) => ((self = s), place()) });

  function playAudio() {
    audio.play().then(
      () => (unmute.hidden = true),
      () => (unmute.hidden = false),
    );
  }

  function setVolume(v) {
    audio.volume = v;
    if (v > 0 && audio.muted) setMuted(false);
  }

  function setMuted(m) {
    audio.muted = m;
    muteAudio.setAttribute('aria-pressed', String(m));
    muteAudio.textContent = m ? 'Unmute' : 'Mute';
  }

  function setPipHidden(hide) {
    pipToggle.setAttribute('aria-pressed', String(hide));
    pipToggle.textContent = hide ? 'Show camera' : 'Hide camera';
    place();
  }

  function movePip() {
    pip.classList.remove(`corner-${CORNERS[corner]}`);
    corner = (corner + 1) % CORNERS.length;
    pip.classList.add(`corner-${CORNERS[corner]}`);
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else stageBox.requestFullscreen?.().catch(() => {});
  }
  document.addEventListener('fullscreenchange', () => {
    fullscreen.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen';
  });

  // A tile of the strip: someone's camera, named.
  function tile(key, stream, name, speaking) {
    let t = strip.querySelector(`[data-key="${key}"]`);
    if (!t) {
      const v = h('video', { autoplay: true, playsinline: true, muted: true });
      v.muted = true;
      t = h('figure', { class: 'tile-video', dataset: { key } }, v, h('figcaption', {}));
    }
    const v = t.querySelector('video');
    if (v.srcObject !== stream) v.srcObject = stream;
    t.querySelector('figcaption').textContent = name;
    t.classList.toggle('is-speaking', speaking);
    return t;
  }

  // The screen takes the stage while it is shared, else whoever speaks
  // (a speaker's camera, or the presenter's); the others go small.
  function place() {
    const sharing = state.media.screen && streams?.screen.getVideoTracks().length;
    const seatsNow = state.media.seats ?? [];
    const speakingSeat = seatsNow.indexOf(state.media.speaker);
    const seatLive = (k) => seatsNow[k] != null && streams?.seats?.[k]?.video.getVideoTracks().length;
    const main = sharing ? 'screen' : speakingSeat >= 0 && seatLive(speakingSeat) ? `seat-${speakingSeat}` : 'camera';
    const streamOf = (key) => (key === 'screen' ? streams.screen : key === 'camera' ? streams.camera : streams.seats[Number(key.slice(5))].video);
    const want = streams ? (grid && !sharing ? null : streamOf(main)) : null;
    if (stage.srcObject !== want) stage.srcObject = want;
    stage.hidden = grid && !sharing;
    stageBox.classList.toggle('grid', grid && !sharing);
    layout.setAttribute('aria-pressed', String(grid));
    layout.textContent = grid ? 'Spotlight' : 'Grid';
    // Every speaker is heard, but never one's own voice back (an echo).
    seatAudio.forEach((a, k) => {
      const mine = seatsNow[k] != null && seatsNow[k] === state.me?.id;
      const s = mine ? null : streams?.seats?.[k]?.audio ?? null;
      if (a.srcObject !== s) a.srcObject = s;
    });
    const presenterId = state.speakers.find((p) => p.role === 'presenter')?.id;
    const tiles = [];
    if (streams && state.media.live && !sharing && (grid || main !== 'camera')) {
      tiles.push(tile('camera', streams.camera, card.presenter_name, state.media.speaker === presenterId));
    }
    seatsNow.forEach((pid, k) => {
      // One's own camera shows from the device, not back from the server.
      if (pid === state.me?.id && self) return;
      if (streams && seatLive(k) && (grid || main !== `seat-${k}`)) {
        tiles.push(tile(`seat-${k}`, streams.seats[k].video, state.nameOf(pid), state.media.speaker === pid));
      }
    });
    if (self) tiles.push(tile('self', self, 'You', false));
    strip.replaceChildren(...tiles);
    strip.hidden = tiles.length === 0;
    const inset = sharing && state.media.live;
    const hidden = pipToggle.getAttribute('aria-pressed') === 'true';
    const pipWant = inset && !hidden ? streams.camera : null;
    if (pip.srcObject !== pipWant) pip.srcObject = pipWant;
    pip.hidden = !pipWant;
    pipToggle.hidden = !inset;
    pipMove.hidden = !inset || hidden;
    stage.dataset.showing = main;
    overlay();
  }

  // What the stage says when there is no picture, or a stalled one.
  function overlay() {
    const on = state.media.live || state.media.screen;
    const now = performance.now();
    if (state.media.reconnecting && !reconnectUntil) reconnectUntil = now + RECONNECT_GRACE_MS;
    if (!state.media.reconnecting || on) reconnectUntil = 0;
    const stalled = on && lastFrame > 0 && now - lastFrame > STALL_MS;
    const reconnecting = (!on && reconnectUntil > now) || stalled;
    // A speaker's camera in the spotlight has no layer note of its own.
    const showing = stage.dataset.showing;
    const shown = showing === 'screen' ? layersNow.screen : showing === 'camera' ? layersNow.camera : null;
    // No video by choice, or because the network cannot carry it: not a
    // stalled presenter.
    const audioOnly = on && (choice === 'audio' || (shown?.paused && shown.mode !== 'pinned'));
    waiting.hidden = on && !stalled && !audioOnly;
    waiting.classList.toggle('over-picture', stalled || audioOnly);
    waiting.textContent = audioOnly
      ? choice === 'audio'
        ? 'Audio only. Choose a video quality to see the presenter again.'
        : 'Audio only for now: your connection is too slow for video.'
      : reconnecting
        ? 'The presenter is reconnecting…'
        : 'Waiting for the presenter…';
    const note = networkNote(connection, shown, choice);
    netNote.hidden = !note || audioOnly;
    netNote.textContent = note ?? '';
  }
  setInterval(overlay, 500);
  // Frames as the screen shows them: a picture that stops is noticed.
  if (stage.requestVideoFrameCallback) {
    const tick = () => {
      lastFrame = performance.now();
      stage.requestVideoFrameCallback(tick);
    };
    stage.requestVideoFrameCallback(tick);
  }
  stage.addEventListener('emptied', () => (lastFrame = 0));

  const viewer = watch({
    slug,
    token,
    seats,
    // The presenter's microphone is live: packets should be arriving.
    expectsMedia: () => state.media.live,
    onState: (state, detail) => {
      connection = { state, detail };
      if (state === 'connected') stageBox.dataset.route = detail;
      overlay();
    },
    onLayers: (l) => {
      layersNow = l;
      overlay();
    },
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
  window.podium = Object.assign(window.podium ?? {}, { stats: () => viewer.pc()?.getStats(), pc: () => viewer.pc() });

  const chatTabs = { unread: 0 };
  const side = tabs([
    ['Q&A', qaPanel(live, state)],
    ['Chat', chatPanel(live, state, {
      onNew: () => {
        if (side.selected() !== 1) side.badge(1, ++chatTabs.unread);
      },
    })],
    ['Polls', pollsPanel(live, state)],
  ]);
  side.onSelect((i) => {
    if (i === 1) side.badge(1, (chatTabs.unread = 0));
    if (i === 2) side.badge(2, 0);
  });
  // A poll that opens while another tab is shown: a mark on the Polls tab.
  state.watch(['poll.created'], ({ poll }) => {
    if (poll.status === 'open' && side.selected() !== 2) side.badge(2, 1);
  });

  const { header, banner } = shell({
    live,
    state,
    card,
    kind,
    // The server ended our media session with the room or the removal.
    onEnded: () => viewer.abandon(),
    ended: () => finalQuestions(state),
  });
  state.watch(['welcome', 'media.state'], (f) => {
    if (f.type === 'media.state' && !f.live) lastFrame = 0;
    place();
  });
  state.watch(['media.speaker', 'stage.updated'], () => place());
  // A welcome after a drop may follow a server restart: is our media there?
  state.watch(['welcome'], () => viewer.check());

  document.title = `${card.title} · Podium`;
  mount(
    banner,
    header,
    h('main', { class: 'room attend' },
      h('div', { class: 'stage-column' }, seat.prompt, stageBox, strip, seat.bar,
        h('div', { class: 'under-stage' }, reactionBar(live), handButton(live, state))),
      side.el),
  );
  live.start();
}
