// The panels every live page shares: chat, Q&A, people and settings, with
// the moderator controls shown to moderators and the presenter. They only
// render the room state (state.js) and send actions through the live
// session; they keep no room data of their own.

import { h, time, notice } from './dom.js';
import { clientId } from './live.js';

export { RoomState } from './state.js';

export function errorLine(host, e) {
  host.replaceChildren(notice(e.message, 'error'));
  setTimeout(() => host.replaceChildren(), 5000);
}

// Sends an action, showing why it failed in `status`; resolves with the
// result, or null on failure.
export async function act(live, status, type, fields) {
  try {
    return await live.request(type, fields);
  } catch (err) {
    errorLine(status, err);
    return null;
  }
}

// A live character count for a text box, shown only when near the limit.
function limitHint(input, max, id) {
  const hint = h('p', { class: 'hint', id, 'aria-live': 'polite', hidden: true });
  input.setAttribute('aria-describedby', id);
  input.addEventListener('input', () => {
    const n = [...input.value].length;
    hint.hidden = n < max * 0.9;
    hint.textContent = n > max ? `Too long by ${n - max} characters (at most ${max}).` : `${max - n} characters left.`;
    hint.classList.toggle('error', n > max);
  });
  return hint;
}

// `onNew(message)` hears of each message others send, for unread counts.
export function chatPanel(live, state, { onNew } = {}) {
  const list = h('ol', { class: 'chat-list', 'aria-live': 'polite', 'aria-label': 'Chat messages', tabindex: 0 });
  const empty = h('p', { class: 'empty muted' }, 'No messages yet. Say hello to the room below.');
  const input = h('input', { id: 'chat-input', autocomplete: 'off', placeholder: 'Write a message…' });
  const hint = limitHint(input, 2000, 'chat-input-hint');
  const status = h('div', { class: 'panel-status' });
  const form = h(
    'form',
    { class: 'composer', onsubmit: (e) => send(e) },
    h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Message to everyone'),
    input,
    h('button', { type: 'submit' }, 'Send'),
  );
  const off = h('p', { class: 'muted', hidden: true }, 'The moderators turned chat off.');
  const root = h('section', { class: 'panel chat', 'aria-label': 'Chat' }, list, empty, off, status, hint, form);

  async function send(e) {
    e.preventDefault();
    const body = input.value.trim();
    if (!body) return errorLine(status, new Error('Please write a message first.'));
    if ([...body].length > 2000) return errorLine(status, new Error('Your message is too long: use at most 2000 characters.'));
    if (await act(live, status, 'chat.send', { body, client_id: clientId() })) {
      input.value = '';
      input.dispatchEvent(new Event('input'));
    }
  }

  function item(m) {
    const promoted = state.promoted.has(m.id);
    const controls = state.staff
      ? h(
          'span',
          { class: 'controls' },
          promoted
            ? null
            : h('button', { class: 'small', onclick: () => act(live, status, 'chat.promote', { id: m.id }), 'aria-label': `Make ${m.name}'s message a question` }, 'To Q&A'),
          h('span', { class: 'spacer' }),
          h('button', {
            class: 'small danger',
            'aria-label': `Delete ${m.name}'s message`,
            onclick: () => {
              if (window.confirm(`Delete this message from ${m.name} for everyone?`)) act(live, status, 'chat.delete', { id: m.id });
            },
          }, 'Delete'),
        )
      : null;
    return h(
      'li',
      { dataset: { id: m.id }, class: promoted ? 'is-promoted' : null },
      h('span', { class: 'who' }, m.name, m.role !== 'attendee' ? h('span', { class: `badge ${m.role}` }, m.role) : null,
        promoted ? h('span', { class: 'badge promoted', title: 'This message is now a question in Q&A' }, 'In Q&A') : null),
      h('time', { datetime: m.created_at }, time(m.created_at)),
      h('p', { class: 'body' }, m.body),
      controls,
    );
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
    empty.hidden = state.messages.length > 0;
    const enabled = state.room?.settings?.chat_enabled !== false || state.staff;
    form.hidden = !enabled;
    off.hidden = enabled;
  }

  state.watch(['welcome'], () => {
    render();
    list.scrollTop = list.scrollHeight;
  });
  state.watch(['chat.deleted', 'room.updated', 'question.created', 'question.removed'], render);
  state.watch(['chat.message'], ({ message }) => {
    const stick = atBottom();
    if (!list.querySelector(`[data-id="${Number(message.id)}"]`)) list.append(item(message));
    empty.hidden = true;
    if (stick) list.scrollTop = list.scrollHeight;
    if (message.participant_id !== state.me?.id) onNew?.(message);
  });
  return root;
}

