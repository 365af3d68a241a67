// Polls on every live page: attendees vote on open polls and see the
// counts as they come; staff also prepare drafts, open, close and remove
// them. Renders the room state only (state.js); votes are anonymous, so
// nothing here ever shows who chose what.

import { h } from './dom.js';
import { act, errorLine } from './panels.js';

const pct = (n, total) => (total > 0 ? Math.round((n / total) * 100) : 0);

// A poll's counts as bars; `mine` marks the options this reader chose.
function results(poll, mine) {
  return h(
    'ol',
    { class: 'poll-results', 'aria-label': `Results: ${poll.total_voters} ${poll.total_voters === 1 ? 'voter' : 'voters'}` },
    poll.options.map((o, i) =>
      h(
        'li',
        { class: mine.includes(i) ? 'is-mine' : null },
        h('span', { class: 'option' }, o.text, mine.includes(i) ? h('span', { class: 'badge' }, 'Your choice') : null),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: `width: ${pct(o.votes, poll.total_voters)}%` })),
        h('span', { class: 'count' }, `${o.votes} · ${pct(o.votes, poll.total_voters)} %`),
      ),
    ),
  );
}

export function pollsPanel(live, state) {
  const status = h('div', { class: 'panel-status' });
  const list = h('ol', { class: 'poll-list', 'aria-label': 'Polls' });
  const empty = h('p', { class: 'empty muted' });
  const question = h('input', { id: 'poll-question', maxlength: 300, autocomplete: 'off', placeholder: 'Ask the room…' });
  const options = h('textarea', { id: 'poll-options', rows: 3, placeholder: 'One option per line (2 to 10)' });
  const multiple = h('input', { type: 'checkbox', id: 'poll-multiple' });
  const form = h(
    'form',
    { class: 'composer poll-new', hidden: true, onsubmit: (e) => create(e) },
    h('label', { for: 'poll-question' }, 'New poll'),
    question,
    h('label', { for: 'poll-options', class: 'visually-hidden' }, 'Options, one per line'),
    options,
    h('div', { class: 'row' },
      h('label', { for: 'poll-multiple', class: 'check' }, multiple, 'Several choices'),
      h('button', { type: 'submit' }, 'Save as draft')),
  );
  const root = h('section', { class: 'panel polls', 'aria-label': 'Polls' }, list, empty, status, form);

  async function create(e) {
    e.preventDefault();
    const opts = options.value.split('\n').map((o) => o.trim()).filter(Boolean);
    if (!question.value.trim()) return errorLine(status, new Error('Please write the poll question first.'));
    if (opts.length < 2 || opts.length > 10) return errorLine(status, new Error('A poll has 2 to 10 options, one per line.'));
    if (await act(live, status, 'poll.create', { question: question.value, options: opts, multiple: multiple.checked })) {
      question.value = '';
      options.value = '';
      multiple.checked = false;
    }
  }

  function ballot(poll, mine) {
    const kind = poll.multiple ? 'checkbox' : 'radio';
    const inputs = poll.options.map((o, i) =>
      h('input', { type: kind, name: `poll-${poll.id}`, id: `poll-${poll.id}-${i}`, value: i, checked: mine.includes(i) }),
    );
    return h(
      'form',
      {
        class: 'ballot',
        onsubmit: (e) => {
          e.preventDefault();
          const chosen = inputs.filter((x) => x.checked).map((x) => Number(x.value));
          if (!chosen.length) return errorLine(status, new Error('Choose an option first.'));
          act(live, status, 'poll.vote', { id: poll.id, options: chosen });
        },
      },
      h('fieldset', {},
        h('legend', { class: 'visually-hidden' }, poll.question),
        poll.options.map((o, i) => h('label', { for: inputs[i].id, class: 'check' }, inputs[i], o.text))),
      h('button', { type: 'submit', class: 'small primary' }, mine.length ? 'Change my vote' : 'Vote'),
    );
  }

  function item(poll) {
    const mine = state.myChoices.get(poll.id) ?? [];
    const staff = state.staff;
    const badge = { draft: 'Draft', open: 'Open', closed: 'Closed' }[poll.status];
    const controls = staff
      ? h(
          'div',
          { class: 'controls' },
          poll.status === 'draft' ? h('button', { class: 'small primary', onclick: () => act(live, status, 'poll.update', { id: poll.id, status: 'open' }) }, 'Open') : null,
          poll.status === 'open' ? h('button', { class: 'small', onclick: () => act(live, status, 'poll.update', { id: poll.id, status: 'closed' }) }, 'Close') : null,
          h('span', { class: 'spacer' }),
          h('button', {
            class: 'small danger',
            'aria-label': `Delete the poll: ${poll.question}`,
            onclick: () => window.confirm('Delete this poll and its votes for everyone?') && act(live, status, 'poll.delete', { id: poll.id }),
          }, 'Delete'),
        )
      : null;
    return h(
      'li',
      { dataset: { id: poll.id }, class: `poll is-${poll.status}` },
      h('p', { class: 'question' }, poll.question, h('span', { class: `badge ${poll.status}` }, badge)),
      poll.status === 'open' && !staff ? ballot(poll, mine) : null,
      poll.status !== 'draft' || staff ? results(poll, mine) : null,
      h('p', { class: 'meta muted' }, `${poll.total_voters} ${poll.total_voters === 1 ? 'voter' : 'voters'}${poll.multiple ? ' · several choices allowed' : ''}`),
      controls,
    );
  }

  function render() {
    const polls = [...state.polls.values()].sort((a, b) => b.id - a.id);
    list.replaceChildren(...polls.map(item));
    form.hidden = !state.staff;
    empty.hidden = polls.length > 0;
    empty.textContent = state.staff ? 'No polls yet. Prepare one below; it stays a draft until you open it.' : 'No poll yet. When the presenter opens one, it appears here.';
  }

  state.watch(['welcome', 'poll.created', 'poll.updated', 'poll.voted', 'poll.removed'], render);
  return root;
}
