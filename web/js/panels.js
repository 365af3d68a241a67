// The chat and Q&A panels shared by every page, with the moderator controls
// shown to moderators and the presenter. State comes from the live session
// (welcome snapshot + events); actions go back through it.

import { h, time, notice } from './dom.js';
import { clientId } from './live.js';

const STAFF = new Set(['moderator', 'presenter']);

export class RoomState {
  constructor() {
    this.me = null;
    this.room = null;
    this.messages = [];
    this.questions = new Map();
    this.myVotes = new Set();
    this.participants = new Map();
    this.count = 0;
    this.media = { live: false, screen: false };
  }

  get staff() {
    return STAFF.has(this.me?.role);
  }

  // Keeps the state current; call before building panels, so they render
  // what the state already holds.
  attach(live) {
    live.addEventListener('welcome', (e) => this.welcome(e.detail));
    live.addEventListener('room.updated', (e) => (this.room = e.detail.room));
    live.addEventListener('presence', (e) => (this.count = e.detail.count));
    live.addEventListener('media.state', (e) => (this.media = { live: e.detail.live, screen: e.detail.screen }));
    return this;
  }

  welcome(w) {
    this.me = w.participant;
    this.room = w.room;
    this.messages = w.messages;
    this.questions = new Map(w.questions.map((q) => [q.id, q]));
    this.myVotes = new Set(w.questions.filter((q) => q.voted_by_me).map((q) => q.id));
    this.participants = new Map((w.participants ?? []).map((p) => [p.id, p]));
    this.count = w.presence.count;
    this.media = w.media;
  }
}

function errorLine(host, e) {
  host.replaceChildren(notice(e.message, 'error'));
  setTimeout(() => host.replaceChildren(), 5000);
}

