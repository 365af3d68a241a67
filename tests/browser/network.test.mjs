// Every attendee can watch, on the networks attendees have: the studio
// publishes simulcast from Chromium, and viewers, each in a network
// namespace and Chromium of its own, watch through the attendee page
// behind capped, lossy and UDP-less links, and through a TURN relay
// (Debian's coturn, started here). Run inside ./netns.sh (see tests/run).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, until, eventually } from './harness.mjs';
import { viewerNet, coturn, videoStats, sentLayers, SERVER_IP } from './netlab.mjs';

const TURN_SECRET = 'podium-browser-test-turn-secret';

let server;
let turn;
let base;
let remote;
let slug;
let presenter;
let nextNet = 1;
const nets = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  turn = await coturn(TURN_SECRET);
  server = await start({
    bind: '0.0.0.0:0',
    args: ['--turn-url', turn.url, '--turn-secret', TURN_SECRET],
  });
  const port = new URL(server.base).port;
  base = `http://127.0.0.1:${port}`;
  // Viewers in other namespaces reach the server at the test address.
  remote = `http://${SERVER_IP}:${port}`;
  const res = await fetch(`${base}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Networks', presenter_name: 'Ada' }),
  });
  const room = await res.json();
  assert.equal(res.status, 201, JSON.stringify(room));
  slug = room.slug;
  const context = await server.browser.newContext({ viewport: { width: 1280, height: 800 } });
  presenter = await context.newPage();
  await presenter.goto(`${base}/r/${slug}/present#key=${room.host_key}`);
  await until(presenter, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
  await presenter.click('#go-live');
  await until(presenter, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
});

after(async () => {
  for (const n of nets) await n.close();
  await server?.stop();
  turn?.stop();
});

// A viewer in a namespace of its own, joined to the room on the attendee
// page; `setup(net)` shapes its network once the page has loaded, before
// it joins.
async function viewer(name, setup = () => {}) {
  const net = await viewerNet(nextNet++);
  nets.push(net);
  const browser = await net.launch(remote);
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(`${name}: page error: ${e.message}`));
  await page.goto(`${remote}/r/${slug}`);
  // The network as it is for the watching, from before the join.
  setup(net);
  await page.fill('#join-name', name);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.locator('#stage-video').waitFor();
  const joined = Date.now();
  return { name, net, page, joined };
}

// Waits until the viewer's video is `height` lines high (and decoding);
// how long that took.
async function settlesAt(v, height, within = 15_000) {
  const t0 = Date.now();
  let s = null;
  while (Date.now() - t0 < within) {
    s = await videoStats(v.page);
    if (s.height === height && s.frames > 0) return Date.now() - t0;
    await sleep(250);
  }
  throw new Error(`${v.name}: ${s?.height} lines after ${within} ms, not ${height}`);
}

// Frames, freezes and keyframes over `ms`.
async function over(v, ms) {
  const a = await videoStats(v.page);
  await sleep(ms);
  const b = await videoStats(v.page);
  return {
    fps: ((b.frames - a.frames) * 1000) / ms,
    freezes: b.freezes - a.freezes,
    freezeSeconds: b.freezeSeconds - a.freezeSeconds,
    keyframes: b.keyframes - a.keyframes,
    height: b.height,
    audio: b.audio - a.audio,
    counts: `${['received', 'dropped', 'nacks', 'plis', 'lost', 'packets', 'discarded'].map((k) => `${k} ${b[k] - a[k]}`).join(' ')} jitter buffer ${((b.jitterMs - a.jitterMs) / Math.max(1, b.emitted - a.emitted)).toFixed(0)} ms`,
  };
}

