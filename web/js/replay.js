// The replay: the programme as it went out (the presenter's camera, and
// the shared screen in its place while there was one) with the chat and
// the questions appearing at the moments they were sent, answered ones
// marked and pinned ones as chapters; choosing a question seeks to when it
// was asked. Opens with the presenter's or a moderator's link, a staff
// token this browser holds, or, when the room lets attendees watch, an
// attendee's.

import { h, mount, notice } from './dom.js';
import { call, reportCredential, store } from './api.js';
import { fatal } from './screens.js';

const ms = (iso) => Date.parse(iso);

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

// The files of one source as one timeline: which file plays at a moment
// (seconds since the session's start), and where in it.
function track(files, t0) {
  const parts = files.map((f) => ({ url: f.url, from: (ms(f.started_at) - t0) / 1000, length: f.duration_seconds }));
  return {
    parts,
    at(t) {
      return parts.find((p) => t >= p.from && t < p.from + p.length) ?? null;
    },
    end: parts.reduce((e, p) => Math.max(e, p.from + p.length), 0),
  };
}

export async function show(slug, card) {
  const key = new URLSearchParams(location.hash.slice(1)).get('key');
  const credential = reportCredential(slug, key) ?? store.token(slug, 'attend');
  if (!credential) {
    return fatal(card.title, 'The replay opens with your presenter or moderator link, or from the browser you attended with when the room shares its replay.');
  }
  let data;
  try {
    data = await call('GET', `/api/rooms/${slug}/replay`, { token: credential });
  } catch (e) {
    const why = e.status === 403 || e.status === 401
      ? 'This replay is for the presenter and moderators: the presenter can share it with attendees after the session.'
      : e.message;
    return fatal(card.title, why);
  }
  document.title = `Replay · ${card.title} · Podium`;
  const cameras = data.recordings.filter((r) => r.source === 'camera');
  // The programme is the first camera on air (the presenter's); speakers
  // who came on stage are in their own files.
  const presenter = cameras[0]?.participant_id ?? null;
  const programme = cameras.filter((r) => r.participant_id === presenter);
  const screens = data.recordings.filter((r) => r.source === 'screen');
  if (!programme.length && !screens.length) {
    return mount(h('main', { class: 'report' }, h('p', { class: 'eyebrow' }, 'Replay'), h('h1', {}, card.title),
      notice('Nothing of this session was recorded.', 'info')));
  }
  const t0 = Math.min(...[...programme, ...screens].map((r) => ms(r.started_at)));
  const camera = track(programme, t0);
  const screen = track(screens, t0);
  const end = Math.max(camera.end, screen.end);

  const main = h('video', { id: 'replay-video', class: 'replay-main', playsinline: true, preload: 'auto', controls: true });
  const side = h('video', { id: 'replay-screen', class: 'replay-screen', playsinline: true, muted: true, preload: 'auto', hidden: true });
  const time = h('span', { id: 'replay-time', class: 'muted' }, `0:00 / ${clock(end)}`);
  const feed = h('ol', { class: 'replay-feed', id: 'replay-feed', 'aria-live': 'polite' });

  // The moment shown now, in seconds since the start.
  let playing = camera.parts.length ? camera : screen;
  let part = playing.parts[0];
  const now = () => part.from + (main.currentTime || 0);

  const load = (p, offset) => {
    if (part !== p || !main.src.endsWith(p.url)) {
      part = p;
      main.src = p.url;
    }
    main.currentTime = Math.max(0, offset);
  };
  // Seeks the whole replay to `t`.
  const seek = (t) => {
    const p = playing.at(t) ?? playing.parts.find((x) => x.from >= t) ?? playing.parts.at(-1);
    load(p, t - p.from);
    main.play().catch(() => {});
  };

  const items = [
    ...data.chat.map((m) => ({ at: (ms(m.at) - t0) / 1000, kind: 'chat', m })),
    ...data.questions.map((q) => ({ at: (ms(q.at) - t0) / 1000, kind: 'question', q })),
  ].sort((a, b) => a.at - b.at);
  const rows = items.map((it) => {
    const stamp = h('span', { class: 'stamp' }, clock(it.at));
    const el = it.kind === 'chat'
      ? h('li', { class: 'replay-chat', hidden: true }, stamp, h('strong', {}, it.m.name), ' ', it.m.body)
      : h('li', { class: 'replay-question', hidden: true, dataset: { question: it.q.id } },
        h('button', { class: 'linkish', title: 'Play from when this was asked', onclick: () => seek(it.at) },
          stamp, h('span', { class: 'badge' }, 'Question'), ' ', it.q.body),
        ' ', h('span', { class: 'muted small' }, `${it.q.author ?? 'Anonymous'} · ${it.q.votes} ▲`),
        it.q.answered ? h('span', { class: 'badge answered' }, 'Answered') : null,
        it.q.answer ? h('p', { class: 'answer' }, it.q.answer) : null);
    feed.append(el);
    return { at: it.at, el };
  });
  const chapters = items.filter((it) => it.kind === 'question' && it.q.pinned);

  const follow = () => {
    const t = now();
    time.textContent = `${clock(t)} / ${clock(end)}`;
    for (const r of rows) r.el.hidden = r.at > t;
    // The screen while it was shared, beside the camera.
    const s = playing === camera ? screen.at(t) : null;
    side.hidden = !s;
    if (s) {
      if (!side.src.endsWith(s.url)) side.src = s.url;
      const want = t - s.from;
      if (Math.abs((side.currentTime || 0) - want) > 0.5) side.currentTime = want;
      if (main.paused) side.pause();
      else side.play().catch(() => {});
    }
  };
  main.addEventListener('timeupdate', follow);
  main.addEventListener('seeked', follow);
  main.addEventListener('pause', () => side.pause());
  // One file ended: the next of the same source, if any.
  main.addEventListener('ended', () => {
    const next = playing.parts.find((p) => p.from > part.from);
    if (next) {
      load(next, 0);
      main.play().catch(() => {});
    }
  });

  mount(
    h('main', { class: 'replay' },
      h('p', { class: 'eyebrow' }, 'Replay'),
      h('h1', {}, data.title),
      h('p', { class: 'muted' }, 'Presented by ', card.presenter_name,
        data.started_at ? ` · ${new Date(data.started_at).toLocaleString()}` : ''),
      h('div', { class: 'replay-layout' },
        h('div', { class: 'replay-stage' }, h('div', { class: 'replay-videos' }, side, main), time),
        h('aside', { class: 'replay-side', 'aria-label': 'The conversation' },
          chapters.length
            ? h('nav', { 'aria-label': 'Chapters' }, h('h2', {}, 'Chapters'),
              h('ol', { class: 'chapters', id: 'chapters' }, chapters.map((c) =>
                h('li', {}, h('button', { class: 'linkish', onclick: () => seek(c.at) }, h('span', { class: 'stamp' }, clock(c.at)), c.q.body)))))
            : null,
          h('h2', {}, 'Chat and questions'),
          items.length ? feed : h('p', { class: 'muted' }, 'Nobody wrote in this session.'))),
    ),
  );
  load(part, 0);
  follow();
}
