// The session report: totals, attendance over time (an SVG chart with one
// point per sample), top questions, CSV downloads. Printable. Refreshes
// while the room is still running.

import { h, svg, mount, notice } from './dom.js';
import { api, staffToken } from './api.js';
import { fatal } from './screens.js';

const REFRESH_MS = 10_000;

function duration(seconds) {
  if (seconds == null) return '–';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

const percent = (x) => (x == null ? '–' : `${Math.round(x * 100)} %`);

export function chart(timeline) {
  const W = 640;
  const H = 220;
  const pad = { l: 40, r: 12, t: 12, b: 28 };
  const times = timeline.map((p) => Date.parse(p.at));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const top = Math.max(1, ...timeline.map((p) => p.concurrent));
  const x = (t) => pad.l + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (v) => H - pad.b - (v / top) * (H - pad.t - pad.b);
  const points = timeline.map((p, i) => [x(times[i]), y(p.concurrent)]);
  const line = points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  const label = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', id: 'attendance-chart', role: 'img', 'aria-label': `Attendance over time, peak ${top}` },
    svg('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: 'axis' }),
    svg('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: 'axis' }),
    svg('text', { x: pad.l - 6, y: y(top) + 4, 'text-anchor': 'end', class: 'tick' }, String(top)),
    svg('text', { x: pad.l - 6, y: H - pad.b + 4, 'text-anchor': 'end', class: 'tick' }, '0'),
    timeline.length ? svg('text', { x: pad.l, y: H - 8, class: 'tick' }, label(t0)) : null,
    timeline.length > 1 ? svg('text', { x: W - pad.r, y: H - 8, 'text-anchor': 'end', class: 'tick' }, label(t1)) : null,
    svg('polyline', { points: line, class: 'series' }),
    ...points.map(([a, b], i) =>
      svg('circle', { cx: a.toFixed(1), cy: b.toFixed(1), r: 2.5, class: 'point', 'data-at': timeline[i].at, 'data-concurrent': timeline[i].concurrent },
        svg('title', {}, `${label(times[i])}: ${timeline[i].concurrent}`)),
    ),
  );
}

async function download(slug, token, name, button) {
  button.disabled = true;
  try {
    const res = await api.csv(slug, token, name);
    const blob = await res.blob();
    const file = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? name;
    const a = h('a', { href: URL.createObjectURL(blob), download: file });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } finally {
    button.disabled = false;
  }
}

function render(slug, card, token, stats) {
  const tile = (label, value, id) => h('div', { class: 'tile', id }, h('span', { class: 'value' }, String(value)), h('span', { class: 'label' }, label));
  const share = stats.participation ?? {};
  const questions = stats.top_questions ?? [];
  const csv = (label, name) => h('button', { class: 'secondary', onclick: (e) => download(slug, token, name, e.currentTarget) }, label);
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
      h(
        'section',
        { class: 'tiles', 'aria-label': 'Totals' },
        tile('Peak concurrent', stats.peak_concurrent, 'stat-peak'),
        tile('Participants', stats.total_participants, 'stat-participants'),
        tile('Messages', stats.total_messages, 'stat-messages'),
        tile('Questions', stats.total_questions, 'stat-questions'),
        tile('Votes', stats.total_votes, 'stat-votes'),
        tile('Average watch time', duration(stats.average_watch_seconds), 'stat-watch'),
        tile('Asked a question', percent(share.asked), 'stat-asked'),
        tile('Voted', percent(share.voted), 'stat-voted'),
        tile('Chatted', percent(share.chatted), 'stat-chatted'),
        stats.media ? tile('Time live', duration(stats.media.live_seconds), 'stat-live') : null,
        stats.media ? tile('Peak viewers', stats.media.peak_viewers, 'stat-viewers') : null,
      ),
      h('section', { 'aria-label': 'Attendance' }, h('h2', {}, 'Attendance'), stats.timeline.length ? chart(stats.timeline) : notice('No attendance recorded yet.')),
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
      h('div', { class: 'row no-print' }, csv('Download attendance (CSV)', 'stats.csv'), csv('Download questions (CSV)', 'questions.csv'),
        h('button', { class: 'secondary', onclick: () => window.print() }, 'Print')),
    ),
  );
}

export async function show(slug, card) {
  const token = staffToken(slug);
  if (!token) return fatal(card.title, 'The report is for the presenter and moderators. Open it from your presenter or moderator link.');
  const load = async () => {
    try {
      const [stats, fresh] = await Promise.all([api.stats(slug, token), api.room(slug)]);
      render(slug, fresh, token, stats);
      if (fresh.status !== 'ended') setTimeout(load, REFRESH_MS);
    } catch (e) {
      fatal(card.title, e.message);
    }
  };
  await load();
}