// `canAsk`: whether this page offers the Ask box (not the presenter's).
export function qaPanel(live, state, { canAsk = true } = {}) {
  let sort = 'top';
  let filter = 'all';
  const list = h('ol', { class: 'qa-list', 'aria-label': 'Questions', tabindex: 0 });
  const empty = h('p', { class: 'empty muted' });
  const status = h('div', { class: 'panel-status' });
  const input = h('textarea', { id: 'question-input', rows: 2, placeholder: 'Ask the presenter a question…' });
  const hint = limitHint(input, 1000, 'question-input-hint');
  const anon = h('input', { type: 'checkbox', id: 'question-anon' });
  const anonLabel = h('label', { for: 'question-anon', class: 'check' }, anon, 'Ask anonymously');
  const form = canAsk
    ? h(
        'form',
        { class: 'composer ask', onsubmit: (e) => ask(e) },
        h('label', { for: 'question-input', class: 'visually-hidden' }, 'Your question'),
        input,
        hint,
        h('div', { class: 'row' }, anonLabel, h('button', { type: 'submit' }, 'Ask')),
      )
    : null;
  const toggle = (label, pressed, onclick, id) => h('button', { class: 'tab', id, 'aria-pressed': String(pressed), onclick }, label);
  const sortTop = toggle('Top', true, () => setSort('top'));
  const sortNew = toggle('New', false, () => setSort('new'));
  const showAll = toggle('All', true, () => setFilter('all'), 'qa-filter-all');
  const showPending = toggle('Awaiting approval', false, () => setFilter('pending'), 'qa-filter-pending');
  const filters = h('div', { class: 'sort filters', role: 'group', 'aria-label': 'Show questions', hidden: true }, showAll, showPending);
  const off = h('p', { class: 'muted', hidden: true }, 'The moderators turned questions off.');
  const root = h(
    'section',
    { class: 'panel qa', 'aria-label': 'Questions and answers' },
    h('div', { class: 'qa-tools' },
      h('div', { class: 'sort', role: 'group', 'aria-label': 'Sort questions' }, sortTop, sortNew),
      filters),
    list,
    empty,
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

  function setFilter(f) {
    filter = f;
    showAll.setAttribute('aria-pressed', String(f === 'all'));
    showPending.setAttribute('aria-pressed', String(f === 'pending'));
    render();
  }

  async function ask(e) {
    e.preventDefault();
    const body = input.value.trim();
    if (!body) return errorLine(status, new Error('Please write your question first.'));
    if ([...body].length > 1000) return errorLine(status, new Error('Your question is too long: use at most 1000 characters.'));
    if (await act(live, status, 'question.ask', { body, anonymous: anon.checked, client_id: clientId() })) {
      input.value = '';
      input.dispatchEvent(new Event('input'));
    }
  }

  // The vote's exact count comes back as `question.voted`, to this page.
  function toggleVote(q) {
    act(live, status, state.myVotes.has(q.id) ? 'question.unvote' : 'question.vote', { id: q.id });
  }

  // The contract's `top` order: pinned, then open before answered, then
  // votes, then oldest.
  function ordered() {
    let qs = [...state.questions.values()];
    if (filter === 'pending') qs = qs.filter((q) => q.status === 'pending');
    if (sort === 'new') return qs.sort((a, b) => b.id - a.id);
    return qs.sort(
      (a, b) =>
        Number(b.pinned) - Number(a.pinned) ||
        Number(a.answered) - Number(b.answered) ||
        b.votes - a.votes ||
        a.id - b.id,
    );
  }

  // One place to answer: write an answer, or mark it answered live.
  // The answer being written ({id, text}), kept across re-renders: the
  // list is redrawn whenever any question or the room changes, and a
  // moderator's half-written answer must not go with it.
  let editing = null;

  function answerEditor(q, li, { focus = true } = {}) {
    li.querySelector('.answer-editor')?.remove();
    const text = editing?.id === q.id ? editing.text : q.answer ?? '';
    editing = { id: q.id, text };
    const box = h('textarea', { maxlength: 5000, rows: 3, 'aria-label': `Answer to: ${q.body}`, value: text, placeholder: 'Write the answer attendees will read…' });
    box.addEventListener('input', () => (editing = { id: q.id, text: box.value }));
    const done = () => {
      editing = null;
      editor.remove();
    };
    const editor = h(
      'div',
      { class: 'answer-editor' },
      box,
      h('div', { class: 'row' },
        h('button', { class: 'small primary', onclick: async () => (await act(live, status, 'question.update', { id: q.id, answer: box.value, answered: true })) && done() }, 'Save answer'),
        q.answered ? null : h('button', { class: 'small', onclick: async () => (await act(live, status, 'question.update', { id: q.id, answered: true })) && done() }, 'Answered live, no text'),
        h('button', { class: 'small secondary', onclick: done }, 'Cancel')),
    );
    li.append(editor);
    if (focus) box.focus();
    return box;
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
      { dataset: { id: q.id }, class: [q.pinned && 'is-pinned', q.answered && 'is-answered', q.hidden && 'is-hidden', q.status === 'pending' && 'is-pending'].filter(Boolean).join(' ') },
      h(
        'button',
        { class: 'vote', 'aria-pressed': String(mine), onclick: () => toggleVote(q) },
        h('span', { class: 'arrow', 'aria-hidden': 'true' }, '▲'),
        h('span', { class: 'votes' }, String(q.votes)),
        // The name read out is the count a sighted reader sees, and what a press does.
        h('span', { class: 'visually-hidden' }, ` ${q.votes === 1 ? 'vote' : 'votes'}: ${mine ? 'remove your vote' : 'vote for this question'}`),
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
        h('button', { class: 'small', onclick: () => act(live, status, 'question.update', { id: q.id, ...fields }), ...extra }, label);
      li.append(
        h(
          'div',
          { class: 'controls' },
          q.status === 'pending' ? b('Approve', { approved: true }, { class: 'small primary' }) : null,
          b(q.pinned ? 'Unpin' : 'Pin', { pinned: !q.pinned }),
          h('button', { class: 'small', onclick: () => answerEditor(q, li) }, q.answer ? 'Edit answer' : 'Answer'),
          q.answered ? b('Reopen', { answered: false }) : null,
          h('span', { class: 'spacer' }),
          b(q.hidden ? 'Unhide' : 'Hide', { hidden: !q.hidden }, { class: 'small danger' }),
        ),
      );
    }
    return li;
  }

  function render() {
    const shown = ordered();
    const typing = document.activeElement?.closest?.('.answer-editor') != null;
    list.replaceChildren(...shown.map(item));
    if (editing) {
      const q = state.questions.get(editing.id);
      const li = q && list.querySelector(`li[data-id="${Number(q.id)}"]`);
      if (li) answerEditor(q, li, { focus: typing });
      else editing = null;
    }
    const s = state.room?.settings ?? {};
    const enabled = s.questions_enabled !== false || state.staff;
    if (form) form.hidden = !enabled;
    off.hidden = enabled;
    anonLabel.hidden = s.anonymous_questions === false;
    if (anonLabel.hidden) anon.checked = false;
    const pending = state.pending.length;
    filters.hidden = !state.staff || (pending === 0 && !s.questions_need_approval && filter === 'all');
    showPending.textContent = `Awaiting approval (${pending})`;
    showAll.textContent = `All (${state.questions.size})`;
    empty.hidden = shown.length > 0;
    empty.textContent =
      filter === 'pending'
        ? 'No question is waiting for approval.'
        : canAsk && enabled
          ? 'No questions yet. Ask the first one below; others can vote it up.'
          : 'No questions yet. They appear here as attendees ask them.';
  }

  state.watch(['welcome', 'question.created', 'question.updated', 'questions.updated', 'question.removed', 'question.voted', 'room.updated'], render);
  return root;
}

// Tabs for the side panels: one visible at a time on a phone and a
// desktop. Arrow keys move between tabs, as screen reader users expect.
// Gives the element, and `badge(i, n)` to show a count on tab i.
export function tabs(panels) {
  const counts = panels.map(() => h('span', { class: 'tab-count', hidden: true }));
  const buttons = panels.map(([label], i) =>
    h('button', {
      role: 'tab',
      id: `tab-${label.toLowerCase().replace(/\W+/g, '-')}`,
      'aria-selected': String(i === 0),
      tabindex: i === 0 ? 0 : -1,
      onclick: () => select(i),
      onkeydown: (e) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
        if (!step) return;
        const next = (i + step + panels.length) % panels.length;
        select(next);
        buttons[next].focus();
      },
    }, label, counts[i]),
  );
  panels.forEach(([, panel], i) => {
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', buttons[i].id);
    panel.hidden = i !== 0;
  });
  let selected = 0;
  const listeners = [];
  function select(i) {
    selected = i;
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    panels.forEach(([, p], j) => (p.hidden = i !== j));
    listeners.forEach((f) => f(i));
  }
  const el = h('div', { class: 'side' }, h('div', { class: 'tabs', role: 'tablist' }, buttons), panels.map(([, p]) => p));
  return {
    el,
    selected: () => selected,
    onSelect: (f) => listeners.push(f),
    badge(i, n) {
      counts[i].hidden = !n;
      counts[i].textContent = n ? String(n) : '';
      counts[i].setAttribute('aria-label', n ? `${n} unread` : '');
    },
  };
}

