// The presenter studio: pick devices, preview, go live, mute, share the
// screen (with a preview of what is shared), answer the room, copy links,
// end the session. It always says what attendees see and hear now, warns
// before a reload or close ends the broadcast, and a reload (or the link
// opened again soon after) resumes the broadcast with the same devices.

import { h, mount, notice, copy } from './dom.js';
import { api, store } from './api.js';
import { LiveSession } from './live.js';
import { publish, watch } from './media.js';
import { RoomState, chatPanel, qaPanel, recordToggle, tabs } from './panels.js';
import { pollsPanel } from './polls.js';
import { stagePanel } from './stage.js';
import { reactionLayer } from './reactions.js';
import { shell, openReport } from './shell.js';

// A broadcast this recent (the studio's last sign of life while live) is
// resumed without a click when the studio opens again.
const RESUME_WITHIN_MS = 90_000;
const HEARTBEAT_MS = 5000;

export function show({ slug, card, token, kind }) {
  const live = new LiveSession(slug, token);
  const state = new RoomState().attach(live);
  const key = new URLSearchParams(location.hash.slice(1)).get('key');
  let stream = null;
  let camera = null;
  let screen = null;
  let muted = false;
  let heartbeat = null;
  const saved = store.studio(slug);

  const preview = h('video', { id: 'preview', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your camera preview' });
  preview.muted = true;
  const micOff = h('div', { class: 'preview-flag', id: 'mic-off', hidden: true }, 'Microphone off: attendees do not hear you');
  const onAir = h('div', { class: 'preview-flag on-air', id: 'on-air', hidden: true }, 'On air');
  const screenPreview = h('video', { id: 'screen-preview', autoplay: true, playsinline: true, muted: true, 'aria-label': 'The screen you are sharing' });
  screenPreview.muted = true;
  const screenBox = h('figure', { class: 'screen-preview', hidden: true }, screenPreview, h('figcaption', {}, 'You are sharing this screen'));
  const cameraSelect = h('select', { id: 'camera-select', onchange: () => acquire() });
  const micSelect = h('select', { id: 'mic-select', onchange: () => acquire() });
  const status = h('div', { class: 'form-status', id: 'studio-status' });
  const audience = h('p', { class: 'audience', id: 'audience-view', role: 'status' });
  const goLive = h('button', { id: 'go-live', class: 'primary', onclick: () => toggleLive() }, 'Go live');
  const mute = h('button', { id: 'mute', 'aria-pressed': 'false', onclick: () => toggleMute() }, 'Mute microphone');
  const share = h('button', { id: 'share', onclick: () => toggleShare() }, 'Share screen');
  const end = h('button', { id: 'end', class: 'danger', onclick: () => endSession() }, 'End session for everyone');

  function fail(e) {
    status.replaceChildren(notice(e.message ?? String(e), 'error'));
  }

  async function acquire(devices = {}) {
    try {
      // A chosen device is required; a remembered one only preferred (it
      // may be gone since).
      const pick = (remembered, chosen) =>
        remembered ? { deviceId: { ideal: remembered } } : chosen ? { deviceId: { exact: chosen } } : {};
      const next = await navigator.mediaDevices.getUserMedia({
        video: { width: 1280, height: 720, ...pick(devices.camera, cameraSelect.value) },
        audio: { ...pick(devices.mic, micSelect.value) },
      });
      next.getAudioTracks().forEach((t) => (t.enabled = !muted));
      // Live: swap the tracks in place, viewers notice nothing.
      if (camera) {
        for (const sender of camera.pc()?.getSenders() ?? []) {
          const track = next.getTracks().find((t) => t.kind === sender.track?.kind);
          if (track) await sender.replaceTrack(track);
        }
      }
      stream?.getTracks().forEach((t) => t.stop());
      stream = next;
      preview.srcObject = stream;
      await listDevices();
      status.replaceChildren();
      remember();
    } catch (e) {
      fail(new Error(`Your camera or microphone is not available: ${e.message}`));
    }
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind_, track) => {
      const current = track?.getSettings().deviceId;
      select.replaceChildren(
        ...devices
          .filter((d) => d.kind === kind_)
          .map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind_ === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`)),
      );
    };
    fill(cameraSelect, 'videoinput', stream?.getVideoTracks()[0]);
    fill(micSelect, 'audioinput', stream?.getAudioTracks()[0]);
  }

  // What a reload needs to resume: live or not, the devices, mute.
  function remember() {
    store.setStudio(slug, {
      live: Boolean(camera),
      camera: stream?.getVideoTracks()[0]?.getSettings().deviceId ?? null,
      mic: stream?.getAudioTracks()[0]?.getSettings().deviceId ?? null,
      muted,
      at: Date.now(),
    });
  }

  async function startCamera() {
    if (!stream) await acquire();
    if (!stream) return;
    camera = await publish({ slug, token, tracks: () => stream.getTracks(), kind: 'camera' });
    heartbeat = setInterval(remember, HEARTBEAT_MS);
  }

  async function toggleLive() {
    goLive.disabled = true;
    try {
      if (camera) {
        const c = camera;
        camera = null;
        clearInterval(heartbeat);
        await c.stop();
      } else {
        await startCamera();
      }
      status.replaceChildren();
    } catch (e) {
      camera = null;
      fail(e);
    } finally {
      goLive.disabled = false;
      remember();
      render();
    }
  }

  function toggleMute() {
    muted = !muted;
    stream?.getAudioTracks().forEach((t) => (t.enabled = !muted));
    remember();
    render();
  }

  async function toggleShare() {
    share.disabled = true;
    try {
      if (screen) {
        await stopShare();
      } else {
        const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        const track = display.getVideoTracks()[0];
        // Text on slides stays sharp: resolution before frame rate.
        track.contentHint = 'detail';
        screen = await publish({ slug, token, tracks: () => display.getTracks(), kind: 'screen' });
        screen.display = display;
        screenPreview.srcObject = display;
        // The browser's own "Stop sharing" ends it too.
        track.addEventListener('ended', () => stopShare());
      }
      status.replaceChildren();
    } catch (e) {
      fail(e);
    } finally {
      share.disabled = false;
      render();
    }
  }

  async function stopShare() {
    const s = screen;
    screen = null;
    screenPreview.srcObject = null;
    render();
    if (!s) return;
    s.display.getTracks().forEach((t) => t.stop());
    await s.stop();
  }

  async function endSession() {
    if (!window.confirm('End the session for everyone? Attendees leave the room and it cannot be reopened.')) return;
    end.disabled = true;
    try {
      await api.end(slug, token);
      finish();
      openReport(slug);
    } catch (e) {
      end.disabled = false;
      fail(e);
    }
  }

  // The speakers on stage, seen and heard from the studio: a viewer of the
  // room's seats only while someone is on stage (the presenter's own
  // sections are never played back, or they would echo).
  const seats = Math.max(0, Math.min(10, card.settings?.max_speakers ?? 3));
  const speakersBox = h('div', { class: 'stage-strip', id: 'studio-speakers', 'aria-label': 'Speakers on stage', hidden: true });
  const seatAudio = Array.from({ length: seats }, () => h('audio', { autoplay: true, class: 'seat-audio' }));
  let speakersView = null;
  let seatStreams = null;
  function showSpeakers() {
    const anyone = state.speakers.some((p) => p.role === 'speaker');
    if (anyone && !speakersView && seats > 0) {
      speakersView = watch({ slug, token, seats, onTracks: (st) => ((seatStreams = st.seats), showSpeakers()) });
    } else if (!anyone && speakersView) {
      speakersView.stop();
      speakersView = null;
      seatStreams = null;
    }
    const tiles = (state.media.seats ?? []).flatMap((pid, k) => {
      const st = seatStreams?.[k];
      if (pid == null || !st?.video.getVideoTracks().length) return [];
      // One tile per seat, kept, so a picture never restarts.
      let t = speakersBox.querySelector(`[data-seat="${k}"]`);
      if (!t) {
        const v = h('video', { autoplay: true, playsinline: true, muted: true });
        v.muted = true;
        t = h('figure', { class: 'tile-video', dataset: { seat: k } }, v, h('figcaption', {}));
      }
      const v = t.querySelector('video');
      if (v.srcObject !== st.video) v.srcObject = st.video;
      t.querySelector('figcaption').textContent = state.nameOf(pid);
      t.classList.toggle('is-speaking', state.media.speaker === pid);
      return [t];
    });
    seatAudio.forEach((a, k) => {
      const want = seatStreams?.[k]?.audio ?? null;
      if (a.srcObject !== want) a.srcObject = want;
    });
    speakersBox.replaceChildren(...tiles);
    speakersBox.hidden = tiles.length === 0;
  }
  state.watch(['welcome', 'stage.updated', 'media.state', 'media.speaker'], showSpeakers);

  // The session is over: the server already ended our media sessions.
  function finish() {
    clearInterval(heartbeat);
    speakersView?.abandon();
    speakersView = null;
    store.setStudio(slug, null);
    camera?.abandon();
    screen?.abandon();
    camera = null;
    screen = null;
    stream?.getTracks().forEach((t) => t.stop());
  }

  // Buttons, flags and the line that says what attendees get right now.
  function render() {
    goLive.textContent = camera ? 'Stop broadcast' : 'Go live';
    goLive.title = camera ? 'Stops your camera and microphone; attendees stay in the room and wait' : '';
    goLive.classList.toggle('primary', !camera);
    mute.setAttribute('aria-pressed', String(muted));
    mute.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
    mute.classList.toggle('is-muted', muted);
    micOff.hidden = !muted;
    share.textContent = screen ? 'Stop sharing' : 'Share screen';
    screenBox.hidden = !screen;
    const m = state.media;
    onAir.hidden = !m.live;
    const sound = m.live ? (muted ? ', but not your voice: your microphone is muted' : ' and hear your microphone') : '';
    audience.textContent = m.live && m.screen
      ? `Attendees see your screen, with your camera small in a corner${sound}.`
      : m.screen
        ? 'Attendees see your screen; your camera is off.'
        : m.live
          ? `Attendees see your camera${sound}.`
          : camera
            ? 'Connecting…'
            : 'Attendees see a waiting screen. Press Go live to start.';
  }

  // Leaving while live ends the broadcast: ask first.
  window.addEventListener('beforeunload', (e) => {
    if (!camera && !screen) return;
    remember();
    e.preventDefault();
    e.returnValue = '';
  });

  const made = store.room(slug);
  const attendUrl = made?.urls?.attend ?? `${location.origin}/r/${slug}`;
  const linkRow = (label, url, id) =>
    h('div', { class: 'link-row' }, h('span', {}, label), h('button', { class: 'small', id, onclick: (e) => copy(url, e.currentTarget) }, 'Copy link'));
  const reportHref = `/r/${slug}/report${key ? `#key=${encodeURIComponent(key)}` : ''}`;

  const { header, banner } = shell({ live, state, card, kind, onEnded: finish, actions: [recordToggle(live, state), end] });
  state.watch(['welcome', 'media.state'], render);
  // Diagnostics for tests and support: the broadcast's WebRTC statistics.
  window.podium = { stats: () => camera?.pc()?.getStats(), screenStats: () => screen?.pc()?.getStats() };
  document.title = `Studio · ${card.title} · Podium`;
  const side = tabs([
    ['Q&A', qaPanel(live, state, { canAsk: false })],
    ['Chat', chatPanel(live, state)],
    ['Polls', pollsPanel(live, state)],
    ['Stage', stagePanel(live, state)],
  ]);
  mount(
    banner,
    header,
    h(
      'main',
      { class: 'room studio' },
      h(
        'section',
        { class: 'stage studio-stage', 'aria-label': 'Studio' },
        h('div', { class: 'preview-box' }, preview, reactionLayer(state), onAir, micOff),
        audience,
        speakersBox,
        seatAudio,
        h('div', { class: 'controls-bar' }, goLive, mute, share),
        screenBox,
        h(
          'div',
          { class: 'devices' },
          h('label', { for: 'camera-select' }, 'Camera'),
          cameraSelect,
          h('label', { for: 'mic-select' }, 'Microphone'),
          micSelect,
        ),
        status,
        h(
          'div',
          { class: 'links' },
          linkRow('Attendee link', attendUrl, 'copy-attend'),
          made?.urls?.moderate ? linkRow('Moderator link (keep private)', made.urls.moderate, 'copy-moderate') : null,
          h('a', { href: reportHref, target: '_blank', rel: 'noopener', class: 'small-link' }, 'Live statistics'),
        ),
      ),
      side.el,
    ),
  );
  // A welcome after a drop may follow a server restart: publish again now
  // if the server lost our sessions, not when the browser notices.
  state.watch(['welcome'], () => {
    camera?.check();
    screen?.check();
  });
  live.start();
  render();

  // Opened again soon after a broadcast (a reload, a closed tab): resume
  // it with the same devices, no click needed.
  muted = Boolean(saved?.muted);
  const resume = saved?.live && Date.now() - saved.at < RESUME_WITHIN_MS;
  acquire({ camera: saved?.camera ?? undefined, mic: saved?.mic ?? undefined }).then(async () => {
    if (!resume || camera) return;
    status.replaceChildren(notice('Resuming your broadcast…'));
    try {
      await startCamera();
      status.replaceChildren(notice('Your broadcast resumed. Share your screen again if you were sharing it.'));
    } catch (e) {
      fail(e);
    } finally {
      remember();
      render();
    }
  });
}