// A viewer's window judged against what the studio sent on its layer in
// the same window: smooth video when the studio kept its frame rate; when
// the studio's own encoder fell behind (four Chromiums on a small machine
// starve it now and then), everything it sent, and no more, is expected.
function judge(who, s, layer) {
  const kept = layer.fps >= 15;
  if (kept) {
    assert.ok(s.fps >= 15, `${who}: ${s.fps.toFixed(1)} frames a second (the studio sent ${layer.fps.toFixed(1)})`);
  } else {
    console.log(`# ${who}: the studio sent only ${layer.fps.toFixed(1)} fps on its layer (limited by ${layer.why})`);
    assert.ok(s.fps >= layer.fps * 0.8, `${who}: ${s.fps.toFixed(1)} frames a second of the ${layer.fps.toFixed(1)} the studio sent`);
  }
  return kept;
}

// Up to `tries` windows of `measure`, until one passes `check` (which
// asserts): a two-core machine running five Chromiums and the server has
// a slow moment now and then, and one glitched window says less than a
// viewer who never gets smooth video. Every failed window is printed.
async function someWindow(tries, measure, check) {
  for (let i = 1; ; i++) {
    const got = await measure();
    try {
      return check(got);
    } catch (e) {
      if (i >= tries || !(e instanceof assert.AssertionError)) throw e;
      console.log(`# window ${i} of ${tries} failed (${e.message}); another`);
    }
  }
}

// Waits until the viewer's resolution has not changed for 3 s.
async function steady(v, within = 20_000) {
  const t0 = Date.now();
  let last = null;
  let since = Date.now();
  while (Date.now() - t0 < within) {
    const { height } = await videoStats(v.page);
    if (height !== last) [last, since] = [height, Date.now()];
    else if (Date.now() - since >= 3000) return height;
    await sleep(250);
  }
  throw new Error(`${v.name}: the resolution kept changing for ${within} ms`);
}

async function firstFrame(v, within) {
  await eventually(v.page, async () => {
    let frames = 0;
    (await window.podium?.stats())?.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
    });
    return frames > 0;
  }, null, `${v.name} to decode video`, within);
  return Date.now() - v.joined;
}

async function closeViewer(v) {
  await v.net.close();
  nets.splice(nets.indexOf(v.net), 1);
}

