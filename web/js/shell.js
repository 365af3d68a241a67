// What every live page shares: the header (title, live state, attendee
// count), the reconnecting banner, and the ways a session ends (the room
// ended, a kick, a revoked token).

import { h, mount, notice } from './dom.js';
import { store } from './api.js';
import { endedScreen } from './screens.js';

// The end of a session reaches the presenter twice (their own request and the
// room.ended event); a second navigation would abort the first.
let leaving = false;
export function openReport(slug) {
  if (leaving) return;
  leaving = true;
  location.assign(`/r/${slug}/report`);
}

export function shell({ live, state, card, kind, onEnded, actions }) {
  const badge = h('span', { class: 'live-badge', id: 'live-state', role: 'status' });
  const count = h('span', { class: 'count', id: 'attendee-count', 'aria-live': 'polite' });
  const banner = h('div', { class: 'banner', id: 'reconnecting', role: 'status', hidden: true }, 'Reconnecting…');
  const header = h(
    'header',
    { class: 'room-header' },
    h('div', { class: 'title' }, h('h1', {}, card.title), h('p', { class: 'muted' }, 'with ', card.presenter_name)),
    h('div', { class: 'meta' }, badge, count, actions),
  );

  function render() {
    const live_ = state.media.live || state.media.screen;
    badge.textContent = live_ ? 'Live' : 'Waiting for the presenter';
    badge.classList.toggle('on', live_);
    const n = state.count;
    count.textContent = `${n} ${n === 1 ? 'person' : 'people'} here`;
  }

  live.addEventListener('welcome', render);
  live.addEventListener('presence', render);
  live.addEventListener('media.state', render);
  live.addEventListener('status', (e) => {
    banner.hidden = e.detail !== 'reconnecting';
    if (e.detail === 'kicked') {
      store.dropToken(card.slug, kind);
      onEnded?.('kicked');
      mount(
        h(
          'main',
          { class: 'center card-page' },
          h('h1', {}, card.title),
          notice('A moderator removed you from this session. You cannot rejoin it with this link.', 'error'),
        ),
      );
    }
    if (e.detail === 'unauthorized') {
      store.dropToken(card.slug, kind);
      location.reload();
    }
  });
  live.addEventListener('room.ended', (e) => {
    onEnded?.('ended');
    if (kind === 'attend') endedScreen(card);
    else openReport(card.slug);
    void e;
  });
  return { header, banner };
}