export function chatPanel(live, state) {
  const list = h('ol', { class: 'chat-list', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
  const input = h('input', { id: 'chat-input', maxlength: 2000, autocomplete: 'off', required: true });
  const status = h('div', { class: 'panel-status' });
  const form = h(
    'form',
    { class: 'composer', onsubmit: (e) => send(e) },
    h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Chat message'),
    input,
    h('button', { type: 'submit' }, 'Send'),
  );
  const off = h('p', { class: 'muted', hidden: true }, 'Chat is turned off.');
  const root = h('section', { class: 'panel chat', 'aria-label': 'Chat' }, list, off, status, form);

  async function send(e) {
    e.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    try {
      await live.request('chat.send', { body, client_id: clientId() });
      input.value = '';
    } catch (err) {
      errorLine(status, err);
    }
  }

  function item(m) {
    const controls = state.staff
      ? h(
          'span',
          { class: 'controls' },
          h('button', { class: 'small', onclick: () => act('chat.promote', m.id), 'aria-label': `Make a question of ${m.name}'s message` }, 'To Q&A'),
          h('button', { class: 'small danger', onclick: () => act('chat.delete', m.id), 'aria-label': `Delete ${m.name}'s message` }, 'Delete'),
        )
      : null;
    return h(
      'li',
      { dataset: { id: m.id } },
      h('span', { class: 'who' }, m.name, m.role !== 'attendee' ? h('span', { class: `badge ${m.role}` }, m.role) : null),
      h('time', { datetime: m.created_at }, time(m.created_at)),
      h('p', { class: 'body' }, m.body),
      controls,
    );
  }

  async function act(type, id) {
    try {
      await live.request(type, { id });
    } catch (err) {
      errorLine(status, err);
    }
  }

  // Keeps the view pinned to the newest message only when the reader is
  // already there, so arriving messages never yank a scrolled list.
  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function render() {
    const stick = atBottom();
    list.replaceChildren(...state.messages.map(item));
    if (stick) list.scrollTop = list.scrollHeight;
    settings();
  }

  function settings() {
    const enabled = state.room?.settings?.chat_enabled !== false || state.staff;
    form.hidden = !enabled;
    off.hidden = enabled;
  }

  live.addEventListener('welcome', () => {
    render();
    list.scrollTop = list.scrollHeight;
  });
  live.addEventListener('chat.message', (e) => {
    const stick = atBottom();
    state.messages.push(e.detail.message);
    list.append(item(e.detail.message));
    if (stick) list.scrollTop = list.scrollHeight;
  });
  live.addEventListener('chat.deleted', (e) => {
    state.messages = state.messages.filter((m) => m.id !== e.detail.id);
    list.querySelector(`[data-id="${Number(e.detail.id)}"]`)?.remove();
  });
  live.addEventListener('room.updated', settings);
  return root;
}

export function qaPanel(live, state) {
  let sort = 'top';
  const list = h('ol', { class: 'qa-list', 'aria-label': 'Questions' });
  const status = h('div', { class: 'panel-status' });
  const input = h('textarea', { id: 'question-input', maxlength: 1000, rows: 2, required: true });
  const anon = h('input', { type: 'checkbox', id: 'question-anon' });
  const anonLabel = h('label', { for: 'question-anon', class: 'check' }, anon, 'Ask anonymously');
  const form = h(
    'form',
    { class: 'composer ask', onsubmit: (e) => ask(e) },
    h('label', { for: 'question-input', class: 'visually-hidden' }, 'Your question'),
    input,
    h('div', { class: 'row' }, anonLabel, h('button', { type: 'submit' }, 'Ask')),
  );
  const sortTop = h('button', { class: 'tab', 'aria-pressed': 'true', onclick: () => setSort('top') }, 'Top');
  const sortNew = h('button', { class: 'tab', 'aria-pressed': 'false', onclick: () => setSort('new') }, 'New');
  const off = h('p', { class: 'muted', hidden: true }, 'Questions are turned off.');
  const root = h(
    'section',
    { class: 'panel qa', 'aria-label': 'Questions and answers' },
    h('div', { class: 'sort', role: 'group', 'aria-label': 'Sort questions' }, sortTop, sortNew),
    list,
    off,
    status,
    form,
  );

  function setSort(s) {
    sort = s;
    sortTop.setAttribute('aria-pressed', String(s === 'top'));
    sortNew.setAttribute('aria-pressed', String(s === 'new'));
    render();
  }

  async function ask(e) {
    e.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    try {
      await live.request('question.ask', { body, anonymous: anon.checked, client_id: clientId() });
      input.value = '';
    } catch (err) {
      errorLine(status, err);
    }
  }

  async function act(type, fields) {
    try {
      return await live.request(type, fields);
    } catch (err) {
      errorLine(status, err);
      return null;
    }
  }

  async function toggleVote(q) {
    const voted = state.myVotes.has(q.id);
    const r = await act(voted ? 'question.unvote' : 'question.vote', { id: q.id });
    if (r) voted_(q.id, r.votes, r.voted_by_me);
  }

  function voted_(id, votes, mine) {
    const q = state.questions.get(id);
    if (!q) return;
    q.votes = votes;
    if (mine) state.myVotes.add(id);
    else state.myVotes.delete(id);
    render();
  }

  // The contract's `top` order: pinned, then open before answered, then
  // votes, then oldest.
  function ordered() {
    const qs = [...state.questions.values()];
    if (sort === 'new') return qs.sort((a, b) => b.id - a.id);
    return qs.sort(
      (a, b) =>
        Number(b.pinned) - Number(a.pinned) ||
        Number(a.answered) - Number(b.answered) ||
        b.votes - a.votes ||
        a.id - b.id,
    );
  }

  function answerEditor(q, li) {
    const box = h('textarea', { maxlength: 5000, rows: 3, 'aria-label': 'Answer', value: q.answer ?? '' });
    const save = h('button', {
      onclick: async () => {
        if (await act('question.update', { id: q.id, answer: box.value, answered: true })) editor.remove();
      },
    }, 'Save answer');
    const editor = h('div', { class: 'answer-editor' }, box, save, h('button', { class: 'secondary', onclick: () => editor.remove() }, 'Cancel'));
    li.append(editor);
    box.focus();
  }

  function item(q) {
    const mine = state.myVotes.has(q.id);
    const badges = [
      q.pinned ? h('span', { class: 'badge pinned' }, 'Pinned') : null,
      q.answered ? h('span', { class: 'badge answered' }, 'Answered') : null,
      q.status === 'pending' ? h('span', { class: 'badge pending' }, 'Awaiting approval') : null,
      q.hidden ? h('span', { class: 'badge hidden' }, 'Hidden') : null,
    ];
    const li = h(
      'li',
      { dataset: { id: q.id }, class: [q.pinned && 'is-pinned', q.answered && 'is-answered', q.hidden && 'is-hidden'].filter(Boolean).join(' ') },
      h(
        'button',
        {
          class: 'vote',
          'aria-pressed': String(mine),
          'aria-label': `${mine ? 'Remove your vote' : 'Vote'} (${q.votes} votes)`,
          onclick: () => toggleVote(q),
        },
        h('span', { class: 'arrow', 'aria-hidden': 'true' }, '▲'),
        h('span', { class: 'count' }, String(q.votes)),
      ),
      h(
        'div',
        { class: 'q' },
        h('p', { class: 'body' }, q.body),
        h('p', { class: 'meta' }, q.author_name ?? 'Anonymous', ' · ', time(q.created_at), ...badges),
        q.answer ? h('p', { class: 'answer' }, h('strong', {}, 'Answer: '), q.answer) : null,
      ),
    );
    if (state.staff) {
      const b = (label, fields, extra = {}) =>
        h('button', { class: 'small', onclick: () => act('question.update', { id: q.id, ...fields }), ...extra }, label);
      li.append(
        h(
          'div',
          { class: 'controls' },
          q.status === 'pending' ? b('Approve', { approved: true }) : null,
          b(q.pinned ? 'Unpin' : 'Pin', { pinned: !q.pinned }),
          h('button', { class: 'small', onclick: () => answerEditor(q, li) }, 'Answer'),
          b(q.answered ? 'Reopen' : 'Mark answered', { answered: !q.answered }),
          b(q.hidden ? 'Unhide' : 'Hide', { hidden: !q.hidden }, { class: 'small danger' }),
        ),
      );
    }
    return li;
  }

  function render() {
    list.replaceChildren(...ordered().map(item));
    settings();
  }

  function settings() {
    const s = state.room?.settings ?? {};
    const enabled = s.questions_enabled !== false || state.staff;
    form.hidden = !enabled;
    off.hidden = enabled;
    anonLabel.hidden = s.anonymous_questions === false;
    if (anonLabel.hidden) anon.checked = false;
  }

  live.addEventListener('welcome', render);
  const merge = (q) => {
    const old = state.questions.get(q.id);
    // Broadcasts leave out voted_by_me; ours is kept from the last reply.
    state.questions.set(q.id, { ...old, ...q });
  };
  const put = (e) => {
    merge(e.detail.question);
    render();
  };
  live.addEventListener('question.created', (e) => {
    if (e.detail.question.voted_by_me) state.myVotes.add(e.detail.question.id);
    put(e);
  });
  live.addEventListener('question.updated', put);
  live.addEventListener('questions.updated', (e) => {
    e.detail.questions.forEach(merge);
    render();
  });
  live.addEventListener('question.removed', (e) => {
    state.questions.delete(e.detail.id);
    render();
  });
  live.addEventListener('question.voted', (e) => voted_(e.detail.id, e.detail.votes, e.detail.voted_by_me));
  live.addEventListener('room.updated', render);
  return root;
}

// Tabs for the side panels: one visible at a time on a phone and a desktop.
export function tabs(panels) {
  const buttons = panels.map(([label, panel], i) =>
    h('button', {
      role: 'tab',
      id: `tab-${label.toLowerCase().replace(/\W+/g, '-')}`,
      'aria-selected': String(i === 0),
      onclick: () => select(i),
    }, label),
  );
  panels.forEach(([, panel], i) => {
    panel.setAttribute('role', 'tabpanel');
    panel.hidden = i !== 0;
  });
  function select(i) {
    buttons.forEach((b, j) => b.setAttribute('aria-selected', String(i === j)));
    panels.forEach(([, p], j) => (p.hidden = i !== j));
  }
  return h('div', { class: 'side' }, h('div', { class: 'tabs', role: 'tablist' }, buttons), panels.map(([, p]) => p));
}

export function participantsPanel(live, state) {
  const list = h('ul', { class: 'people', 'aria-label': 'Participants' });
  const status = h('div', { class: 'panel-status' });
  function render() {
    const people = [...state.participants.values()].sort((a, b) => a.name.localeCompare(b.name));
    list.replaceChildren(
      ...people.map((p) =>
        h(
          'li',
          { dataset: { id: p.id } },
          h('span', { class: 'who' }, p.name, p.role !== 'attendee' ? h('span', { class: `badge ${p.role}` }, p.role) : null),
          p.role === 'attendee'
            ? h('button', {
                class: 'small danger',
                'aria-label': `Remove ${p.name}`,
                onclick: async () => {
                  if (!window.confirm(`Remove ${p.name} from the room?`)) return;
                  try {
                    await live.request('participant.kick', { id: p.id });
                  } catch (e) {
                    errorLine(status, e);
                  }
                },
              }, 'Remove')
            : null,
        ),
      ),
    );
  }
  live.addEventListener('welcome', render);
  live.addEventListener('participant.joined', (e) => {
    state.participants.set(e.detail.participant.id, e.detail.participant);
    render();
  });
  live.addEventListener('participant.left', (e) => {
    state.participants.delete(e.detail.id);
    render();
  });
  // Several arrivals and departures at once, in one frame.
  live.addEventListener('participants.updated', (e) => {
    for (const p of e.detail.joined) state.participants.set(p.id, p);
    for (const id of e.detail.left) state.participants.delete(id);
    render();
  });
  return h('section', { class: 'panel people-panel', 'aria-label': 'Participants' }, status, list);
}

export function settingsPanel(live, state) {
  const fields = [
    ['chat_enabled', 'Chat'],
    ['questions_enabled', 'Questions'],
    ['anonymous_questions', 'Anonymous questions'],
    ['questions_need_approval', 'Approve questions before they are shown'],
  ];
  const status = h('div', { class: 'panel-status' });
  const boxes = fields.map(([key, label]) => {
    const box = h('input', {
      type: 'checkbox',
      id: `setting-${key}`,
      onchange: async () => {
        try {
          await live.request('room.update', { settings: { [key]: box.checked } });
        } catch (e) {
          box.checked = !box.checked;
          errorLine(status, e);
        }
      },
    });
    return [key, box, h('label', { for: `setting-${key}`, class: 'check' }, box, label)];
  });
  function render() {
    for (const [key, box] of boxes) box.checked = Boolean(state.room?.settings?.[key]);
  }
  live.addEventListener('welcome', render);
  live.addEventListener('room.updated', render);
  return h('section', { class: 'panel settings', 'aria-label': 'Room settings' }, boxes.map((b) => b[2]), status);
}

