// The session report: what each figure counts, attendance over time (an
// SVG chart with time and count axes, one point per sample), top
// questions, every CSV. Opens with the presenter's or a moderator's link
// (its key) from any browser, or with a staff token this browser holds.
// Printable; refreshes while the room is still running.

import { h, svg, mount, notice } from './dom.js';
import { api, reportCredential } from './api.js';
import { fatal } from './screens.js';

const REFRESH_MS = 10_000;

function duration(seconds) {
  if (seconds == null) return '–';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

const percent = (x) => (x == null ? '–' : `${Math.round(x * 100)} %`);

// Round steps for an axis: 1, 2, 5, 10, 20, 50… so labels read easily.
function niceStep(range, ticks) {
  const raw = Math.max(range / ticks, 1e-9);
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw);
}

const TIME_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);

export function chart(timeline) {
  const W = 640;
  const H = 240;
  const pad = { l: 48, r: 16, t: 14, b: 44 };
  const times = timeline.map((p) => Date.parse(p.at));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const peak = Math.max(1, ...timeline.map((p) => p.concurrent));
  const yStep = Math.max(1, niceStep(peak, 4));
  const top = Math.ceil(peak / yStep) * yStep;
  const x = (t) => pad.l + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (v) => H - pad.b - (v / top) * (H - pad.t - pad.b);
  const points = timeline.map((p, i) => [x(times[i]), y(p.concurrent)]);
  const line = points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  const yTicks = [];
  for (let v = 0; v <= top; v += yStep) yTicks.push(v);
  // Time ticks on round clock times, about five of them; seconds only
  // when the session is that short.
  const tStep = TIME_STEPS.find((st) => (t1 - t0) / st <= 6) ?? TIME_STEPS.at(-1);
  const withSeconds = tStep < 60_000;
  const label = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: withSeconds ? '2-digit' : undefined });
  const xTicks = [];
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) xTicks.push(t);
  if (!xTicks.length) xTicks.push(t0);
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', id: 'attendance-chart', role: 'img', 'aria-label': `People in the room over time; at most ${peak} at once` },
    ...yTicks.map((v) => svg('g', { class: 'y-tick' },
      svg('line', { x1: pad.l, y1: y(v), x2: W - pad.r, y2: y(v), class: 'grid' }),
      svg('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v)))),
    ...xTicks.map((t) => svg('g', { class: 'x-tick' },
      svg('line', { x1: x(t), y1: H - pad.b, x2: x(t), y2: H - pad.b + 4, class: 'axis' }),
      svg('text', { x: x(t), y: H - pad.b + 17, 'text-anchor': 'middle', class: 'tick' }, label(t)))),
    svg('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: 'axis' }),
    svg('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: 'axis' }),
    svg('text', { x: (pad.l + W - pad.r) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis-title' }, 'Time'),
    svg('text', { x: 12, y: (pad.t + H - pad.b) / 2, 'text-anchor': 'middle', class: 'axis-title', transform: `rotate(-90 12 ${(pad.t + H - pad.b) / 2})` }, 'People in the room'),
    svg('polyline', { points: line, class: 'series' }),
    ...points.map(([a, b], i) =>
      svg('circle', { cx: a.toFixed(1), cy: b.toFixed(1), r: 2.5, class: 'point', 'data-at': timeline[i].at, 'data-concurrent': timeline[i].concurrent },
        svg('title', {}, `${label(times[i])}: ${timeline[i].concurrent}`)),
    ),
  );
}

// Reactions per minute as bars, each minute's count and its emoji in the
// bar's title.
export function reactionsChart(timeline) {
  const W = 640;
  const H = 200;
  const pad = { l: 48, r: 16, t: 14, b: 44 };
  const totals = timeline.map((m) => Object.values(m.counts).reduce((a, b) => a + b, 0));
  const peak = Math.max(1, ...totals);
  const yStep = Math.max(1, niceStep(peak, 4));
  const top = Math.ceil(peak / yStep) * yStep;
  const slot = (W - pad.l - pad.r) / timeline.length;
  const y = (v) => H - pad.b - (v / top) * (H - pad.t - pad.b);
  const label = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const every = Math.max(1, Math.ceil(timeline.length / 6));
  const yTicks = [];
  for (let v = 0; v <= top; v += yStep) yTicks.push(v);
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', id: 'reactions-chart', role: 'img', 'aria-label': `Reactions per minute; at most ${peak} in one minute` },
    ...yTicks.map((v) => svg('g', { class: 'y-tick' },
      svg('line', { x1: pad.l, y1: y(v), x2: W - pad.r, y2: y(v), class: 'grid' }),
      svg('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v)))),
    ...timeline.map((m, i) => {
      const x = pad.l + i * slot + slot * 0.15;
      const what = Object.entries(m.counts).map(([e, n]) => `${e} ${n}`).join('  ');
      return svg('g', { class: 'bar' },
        svg('rect', { x: x.toFixed(1), y: y(totals[i]).toFixed(1), width: (slot * 0.7).toFixed(1), height: (H - pad.b - y(totals[i])).toFixed(1), class: 'series-bar', 'data-at': m.at, 'data-total': totals[i] },
          svg('title', {}, `${label(m.at)}: ${what}`)),
        i % every === 0 ? svg('text', { x: (x + slot * 0.35).toFixed(1), y: H - pad.b + 17, 'text-anchor': 'middle', class: 'tick' }, label(m.at)) : null);
    }),
    svg('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: 'axis' }),
    svg('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: 'axis' }),
    svg('text', { x: (pad.l + W - pad.r) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis-title' }, 'Time'),
    svg('text', { x: 12, y: (pad.t + H - pad.b) / 2, 'text-anchor': 'middle', class: 'axis-title', transform: `rotate(-90 12 ${(pad.t + H - pad.b) / 2})` }, 'Reactions'),
  );
}

// Each poll's final counts.
function pollResults(polls) {
  return h(
    'ol',
    { class: 'report-polls' },
    polls.map((p) =>
      h('li', { class: 'poll' },
        h('p', { class: 'question' }, p.question, h('span', { class: `badge ${p.status}` }, p.status === 'open' ? 'Open' : 'Closed')),
        h('ol', { class: 'poll-results', 'aria-label': `${p.total_voters} voters` },
          p.options.map((o) => {
            const pct = p.total_voters ? Math.round((o.votes / p.total_voters) * 100) : 0;
            return h('li', {},
              h('span', { class: 'option' }, o.text),
              h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: `width: ${pct}%` })),
              h('span', { class: 'count' }, `${o.votes} · ${pct} %`));
          })),
        h('p', { class: 'meta muted' }, `${p.total_voters} ${p.total_voters === 1 ? 'voter' : 'voters'}${p.multiple ? ' · several choices allowed' : ''}`))),
  );
}

async function download(slug, credential, name, button, status) {
  button.disabled = true;
  try {
    const res = await api.csv(slug, credential, name);
    const blob = await res.blob();
    const file = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? name;
    const a = h('a', { href: URL.createObjectURL(blob), download: file });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    status.replaceChildren(notice(e.message, 'error'));
  } finally {
    button.disabled = false;
  }
}

// A figure with a line saying what it counts.
const tile = (label, value, what, id) =>
  h('div', { class: 'tile', id }, h('span', { class: 'value' }, String(value)), h('span', { class: 'label' }, label), h('span', { class: 'what' }, what));

// Erasing the session's personal data at once (the presenter, after the
// end); the page then shows what is left.
async function erase(slug, credential, button, status, reload) {
  if (!window.confirm('Erase every name, chat message, question and poll of this session now? Only the numbers stay. This cannot be undone.')) return;
  button.disabled = true;
  try {
    const res = await fetch(`/api/rooms/${slug}/data`, { method: 'DELETE', headers: { authorization: `Bearer ${credential}` } });
    if (res.status !== 204) throw new Error((await res.json().catch(() => null))?.error?.message ?? `The server answered ${res.status}.`);
    reload();
  } catch (e) {
    status.replaceChildren(notice(e.message, 'error'));
    button.disabled = false;
  }
}

function size(bytes) {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

// The recordings: each to download (the file's own URL), the presenter
// may delete them, and the replay with the conversation in time.
function recordingsSection(slug, key, credential, recordings, reload) {
  const status = h('div', { class: 'form-status' });
  const remove = async (r, button) => {
    button.disabled = true;
    try {
      const res = await fetch(`/api/rooms/${slug}/recordings/${r.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${credential}` } });
      if (res.status !== 204) throw new Error((await res.json().catch(() => null))?.error?.message ?? `The server answered ${res.status}.`);
      reload();
    } catch (e) {
      status.replaceChildren(notice(e.message, 'error'));
      button.disabled = false;
    }
  };
  const label = (r) => `${r.source === 'screen' ? 'Screen' : 'Camera'} · ${new Date(r.started_at).toLocaleTimeString()} · ${duration(r.duration_seconds)} · ${size(r.bytes)}`;
  const state = { recording: 'recording now', repaired: 'after a server crash: plays up to it', failed: 'stopped by a write error: plays up to there' };
  return h('section', { class: 'no-print', 'aria-label': 'Recordings', id: 'recordings' },
    h('h2', {}, 'Recordings'),
    recordings.length
      ? [h('p', {}, h('a', { href: `/r/${slug}/replay${key ? `#key=${encodeURIComponent(key)}` : ''}`, id: 'open-replay' }, 'Watch the replay with the chat and questions')),
        h('ul', { class: 'recordings' }, recordings.map((r) =>
          h('li', { dataset: { recording: r.id } },
            h('a', { href: r.url, download: `${slug}-${r.source}-${r.id}.webm` }, label(r)),
            state[r.state] ? h('span', { class: 'muted small' }, ` (${state[r.state]})`) : null,
            r.state === 'recording' ? null : h('button', { class: 'small danger', onclick: (e) => remove(r, e.currentTarget) }, 'Delete'))))]
      : h('p', { class: 'muted' }, 'Nothing was recorded.'),
    status);
}

function render(slug, card, credential, stats, reload, recordings = []) {
  const share = stats.participation ?? {};
  const erased = Boolean(stats.erased_at);
  const questions = stats.top_questions ?? [];
  const status = h('div', { class: 'form-status' });
  const csv = (label, name) => h('button', { class: 'secondary', onclick: (e) => download(slug, credential, name, e.currentTarget, status) }, label);
  const group = (title, ...tiles) => h('section', { class: 'tile-group', 'aria-label': title }, h('h2', {}, title), h('div', { class: 'tiles' }, tiles));
  document.title = `Report · ${card.title} · Podium`;
  mount(
    h(
      'main',
      { class: 'report' },
      h('p', { class: 'eyebrow' }, card.status === 'ended' ? 'Session report' : 'Live statistics (updating)'),
      h('h1', {}, card.title),
      h('p', { class: 'muted' }, 'Presented by ', card.presenter_name,
        stats.started_at ? ` · ${new Date(stats.started_at).toLocaleString()}` : '',
        ` · ${duration(stats.duration_seconds)}`),
      group('People',
        tile('Attendees', share.attendees ?? 0, 'Joined as attendees (without the presenter and moderators). Someone removed who joined again counts twice.', 'stat-attendees'),
        tile('Most at once', stats.peak_concurrent, 'The most people connected to the room at the same time, staff included.', 'stat-peak'),
        tile('Average watch time', duration(stats.average_watch_seconds), 'Per attendee who connected; two tabs at once count once.', 'stat-watch'),
        tile('Everyone who joined', stats.total_participants, 'Attendees, moderators and the presenter, each join counted.', 'stat-participants')),
      group('Conversation',
        tile('Messages', stats.total_messages, 'Chat messages, without those a moderator deleted.', 'stat-messages'),
        tile('Questions', stats.total_questions, 'Every question asked, hidden ones included.', 'stat-questions'),
        tile('Votes', stats.total_votes, 'Up-votes on questions.', 'stat-votes'),
        tile('Asked a question', percent(share.asked), 'Share of attendees who asked at least one.', 'stat-asked'),
        tile('Voted', percent(share.voted), 'Share of attendees who voted at least once.', 'stat-voted'),
        tile('Chatted', percent(share.chatted), 'Share of attendees who wrote in the chat.', 'stat-chatted'),
        tile('Reactions', stats.total_reactions ?? 0, 'Reactions sent (👍 👏 ❤️ 😂 😮 🎉), everyone\'s.', 'stat-reactions'),
        tile('Polls', (stats.polls ?? []).length, 'Polls opened during the session.', 'stat-polls')),
      stats.media
        ? group('Broadcast',
          tile('Time live', duration(stats.media.live_seconds), 'How long the presenter\'s camera was on air.', 'stat-live'),
          tile('Most video viewers', stats.media.peak_viewers, 'The most video players connected at once (a person with two tabs counts twice).', 'stat-viewers'))
        : null,
      h('section', { 'aria-label': 'Attendance' }, h('h2', {}, 'Attendance'), stats.timeline.length ? chart(stats.timeline) : notice('No attendance recorded yet.')),
      h('section', { 'aria-label': 'Reactions over time' }, h('h2', {}, 'Reactions over time'),
        stats.reactions_timeline?.length ? reactionsChart(stats.reactions_timeline) : h('p', { class: 'muted' }, 'Nobody reacted.')),
      h('section', { 'aria-label': 'Polls' }, h('h2', {}, 'Polls'),
        stats.polls?.length ? pollResults(stats.polls) : h('p', { class: 'muted' }, 'No poll was opened.')),
      h(
        'section',
        { 'aria-label': 'Top questions' },
        h('h2', {}, 'Top questions'),
        questions.length
          ? h(
              'ol',
              { class: 'top-questions' },
              questions.map((q) =>
                h('li', {}, h('span', { class: 'votes' }, `${q.votes} ▲`), h('span', { class: 'body' }, q.body),
                  q.answered ? h('span', { class: 'badge answered' }, 'Answered') : null),
              ),
            )
          : h('p', { class: 'muted' }, 'No questions were asked.'),
      ),
      stats.erased_at ? null : recordingsSection(slug, new URLSearchParams(location.hash.slice(1)).get('key'), credential, recordings, reload),
      h('section', { class: 'downloads no-print', 'aria-label': 'Downloads' },
        h('h2', {}, 'Downloads'),
        erased
          ? h('p', { class: 'notice info', id: 'erased-note', role: 'status' },
            `The names, chat, questions and polls of this session were erased on ${new Date(stats.erased_at).toLocaleString()}. These numbers are what is left.`)
          : null,
        h('div', { class: 'row' },
          erased ? null : csv('Participants (CSV)', 'participants.csv'),
          erased ? null : csv('Chat (CSV)', 'chat.csv'),
          erased ? null : csv('Questions (CSV)', 'questions.csv'),
          csv('Attendance over time (CSV)', 'stats.csv'),
          erased ? null : csv('Polls (CSV)', 'polls.csv'),
          card.status === 'ended' && !erased
            ? h('button', { class: 'danger', id: 'erase-data', onclick: (e) => erase(slug, credential, e.currentTarget, status, reload) }, 'Erase this session’s data now')
            : null,
          h('button', { class: 'secondary', onclick: () => window.print() }, 'Print')),
        status),
    ),
  );
}

export async function show(slug, card) {
  const key = new URLSearchParams(location.hash.slice(1)).get('key');
  const credential = reportCredential(slug, key);
  if (!credential) {
    return fatal(card.title, 'The report is for the presenter and moderators: open it with your presenter or moderator link.');
  }
  const load = async () => {
    try {
      const [stats, fresh] = await Promise.all([api.stats(slug, credential), api.room(slug)]);
      // An erased room has no recordings left to list.
      const recorded = stats.erased_at ? { recordings: [] } : await api.recordings(slug, credential);
      render(slug, fresh, credential, stats, load, recorded.recordings);
      if (fresh.status !== 'ended') setTimeout(load, REFRESH_MS);
    } catch (e) {
      fatal(card.title, e.status === 401 ? 'This link does not open the report of this room. Use your presenter or moderator link.' : e.message);
    }
  };
  await load();
}