test('each viewer gets the simulcast layer its link carries, and the high one once the cap is lifted', async () => {
  // The encoder's rates settle some seconds after going live.
  await sleep(8000);
  const sent = await sentLayers(presenter, 5000);
  console.log(`# studio sends: ${Object.entries(sent).map(([rid, l]) => `${rid} ${l.height}p ${Math.round(l.bps / 1000)} kbit/s (target ${Math.round(l.target / 1000)}, limited by ${l.why})`).join(', ')}`);
  assert.deepEqual(Object.keys(sent).sort(), ['h', 'l', 'm'], 'three layers');
  const [low, mid, high] = ['l', 'm', 'h'].map((r) => sent[r]);
  assert.ok(low.height < mid.height && mid.height < high.height, 'quarter, half and full resolution');
  // Caps between the layers' rates (audio and headroom on top), as the
  // camera really sends them.
  const capMid = Math.round((mid.bps * 1.5 + 80_000) / 1000);
  const capLow = Math.round((low.bps * 1.6 + 70_000) / 1000);
  assert.ok(capMid * 1000 < high.bps + 40_000, `the middle cap (${capMid} kbit/s) is below the high layer`);
  assert.ok(capLow * 1000 < mid.bps + 40_000, `the low cap (${capLow} kbit/s) is below the middle layer`);

  const wide = await viewer('Wide', (n) => n.cap(4000));
  const medium = await viewer('Medium', (n) => n.cap(capMid));
  const narrow = await viewer('Narrow', (n) => n.cap(capLow));
  const settle = {};
  [settle.wide, settle.medium, settle.narrow] = await Promise.all([
    // Up to the best layer takes a probe that finds room: usually the
    // first, 3 s in; when that one falls short, the next comes about 10 s
    // later.
    settlesAt(wide, high.height, 25_000),
    settlesAt(medium, mid.height),
    settlesAt(narrow, low.height),
  ]);
  console.log(`# layers: 4000 kbit/s -> ${high.height}p in ${settle.wide} ms; ${capMid} kbit/s -> ${mid.height}p in ${settle.medium} ms; ${capLow} kbit/s -> ${low.height}p in ${settle.narrow} ms`);
  // The note tells the capped viewers why their picture is smaller.
  await until(narrow.page, () => /Lower video quality/.test(document.querySelector('#net-note')?.textContent ?? ''), null, 'the narrow viewer to be told of the lower quality');

  await someWindow(3, () => Promise.all([over(wide, 10_000), over(medium, 10_000), over(narrow, 10_000), sentLayers(presenter, 10_000)]), ([w, m, n, studio]) => {
    console.log(`# after settling, 10 s: wide ${w.fps.toFixed(1)} fps ${w.freezes} freezes ${w.keyframes} keyframes; medium ${m.fps.toFixed(1)} fps ${m.freezes} freezes; narrow ${n.fps.toFixed(1)} fps ${n.freezes} freezes (${n.freezeSeconds.toFixed(2)} s); studio ${['h', 'm', 'l'].map((r) => `${r} ${studio[r]?.fps.toFixed(1)} fps`).join(', ')}`);
    console.log(`# received in that window: wide ${w.counts}; medium ${m.counts}; narrow ${n.counts}`);
    for (const [who, s, height, rid] of [['wide', w, high.height, 'h'], ['medium', m, mid.height, 'm'], ['narrow', n, low.height, 'l']]) {
      if (judge(who, s, studio[rid])) assert.ok(s.freezes <= 1, `${who}: ${s.freezes} freezes`);
      assert.equal(s.height, height, `${who} stays on its layer`);
      assert.ok(s.audio > 300, `${who}: audio goes on`);
    }
    // The capped viewers' keyframe requests go to their own layers.
    assert.ok(w.keyframes <= 1, `the uncapped viewer decoded ${w.keyframes} extra keyframes`);
  });

  // The cap lifted: up to the high layer.
  narrow.net.cap(null);
  const up = await settlesAt(narrow, high.height, 15_000);
  console.log(`# narrow viewer uncapped: ${high.height}p again after ${up} ms`);
  await until(narrow.page, () => document.querySelector('#net-note')?.hidden, null, 'the lower-quality note to go');

  // The viewer's own choice: low, then audio only, then automatic.
  await narrow.page.selectOption('#quality', 'low');
  await settlesAt(narrow, low.height, 5000);
  assert.ok(await narrow.page.locator('#net-note').isHidden(), 'no network note for a chosen quality');
  await narrow.page.selectOption('#quality', 'audio');
  await sleep(1000);
  const off = await over(narrow, 2000);
  assert.equal(off.fps, 0, 'no video while audio only');
  assert.ok(off.audio > 50, 'audio goes on');
  assert.match(await narrow.page.locator('#waiting').innerText(), /Audio only/);
  await narrow.page.selectOption('#quality', 'auto');
  await eventually(narrow.page, () => document.querySelector('#waiting').hidden, null, 'the picture to come back', 8000);
  for (const v of [wide, medium, narrow]) await closeViewer(v);
});

