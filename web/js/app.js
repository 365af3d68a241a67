// The room pages: /r/{slug} (attend), /r/{slug}/present (studio),
// /r/{slug}/moderate (console) and /r/{slug}/report. This file finds the
// page, gets a participant token (stored, or by joining) and hands over.

import { api, store, ApiError } from './api.js';
import { h, mount, notice } from './dom.js';
import { endedScreen, fatal } from './screens.js';
import { removedScreen } from './shell.js';

const [, rawSlug, page = 'attend'] = location.pathname.split('/').filter(Boolean);
const slug = rawSlug?.toLowerCase();
const key = new URLSearchParams(location.hash.slice(1)).get('key');
const NAME_MAX = 60;

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
// password field only when the room has one. A problem is said next to
// its field, and goes once the field is fixed.
function joinForm(card, kind, resolve) {
  const name = h('input', { id: 'join-name', required: true, autocomplete: 'nickname', value: store.name(), 'aria-describedby': 'join-name-error' });
  const nameError = h('p', { class: 'field-error', id: 'join-name-error', 'aria-live': 'polite' });
  const password = card.has_password && !key
    ? h('input', { id: 'join-password', type: 'password', required: true, autocomplete: 'off', 'aria-describedby': 'join-password-error' })
    : null;
  const passwordError = h('p', { class: 'field-error', id: 'join-password-error', 'aria-live': 'polite' });
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit' }, kind === 'moderate' ? 'Open the console' : 'Join');
  const fieldError = (input, line, text) => {
    line.textContent = text ?? '';
    input.setAttribute('aria-invalid', String(Boolean(text)));
  };
  const checkName = () => {
    const n = [...name.value.trim()].length;
    fieldError(name, nameError, n > NAME_MAX ? `Your name is too long: use at most ${NAME_MAX} characters (it has ${n}).` : null);
    return n > 0 && n <= NAME_MAX;
  };
  name.addEventListener('input', () => {
    checkName();
    status.replaceChildren();
  });
  password?.addEventListener('input', () => {
    fieldError(password, passwordError, null);
    status.replaceChildren();
  });
  const form = h(
    'form',
    {
      class: 'stack',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren();
        if (!name.value.trim()) {
          fieldError(name, nameError, 'Please enter your name.');
          return name.focus();
        }
        if (!checkName()) return name.focus();
        if (password && !password.value) {
          fieldError(password, passwordError, 'Please enter the room password.');
          return password.focus();
        }
        button.disabled = true;
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
          if (err.code === 'forbidden' && /removed/.test(err.message)) {
            store.setRemoved(slug);
            return removedScreen(card);
          }
          if (err.code === 'bad_password' && password) {
            fieldError(password, passwordError, 'Wrong password. Check it with the person who invited you.');
            password.select();
            return password.focus();
          }
          const text = err.code === 'room_full' ? 'This room is full. Please try again later.' : err.message;
          status.replaceChildren(notice(text, 'error'));
          if (err.code === 'invalid_input') name.focus();
        }
      },
    },
    h('label', { for: 'join-name' }, 'Your name'),
    name,
    nameError,
    password ? [h('label', { for: 'join-password' }, 'Room password'), password, passwordError] : null,
    status,
    button,
  );
  const locked = card.settings?.locked && !key;
  document.title = `${card.title} · Podium`;
  mount(
    h(
      'main',
      { class: 'center card-page' },
      h('p', { class: 'eyebrow' }, kind === 'moderate' ? 'Moderate' : 'Webinar'),
      h('h1', {}, card.title),
      h('p', { class: 'lead' }, 'Presented by ', h('strong', {}, card.presenter_name)),
      locked
        ? notice('This room is locked: the moderators are not letting new people in right now. Try again later.', 'error')
        : [h('p', { class: 'muted' }, card.status === 'live' ? 'Live now.' : 'Not started yet: you can join and wait.'), form,
            card.settings?.recording
              ? h('p', { class: 'notice', id: 'recording-line', role: 'note' }, h('span', { class: 'rec-dot' }, 'Recording'),
                ' This session is recorded: the presenter\'s camera and microphone, shared screens and anyone on stage. The recording is kept with the room\'s data.')
              : null,
            h('p', { class: 'muted small', id: 'privacy-line' },
              `This room keeps your name, messages, questions and poll votes${card.settings?.recording ? ' and its recordings' : ''} until ${card.retention_days ?? 30} days after it ends, then erases them; only its numbers stay.`)],
    ),
  );
  if (!locked) (name.value ? password ?? button : name).focus();
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
  if (kind === 'moderate' && !key) throw new ApiError(403, 'forbidden', 'This link has no moderator key. Ask the presenter for the moderator link.');
  if (kind === 'attend' && store.removed(slug)) return null;
  return new Promise((resolve) => joinForm(card, kind, resolve));
}

async function main() {
  if (!slug) return fatal('Not found', 'There is no room at this address.');
  // Links work in any case; the page keeps the one spelling the server uses.
  if (rawSlug !== slug) {
    location.replace(location.pathname.replace(rawSlug, slug) + location.hash);
    return;
  }
  let card;
  // The room's card and the stored token's check go out together.
  const resumed = page === 'report' || page === 'replay' ? Promise.resolve(null) : resume(page).catch(() => null);
  try {
    card = await api.room(slug);
  } catch (e) {
    return fatal('No such room', e.status === 404 ? 'There is no room at this address. Check that the link was copied whole.' : e.message);
  }
  if (page === 'report') return (await import('./report.js')).show(slug, card);
  if (page === 'replay') return (await import('./replay.js')).show(slug, card);
  if (card.status === 'ended') {
    // The presenter's and moderators' links open the report from any
    // browser: the key in the link is what reads it.
    if (page !== 'attend' && (key || store.token(slug, page))) {
      location.replace(`/r/${slug}/report${location.hash}`);
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
  if (!who) return removedScreen(card);
  const view = await import(kind === 'attend' ? './attend.js' : kind === 'present' ? './studio.js' : './moderate.js');
  view.show({ slug, card, token: who.token, participant: who.participant, kind });
}

main();