export function participantsPanel(live, state) {
  const list = h('ul', { class: 'people', 'aria-label': 'Participants' });
  const status = h('div', { class: 'panel-status' });
  const empty = h('p', { class: 'empty muted' }, 'Nobody is connected yet.');
  function render() {
    const people = [...state.participants.values()].sort((a, b) => a.name.localeCompare(b.name));
    empty.hidden = people.length > 0;
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
                onclick: () => {
                  if (window.confirm(`Remove ${p.name} from the room? They cannot come back from this browser.`)) {
                    act(live, status, 'participant.kick', { id: p.id });
                  }
                },
              }, 'Remove')
            : null,
        ),
      ),
    );
  }
  state.watch(['welcome', 'participant.joined', 'participant.left', 'participants.updated'], render);
  return h('section', { class: 'panel people-panel', 'aria-label': 'Participants' }, status, empty, list);
}

// The studio's switch for recording: on while live records every
// published source; everyone's page shows that it records.
export function recordToggle(live, state) {
  const status = h('span', { class: 'panel-status' });
  const box = h('input', {
    type: 'checkbox',
    id: 'record',
    onchange: async () => {
      if (!(await act(live, status, 'room.update', { settings: { recording: box.checked } }))) box.checked = !box.checked;
    },
  });
  state.watch(['welcome', 'room.updated'], () => {
    box.checked = Boolean(state.room?.settings?.recording);
  });
  return h('span', { class: 'record-toggle' }, h('label', { for: 'record', class: 'check' }, box, 'Record'), status);
}