test('5 % loss on one viewer: its video keeps decoding and the others are untouched', async () => {
  const lossy = await viewer('Lossy', (n) => n.loss(0.05));
  const clean = await viewer('Clean');
  await Promise.all([firstFrame(lossy, 10_000), firstFrame(clean, 10_000)]);
  // Both settle on their layers first (the clean one on the top one).
  const top = Math.max(...Object.values(await sentLayers(presenter, 1000)).map((l) => l.height));
  await settlesAt(clean, top);
  await steady(lossy);
  const measure = async () => [...(await Promise.all([over(lossy, 10_000), over(clean, 10_000), sentLayers(presenter, 10_000)])), await videoStats(lossy.page)];
  await someWindow(3, measure, ([l, c, studio, lost]) => {
    const layerOf = (height) => Object.values(studio).find((x) => x.height === height);
    console.log(`# 5 % loss: lossy ${l.fps.toFixed(1)} fps ${l.height}p ${l.freezes} freezes (${lost.lost} packets lost of ${lost.packets}); clean ${c.fps.toFixed(1)} fps ${c.freezes} freezes ${c.keyframes} keyframes; studio ${layerOf(l.height)?.fps.toFixed(1)} fps on the lossy one's layer`);
    assert.ok(lost.lost > 0, 'packets were lost');
    assert.ok(layerOf(l.height) && layerOf(c.height), 'both viewers are on layers the studio sends');
    if (judge('the lossy viewer', l, layerOf(l.height))) assert.ok(l.freezes <= 2, `the lossy viewer froze ${l.freezes} times`);
    if (judge('the clean viewer', c, layerOf(c.height))) assert.ok(c.freezes <= 1, `the clean viewer froze ${c.freezes} times`);
    // Keyframes the lossy viewer asks for are the clean one's too (they
    // share the layer): a few, never a stream of them.
    assert.ok(c.keyframes <= 3, `the clean viewer decoded ${c.keyframes} extra keyframes`);
  });
  await closeViewer(lossy);
  await closeViewer(clean);
});

test('a network that drops UDP: media over TCP from the start, and after UDP goes mid-session', async () => {
  const noUdp = await viewer('NoUdp', (n) => n.dropUdp());
  const first = await firstFrame(noUdp, 10_000);
  const { route } = await videoStats(noUdp.page);
  console.log(`# no UDP: first frame ${first} ms after joining, over ${route}`);
  assert.equal(route, 'tcp');
  assert.ok(first < 3000, `first frame within 3 s (${first} ms)`);
  assert.ok((await over(noUdp, 3000)).fps >= 15, 'video flows over TCP');

  const mover = await viewer('Mover');
  await firstFrame(mover, 10_000);
  assert.equal((await videoStats(mover.page)).route, 'udp', 'UDP first');
  mover.net.dropUdp();
  const dropped = Date.now();
  const before = (await videoStats(mover.page)).frames;
  let back = null;
  while (Date.now() - dropped < 10_000) {
    const s = await videoStats(mover.page);
    if (s.frames > before + 15 && s.route === 'tcp') {
      back = Date.now() - dropped;
      break;
    }
    await sleep(200);
  }
  console.log(`# UDP dropped mid-session: video back over TCP after ${back} ms`);
  assert.ok(back !== null && back < 5000, `back over TCP within 5 s (${back} ms)`);
  await closeViewer(noUdp);
  await closeViewer(mover);
});

test('through a TURN relay when nothing else gets through, and the page says what it tries', async () => {
  const mediaPort = Number(server.media().tcp.split(':').pop());
  // Only HTTP and the TURN server's UDP port get through.
  const relayed = await viewer('Relayed', (n) => {
    n.dropUdp({ except: [turn.port] });
    n.dropTcpTo([mediaPort]);
  });
  const first = await firstFrame(relayed, 20_000);
  const { route } = await videoStats(relayed.page);
  console.log(`# TURN: first frame ${first} ms after joining, over ${route}`);
  assert.equal(route, 'relay');
  assert.ok((await over(relayed, 3000)).fps >= 15, 'video flows through the relay');
  console.log(turn.log().split('\n').slice(-30).join('\n'));

  // Nothing gets through: the page says so, and what it tries next.
  const blocked = await viewer('Blocked', (n) => {
    n.dropUdp();
    n.dropTcpTo([mediaPort]);
  });
  await until(blocked.page, () => /trying over TCP/.test(document.querySelector('#net-note')?.textContent ?? ''), null, 'the page to say it tries TCP', 6000);
  await until(blocked.page, () => /could not connect/.test(document.querySelector('#net-note')?.textContent ?? ''), null, 'the page to say the video could not connect', 15_000);
  console.log(`# blocked: "${await blocked.page.locator('#net-note').innerText()}"`);
  await closeViewer(relayed);
  await closeViewer(blocked);
});
