// Reactions: six buttons to send one, and the emoji floating up over the
// stage as the room's counts come in (a few frames a second, each the
// reactions since the last). Under prefers-reduced-motion they still
// appear, fading in place instead of rising.

import { h, notice } from './dom.js';

export const EMOJI = ['👍', '👏', '❤️', '😂', '😮', '🎉'];
const NAMES = { '👍': 'Thumbs up', '👏': 'Applause', '❤️': 'Heart', '😂': 'Laughter', '😮': 'Surprise', '🎉': 'Celebration' };
// At most this many float at once, however many the room sends.
const MAX_FLOATING = 40;
const FLOAT_MS = 2600;

export function reactionBar(live) {
  const status = h('div', { class: 'reaction-status', 'aria-live': 'polite' });
  const send = async (emoji) => {
    try {
      await live.request('reaction', { emoji });
    } catch (e) {
      status.replaceChildren(notice(e.code === 'rate_limited' ? 'Easy there: a few reactions a second at most.' : e.message, 'error'));
      setTimeout(() => status.replaceChildren(), 3000);
    }
  };
  return h(
    'div',
    { class: 'reactions-bar', role: 'group', 'aria-label': 'React' },
    EMOJI.map((e) => h('button', { class: 'reaction', 'aria-label': NAMES[e], title: NAMES[e], onclick: () => send(e) }, e)),
    status,
  );
}

// The layer over the stage where the room's reactions rise.
export function reactionLayer(state) {
  const layer = h('div', { class: 'reaction-layer', 'aria-hidden': 'true' });
  state.watch(['reactions'], ({ counts }) => {
    const all = Object.entries(counts).flatMap(([e, n]) => Array(Math.min(n, MAX_FLOATING)).fill(e));
    // A storm shows as many as fit, in proportion, spread over the frame's time.
    const room = Math.max(0, MAX_FLOATING - layer.childElementCount);
    const step = all.length > room ? all.length / room : 1;
    for (let i = 0, k = 0; i < all.length && k < room; i += step, k++) {
      const el = h('span', { class: 'float', style: `left: ${8 + Math.random() * 84}%; animation-delay: ${Math.round(Math.random() * 250)}ms` }, all[Math.floor(i)]);
      layer.append(el);
      setTimeout(() => el.remove(), FLOAT_MS + 300);
    }
  });
  return layer;
}
