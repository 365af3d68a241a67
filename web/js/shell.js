// What every live page shares: the header (title, live state, attendee
// count), the reconnecting banner, and the ways a session ends (the room
// ended, a removal, a revoked token).

import { h, mount, notice } from './dom.js';
import { store } from './api.js';
import { endedScreen } from './screens.js';

// The end of a session reaches the presenter twice (their own request and the
// room.ended event); a second navigation would abort the first.
let leaving = false;
// The key of this page's link goes along: it reads the report from any
// browser, also once the token of this one is no use.
export function openReport(slug) {
  if (leaving) return;
  leaving = true;
  const key = new URLSearchParams(location.hash.slice(1)).get('key');
  location.assign(`/r/${slug}/report${key ? `#key=${encodeURIComponent(key)}` : ''}`);
}

export function removedScreen(card) {
  document.title = `${card.title} · Podium`;
  mount(
    h(
      'main',
      { class: 'center card-page' },
      h('h1', {}, card.title),
      notice('A moderator removed you from this session, so you cannot rejoin it.', 'error'),
      h('p', { class: 'muted' }, 'If you think this was a mistake, contact the presenter.'),
    ),
  );
}

// `onEnded(why)` runs once the session is over for this page: 'ended' or
// 'kicked' (the server already ended its media sessions then).
export function shell({ live, state, card, kind, onEnded, actions, ended }) {
  const badge = h('span', { class: 'live-badge', id: 'live-state', role: 'status' });
  const count = h('span', { class: 'count', id: 'attendee-count', 'aria-live': 'polite' });
  const banner = h('div', { class: 'banner', id: 'reconnecting', role: 'status', hidden: true }, 'Reconnecting…');
  // Everyone sees when the session is recorded.
  const recording = h('span', { class: 'rec-dot', id: 'rec-dot', role: 'status', hidden: true, title: 'This session is being recorded' }, 'Recording');
  // Staff hear when it stopped by itself (a full disk, the room's limit).
  const stopped = h('p', { class: 'notice error', id: 'recording-stopped', role: 'alert', hidden: true });
  const header = h(
    'header',
    { class: 'room-header' },
    h('div', { class: 'title' }, h('h1', {}, card.title), h('p', { class: 'muted' }, 'with ', card.presenter_name)),
    h('div', { class: 'meta' }, recording, badge, count, actions),
    stopped,
  );
  const showRecording = () => {
    recording.hidden = !state.room?.settings?.recording;
    if (state.room?.settings?.recording) stopped.hidden = true;
  };
  state.watch(['welcome', 'room.updated'], showRecording);
  state.watch(['recording.stopped'], (f) => {
    stopped.textContent = f.message;
    stopped.hidden = false;
  });

  // Only the stage says who we wait for; the badge just says live or not.
  function render() {
    const on = state.media.live || state.media.screen;
    badge.textContent = on ? 'Live' : kind === 'present' ? 'Off air' : 'Not live';
    badge.classList.toggle('on', on);
    const n = state.count;
    count.textContent = `${n} ${n === 1 ? 'person' : 'people'} here`;
  }

  state.watch(['welcome', 'presence', 'media.state'], render);
  live.addEventListener('status', (e) => {
    banner.hidden = e.detail !== 'reconnecting';
    if (e.detail === 'kicked') {
      store.dropToken(card.slug, kind);
      store.setRemoved(card.slug);
      onEnded?.('kicked');
      removedScreen(card);
    }
    if (e.detail === 'unauthorized') {
      store.dropToken(card.slug, kind);
      location.reload();
    }
  });
  state.watch(['room.ended'], () => {
    onEnded?.('ended');
    if (kind === 'attend') endedScreen(card, ended?.());
    else openReport(card.slug);
  });
  return { header, banner };
}
