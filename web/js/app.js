// The room pages: /r/{slug} (attend), /r/{slug}/present (studio),
// /r/{slug}/moderate (console) and /r/{slug}/report. This file finds the
// page, gets a participant token (stored, or by joining) and hands over.

import { api, store, ApiError } from './api.js';
import { h, mount, notice } from './dom.js';
import { endedScreen, fatal } from './screens.js';

const [, slug, page = 'attend'] = location.pathname.split('/').filter(Boolean);
const key = new URLSearchParams(location.hash.slice(1)).get('key');

// A stored token that still works, else null.
async function resume(kind) {
  const token = store.token(slug, kind);
  if (!token) return null;
  try {
    const me = await api.me(slug, token);
    return { token, participant: me.participant };
  } catch (e) {
    if (e.status === 401 || e.status === 403 || e.status === 404) store.dropToken(slug, kind);
    else throw e;
    return null;
  }
}

// The join form: the room's title and presenter, a remembered name, a
// password field only when the room has one.
function joinForm(card, kind, resolve) {
  const name = h('input', { id: 'join-name', maxlength: 60, required: true, autocomplete: 'nickname', value: store.name() });
  const password = card.has_password && !key ? h('input', { id: 'join-password', type: 'password', maxlength: 200, required: true, autocomplete: 'off' }) : null;
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit' }, kind === 'moderate' ? 'Open the console' : 'Join');
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        button.disabled = true;
        status.replaceChildren();
        try {
          const body = { name: name.value.trim() };
          if (password) body.password = password.value;
          if (key) body.key = key;
          const joined = await api.join(slug, body);
          store.setName(body.name);
          store.setToken(slug, kind, joined.token);
          resolve({ token: joined.token, participant: joined.participant });
        } catch (err) {
          button.disabled = false;
          if (err.code === 'room_ended') return endedScreen(card);
          const text =
            err.code === 'bad_password'
              ? 'Wrong password. Check it with the person who invited you.'
              : err.code === 'room_full'
                ? 'This room is full. Try again later.'
                : err.message;
          status.replaceChildren(notice(text, 'error'));
          (password ?? name).focus();
        }
      },
    },
    h('label', { for: 'join-name' }, 'Your name'),
    name,
    password ? [h('label', { for: 'join-password' }, 'Room password'), password] : null,
    status,
    button,
  );
  document.title = `${card.title} · Podium`;
  mount(
    h(
      'main',
      { class: 'center card-page' },
      h('p', { class: 'eyebrow' }, kind === 'moderate' ? 'Moderate' : 'Webinar'),
      h('h1', {}, card.title),
      h('p', { class: 'lead' }, 'Presented by ', h('strong', {}, card.presenter_name)),
      h('p', { class: 'muted' }, card.status === 'live' ? 'Live now' : 'Not started yet: you can join and wait.'),
      form,
    ),
  );
  (name.value ? password ?? button : name).focus();
}

async function identity(card, kind, resumed) {
  if (resumed) return resumed;
  // The studio joins as the presenter with the key in its link.
  if (kind === 'present') {
    if (!key) throw new ApiError(403, 'forbidden', 'This link has no presenter key. Use the link you got when you made the room.');
    const joined = await api.join(slug, { name: card.presenter_name, key });
    store.setToken(slug, kind, joined.token);
    return { token: joined.token, participant: joined.participant };
  }
  if (kind === 'moderate' && !key) throw new ApiError(403, 'forbidden', 'This link has no moderator key.');
  return new Promise((resolve) => joinForm(card, kind, resolve));
}

async function main() {
  if (!slug) return fatal('Not found', 'There is no room at this address.');
  let card;
  // The room's card and the stored token's check go out together.
  const resumed = page === 'report' ? Promise.resolve(null) : resume(page).catch(() => null);
  try {
    card = await api.room(slug);
  } catch (e) {
    return fatal('Room not found', e.status === 404 ? 'There is no room at this address. Check the link.' : e.message);
  }
  if (page === 'report') return (await import('./report.js')).show(slug, card);
  if (card.status === 'ended') {
    if (page !== 'attend' && (store.token(slug, page) || key)) {
      location.replace(`/r/${slug}/report`);
      return;
    }
    return endedScreen(card);
  }
  const kind = { attend: 'attend', present: 'present', moderate: 'moderate' }[page];
  if (!kind) return fatal('Not found', 'There is no such page.');
  let who;
  try {
    who = await identity(card, kind, await resumed);
  } catch (e) {
    if (e.code === 'room_ended') return endedScreen(card);
    return fatal(card.title, e.message);
  }
  const view = await import(kind === 'attend' ? './attend.js' : kind === 'present' ? './studio.js' : './moderate.js');
  view.show({ slug, card, token: who.token, participant: who.participant, kind });
}

main();
