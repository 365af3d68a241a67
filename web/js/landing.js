// The landing page: make a room, get its three links.

import { h, mount, notice, copy } from './dom.js';
import { api, store } from './api.js';

function field(id, label, input, hint) {
  return [h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null];
}

function created(room) {
  store.setLinks(room.slug, room.urls);
  const presentUrl = room.urls.present;
  const secret = h('code', { class: 'secret', id: 'present-link', dataset: { revealed: 'false' } }, '•••••••••••••••• (secret)');
  const reveal = h('button', {
    class: 'small secondary',
    'aria-pressed': 'false',
    onclick: () => {
      const shown = secret.dataset.revealed !== 'true';
      secret.dataset.revealed = String(shown);
      secret.textContent = shown ? presentUrl : '•••••••••••••••• (secret)';
      reveal.setAttribute('aria-pressed', String(shown));
      reveal.textContent = shown ? 'Hide' : 'Show';
    },
  }, 'Show');
  const row = (title, what, url, id, extra) =>
    h(
      'li',
      { class: 'link-card' },
      h('h2', {}, title),
      h('p', { class: 'muted' }, what),
      extra ?? h('code', { id }, url),
      h('div', { class: 'row' }, h('button', { class: 'small', onclick: (e) => copy(url, e.currentTarget) }, 'Copy'), extra ? reveal : null),
    );
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
        row('Presenter link', 'Opens your studio. Anyone with it can present and end the session: never share it.', presentUrl, 'present-link', secret),
        row('Moderator link', 'For the people who help you run the Q&A and chat.', room.urls.moderate, 'moderate-link'),
      ),
      h('a', { class: 'button primary', id: 'open-studio', href: presentUrl }, 'Open the studio'),
    ),
  );
}

function form() {
  const title = h('input', { id: 'title', maxlength: 200, required: true });
  const name = h('input', { id: 'presenter-name', maxlength: 60, required: true, autocomplete: 'nickname', value: store.name() });
  const password = h('input', { id: 'password', type: 'password', maxlength: 200, autocomplete: 'new-password', 'aria-describedby': 'password-hint' });
  const limit = h('input', { id: 'limit', type: 'number', min: 1, max: 100000, inputmode: 'numeric', 'aria-describedby': 'limit-hint' });
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create room');
  mount(
    h(
      'main',
      { class: 'center' },
      h('p', { class: 'eyebrow' }, 'Podium'),
      h('h1', {}, 'Host a webinar'),
      h('p', { class: 'lead' }, 'Camera, screen, chat and questions with votes. No accounts: attendees join by name.'),
      h(
        'form',
        {
          class: 'stack',
          onsubmit: async (e) => {
            e.preventDefault();
            button.disabled = true;
            status.replaceChildren();
            try {
              const body = { title: title.value.trim(), presenter_name: name.value.trim() };
              if (password.value) body.password = password.value;
              if (limit.value) body.max_participants = Number(limit.value);
              const room = await api.createRoom(body);
              store.setName(body.presenter_name);
              created(room);
            } catch (err) {
              button.disabled = false;
              status.replaceChildren(notice(err.message, 'error'));
            }
          },
        },
        field('title', 'Title', title),
        field('presenter-name', 'Your name', name),
        field('password', 'Room password (optional)', password, 'Attendees need it to join.'),
        field('limit', 'Attendee limit (optional)', limit, 'Joins beyond it are refused.'),
        status,
        button,
      ),
    ),
  );
  title.focus();
}

form();
