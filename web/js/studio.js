// The presenter studio: pick devices, preview, go live, mute, share the
// screen, answer the room, copy links, end the session.

import { h, mount, notice, copy } from './dom.js';
import { api, store } from './api.js';
import { LiveSession } from './live.js';
import { publish } from './media.js';
import { RoomState, chatPanel, qaPanel, tabs } from './panels.js';
import { shell, openReport } from './shell.js';

export function show({ slug, card, token, kind }) {
  const live = new LiveSession(slug, token);
  const state = new RoomState().attach(live);
  let stream = null;
  let camera = null;
  let screen = null;

  const preview = h('video', { id: 'preview', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your camera preview' });
  preview.muted = true;
  const cameraSelect = h('select', { id: 'camera-select', onchange: () => acquire() });
  const micSelect = h('select', { id: 'mic-select', onchange: () => acquire() });
  const status = h('div', { class: 'form-status', id: 'studio-status' });
  const goLive = h('button', { id: 'go-live', class: 'primary', onclick: () => toggleLive() }, 'Go live');
  const mute = h('button', { id: 'mute', 'aria-pressed': 'false', onclick: () => toggleMute() }, 'Mute');
  const share = h('button', { id: 'share', onclick: () => toggleShare() }, 'Share screen');
  const end = h('button', { id: 'end', class: 'danger', onclick: () => endSession() }, 'End session');

  function fail(e) {
    status.replaceChildren(notice(e.message ?? String(e), 'error'));
  }

  async function acquire() {
    try {
      const next = await navigator.mediaDevices.getUserMedia({
        video: cameraSelect.value ? { deviceId: { exact: cameraSelect.value } } : { width: 1280, height: 720 },
        audio: micSelect.value ? { deviceId: { exact: micSelect.value } } : true,
      });
      const muted = mute.getAttribute('aria-pressed') === 'true';
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
    } catch (e) {
      fail(new Error(`Camera or microphone unavailable: ${e.message}`));
    }
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind_, track) => {
      const current = track?.getSettings().deviceId;
      select.replaceChildren(
        ...devices
          .filter((d) => d.kind === kind_)
          .map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind_} ${i + 1}`)),
      );
    };
    fill(cameraSelect, 'videoinput', stream?.getVideoTracks()[0]);
    fill(micSelect, 'audioinput', stream?.getAudioTracks()[0]);
  }

  async function toggleLive() {
    goLive.disabled = true;
    try {
      if (camera) {
        await camera.stop();
        camera = null;
      } else {
        if (!stream) await acquire();
        camera = await publish({ slug, token, tracks: () => stream.getTracks(), kind: 'camera' });
      }
      status.replaceChildren();
    } catch (e) {
      camera = null;
      fail(e);
    } finally {
      goLive.disabled = false;
      goLive.textContent = camera ? 'Stop' : 'Go live';
      goLive.classList.toggle('primary', !camera);
    }
  }

  function toggleMute() {
    const muted = mute.getAttribute('aria-pressed') !== 'true';
    stream?.getAudioTracks().forEach((t) => (t.enabled = !muted));
    mute.setAttribute('aria-pressed', String(muted));
    mute.textContent = muted ? 'Unmute' : 'Mute';
  }

  async function toggleShare() {
    share.disabled = true;
    try {
      if (screen) {
        await stopShare();
      } else {
        const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        const track = display.getVideoTracks()[0];
        screen = await publish({ slug, token, tracks: () => display.getTracks(), kind: 'screen' });
        screen.display = display;
        // The browser's own "Stop sharing" ends it too.
        track.addEventListener('ended', () => stopShare());
      }
      status.replaceChildren();
    } catch (e) {
      fail(e);
    } finally {
      share.disabled = false;
      share.textContent = screen ? 'Stop sharing' : 'Share screen';
    }
  }

  async function stopShare() {
    const s = screen;
    screen = null;
    share.textContent = 'Share screen';
    if (!s) return;
    s.display.getTracks().forEach((t) => t.stop());
    await s.stop();
  }

  async function endSession() {
    if (!window.confirm('End the session for everyone? This cannot be undone.')) return;
    end.disabled = true;
    try {
      await api.end(slug, token);
      stopAll();
      openReport(slug);
    } catch (e) {
      end.disabled = false;
      fail(e);
    }
  }

  function stopAll() {
    camera?.stop();
    screen?.stop();
    stream?.getTracks().forEach((t) => t.stop());
  }

  const links = store.links(slug) ?? {};
  const attendUrl = links.attend ?? `${location.origin}/r/${slug}`;
  const linkRow = (label, url, id) =>
    h('div', { class: 'link-row' }, h('span', {}, label), h('button', { class: 'small', id, onclick: (e) => copy(url, e.currentTarget) }, 'Copy link'));

  const { header, banner } = shell({ live, state, card, kind, onEnded: stopAll, actions: end });
  document.title = `Studio · ${card.title} · Podium`;
  mount(
    banner,
    header,
    h(
      'main',
      { class: 'room studio' },
      h(
        'section',
        { class: 'stage studio-stage', 'aria-label': 'Studio' },
        preview,
        h(
          'div',
          { class: 'controls-bar' },
          goLive,
          mute,
          share,
        ),
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
          links.moderate ? linkRow('Moderator link (keep private)', links.moderate, 'copy-moderate') : null,
        ),
      ),
      tabs([
        ['Q&A', qaPanel(live, state)],
        ['Chat', chatPanel(live, state)],
      ]),
    ),
  );
  // A welcome after a drop may follow a server restart: publish again now
  // if the server lost our sessions, not when the browser notices.
  live.addEventListener('welcome', () => {
    camera?.check();
    screen?.check();
  });
  live.start();
  acquire();
}
