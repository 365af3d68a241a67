// The landing page: make a room, get its three links. The rooms made in
// this browser stay listed (with their links) after a reload.

import { h, mount, notice, copy } from './dom.js';
import { api, store } from './api.js';

const LIMITS = { title: 200, 'presenter-name': 60 };

function field(id, label, input, hint) {
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', described);
  return { error, nodes: [h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, error] };
}

function secretLink(url) {
  const secret = h('code', { class: 'secret', id: 'present-link', dataset: { revealed: 'false' } }, '•••••••••••••••• (secret)');
  const reveal = h('button', {
    class: 'small secondary',
    'aria-pressed': 'false',
    onclick: () => {
      const shown = secret.dataset.revealed !== 'true';
      secret.dataset.revealed = String(shown);
      secret.textContent = shown ? url : '•••••••••••••••• (secret)';
      reveal.setAttribute('aria-pressed', String(shown));
      reveal.textContent = shown ? 'Hide' : 'Show';
    },
  }, 'Show');
  return { secret, reveal };
}

function created(room) {
  const presentUrl = room.urls.present;
  const { secret, reveal } = secretLink(presentUrl);
  const row = (title, what, url, id, extra) =>
    h(
      'li',
      { class: 'link-card' },
      h('h2', {}, title),
      h('p', { class: 'muted' }, what),
      extra ?? h('code', { id }, url),
      h('div', { class: 'row' }, h('button', { class: 'small', onclick: (e) => copy(url, e.currentTarget) }, `Copy ${title.toLowerCase()}`), extra ? reveal : null),
    );
  document.title = `${room.title} · Podium`;
  mount(
    h(
      'main',
      { class: 'center wide' },
      h('h1', {}, room.title),
      h('p', { class: 'lead' }, 'Your room is ready. Share the attendee link; keep the presenter link to yourself.'),
      h(
        'ol',
        { class: 'links-list' },
        row('Attendee link', 'Anyone with this link can join by name.', room.urls.attend, 'attend-link'),
        row('Presenter link', 'Opens your studio and, afterwards, the report. Anyone with it can present and end the session: never share it.', presentUrl, 'present-link', secret),
        row('Moderator link', 'For the people who help you run the Q&A and chat.', room.urls.moderate, 'moderate-link'),
      ),
      h('div', { class: 'row' },
        h('a', { class: 'button primary', id: 'open-studio', href: presentUrl }, 'Open the studio'),
        h('a', { class: 'button secondary', href: '/' }, 'Back to your rooms')),
      h('p', { class: 'muted' }, 'This browser remembers these links: they are listed on the start page.'),
    ),
  );
}

// The rooms made in this browser, newest first.
function yourRooms() {
  const rooms = store.rooms();
  if (!rooms.length) return null;
  const list = h('ul', { class: 'your-rooms', id: 'your-rooms' });
  const render = () =>
    list.replaceChildren(
      ...store.rooms().map((r) =>
        h('li', { class: 'link-card' },
          h('h3', {}, r.title),
          h('p', { class: 'muted' }, `Made ${new Date(r.created_at).toLocaleString()}`),
          h('div', { class: 'row' },
            h('a', { class: 'button small primary', href: r.urls.present }, 'Studio'),
            h('a', { class: 'button small secondary', href: r.urls.moderate }, 'Moderate'),
            h('button', { class: 'small', onclick: (e) => copy(r.urls.attend, e.currentTarget) }, 'Copy attendee link'),
            h('a', { class: 'button small secondary', href: `/r/${r.slug}/report${new URL(r.urls.present).hash}` }, 'Report'),
            h('button', {
              class: 'small danger',
              'aria-label': `Forget ${r.title} in this browser`,
              onclick: () => {
                if (!window.confirm(`Forget “${r.title}” in this browser? Its links will not be shown here any more; the room itself stays.`)) return;
                store.forgetRoom(r.slug);
                render();
              },
            }, 'Forget'))),
      ),
    );
  render();
  return h('section', { 'aria-labelledby': 'your-rooms-title' }, h('h2', { id: 'your-rooms-title' }, 'Your rooms'), list);
}

// What a room keeps, and for how long (the server's --retention-days).
function privacyLine() {
  const line = h('p', { class: 'muted', id: 'privacy-line' },
    'Podium keeps attendees’ names, chat, questions and poll votes only for a while after a session ends, then erases them; only the numbers stay.');
  fetch('/api/health').then((r) => r.json()).then((h) => {
    if (h.retention_days != null) {
      line.textContent = `Podium keeps attendees’ names, chat, questions and poll votes (and recordings, if you record) until ${h.retention_days} days after a session ends, then erases them; only the numbers stay. Nothing is recorded unless you switch recording on, and everyone is told when it is. You can erase a session’s data sooner from its report.`;
    }
  }).catch(() => {});
  return line;
}

function form() {
  const title = h('input', { id: 'title', required: true });
  const name = h('input', { id: 'presenter-name', required: true, autocomplete: 'nickname', value: store.name() });
  const password = h('input', { id: 'password', type: 'password', autocomplete: 'new-password' });
  const limit = h('input', { id: 'limit', type: 'number', min: 1, max: 100000, inputmode: 'numeric' });
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create room');
  const fields = {
    title: field('title', 'Title', title),
    'presenter-name': field('presenter-name', 'Your name', name),
    password: field('password', 'Room password (optional)', password, 'Attendees need it to join.'),
    limit: field('limit', 'Attendee limit (optional)', limit, 'Joins beyond it are refused.'),
  };
  const check = (id, input, empty) => {
    const n = [...input.value.trim()].length;
    const max = LIMITS[id];
    const text = n === 0 ? (empty ? empty : '') : n > max ? `Too long: use at most ${max} characters (it has ${n}).` : '';
    fields[id].error.textContent = text;
    input.setAttribute('aria-invalid', String(Boolean(text)));
    return !text && n > 0;
  };
  title.addEventListener('input', () => check('title', title));
  name.addEventListener('input', () => check('presenter-name', name));
  mount(
    h(
      'main',
      { class: 'center' },
      h('p', { class: 'eyebrow' }, 'Podium'),
      h('h1', {}, 'Host a webinar'),
      h('p', { class: 'lead' }, 'Camera, screen, chat and questions with votes. No accounts: attendees join by name.'),
      privacyLine(),
      h(
        'form',
        {
          class: 'stack',
          novalidate: true,
          onsubmit: async (e) => {
            e.preventDefault();
            status.replaceChildren();
            const okTitle = check('title', title, 'Please enter a title.');
            const okName = check('presenter-name', name, 'Please enter your name.');
            if (!okTitle) return title.focus();
            if (!okName) return name.focus();
            button.disabled = true;
            try {
              const body = { title: title.value.trim(), presenter_name: name.value.trim() };
              if (password.value) body.password = password.value;
              if (limit.value) body.max_participants = Number(limit.value);
              const room = await api.createRoom(body);
              store.setName(body.presenter_name);
              store.addRoom({ slug: room.slug, title: room.title, urls: room.urls, created_at: room.room?.created_at ?? new Date().toISOString() });
              created(room);
            } catch (err) {
              button.disabled = false;
              status.replaceChildren(notice(err.message, 'error'));
            }
          },
        },
        Object.values(fields).map((f) => f.nodes),
        status,
        button,
      ),
      yourRooms(),
    ),
  );
  title.focus();
}

form();