export function settingsPanel(live, state) {
  const fields = [
    ['chat_enabled', 'Chat'],
    ['questions_enabled', 'Questions'],
    ['anonymous_questions', 'Anonymous questions'],
    ['questions_need_approval', 'Approve questions before they are shown'],
    ['locked', 'Lock the room: no new attendees can join'],
    ['recording', 'Record the session (everyone is told)'],
    ['replay_public', 'Attendees may watch the replay after the end'],
  ];
  const status = h('div', { class: 'panel-status' });
  const boxes = fields.map(([key, label]) => {
    const box = h('input', {
      type: 'checkbox',
      id: `setting-${key}`,
      onchange: async () => {
        if (!(await act(live, status, 'room.update', { settings: { [key]: box.checked } }))) box.checked = !box.checked;
      },
    });
    return [key, box, h('label', { for: `setting-${key}`, class: 'check' }, box, label)];
  });
  function render() {
    for (const [key, box] of boxes) box.checked = Boolean(state.room?.settings?.[key]);
  }
  state.watch(['welcome', 'room.updated'], render);
  return h('section', { class: 'panel settings', 'aria-label': 'Room settings' }, boxes.map((b) => b[2]), status);
}

// The questions as they stood at the end, to read on the end screen:
// answered ones first, each with its answer.
export function finalQuestions(state) {
  const qs = [...state.questions.values()]
    .filter((q) => !q.hidden && q.status !== 'pending')
    .sort((a, b) => Number(b.answered) - Number(a.answered) || b.votes - a.votes || a.id - b.id);
  if (!qs.length) return null;
  return h(
    'section',
    { class: 'final-qa', 'aria-label': 'Questions from the session' },
    h('h2', {}, 'Questions from the session'),
    h(
      'ol',
      { class: 'qa-list' },
      qs.map((q) =>
        h('li', { class: q.answered ? 'is-answered' : null },
          h('span', { class: 'votes-static', 'aria-label': `${q.votes} votes` }, `${q.votes} ▲`),
          h('div', { class: 'q' },
            h('p', { class: 'body' }, q.body),
            h('p', { class: 'meta' }, q.author_name ?? 'Anonymous', q.answered ? h('span', { class: 'badge answered' }, 'Answered') : null),
            q.answer ? h('p', { class: 'answer' }, h('strong', {}, 'Answer: '), q.answer) : null)),
      ),
    ),
  );
}
