// A page on another origin publishes and plays a Podium room with a WHIP
// and a WHEP client nobody on the project wrote: Medooze's `whip-whep`
// from npm (pinned in package-lock.json), served as it ships by a second
// local web server. Chromium does the CORS preflights, reads Location from
// the 201s, trickles, decodes the room, and its stop() closes the peer
// connection before its DELETE, which must still get 200. Run inside
// ./netns.sh (see tests/run): the server's media address is 198.51.100.1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, root, eventually } from './harness.mjs';

const clients = join(root, 'tests', 'browser', 'node_modules', 'whip-whep');
const PAGE = '<!doctype html><meta charset="utf-8"><title>A player elsewhere</title>'
  + '<video autoplay muted playsinline></video>';

let base;
let browser;
let stop;
let site;
let elsewhere;

before(async () => {
  ({ base, browser, stop } = await start());
  const files = {
    '/': ['text/html; charset=utf-8', PAGE],
    '/whip.js': ['text/javascript', readFileSync(join(clients, 'whip.js'))],
    '/whep.js': ['text/javascript', readFileSync(join(clients, 'whep.js'))],
  };
  site = createServer((req, res) => {
    const file = files[new URL(req.url, 'http://x').pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  elsewhere = `http://127.0.0.1:${site.address().port}`;
  assert.notEqual(new URL(elsewhere).origin, new URL(base).origin);
});

after(async () => {
  await new Promise((r) => (site ? site.close(r) : r()));
  await stop?.();
});

async function api(method, path, { body, token, type = 'application/json' } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await res.text();
  return { status: res.status, json: text && type === 'application/json' ? JSON.parse(text) : text };
}

// A page of the other origin, with its uncaught errors collected (a failed
// trickle PATCH would throw inside the client).
async function pageElsewhere() {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(elsewhere);
  return { page, errors };
}

// Holds the page's next DELETE until the test lets it go, so the server
// sees the peer connection close first: the order of the race the
// clients' stop() runs, made certain.
async function holdDeletes(page) {
  await page.evaluate(() => {
    const send = window.fetch.bind(window);
    window.fetch = async (url, opts) => {
      if (opts?.method === 'DELETE') {
        await new Promise((r) => { window.letDeleteGo = r; });
      }
      return send(url, opts);
    };
  });
}

// Ends the page's client with its own stop(), and answers what its DELETE
// got, after the server has ended the session on its own.
async function stopAfterClose(page, location, token) {
  await holdDeletes(page);
  const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE');
  const stopped = page.evaluate(() => window.client.stop());
  const until = Date.now() + 10_000;
  for (;;) {
    const r = await api('PATCH', new URL(location).pathname, {
      token, type: 'application/trickle-ice-sdpfrag', body: 'a=end-of-candidates\r\n',
    });
    if (r.status === 404) break;
    assert.ok(Date.now() < until, `the server never saw the peer connection close (${r.status})`);
    await new Promise((r2) => setTimeout(r2, 50));
  }
  await page.evaluate(() => window.letDeleteGo());
  const res = await deleted;
  await stopped;
  return res.status();
}

test('a page on another origin publishes and plays a room with the whip-whep clients', async (t) => {
  const room = await api('POST', '/api/rooms', { body: { title: 'Embedded', presenter_name: 'Ada' } });
  assert.equal(room.status, 201);
  const { slug, host_key: hostKey } = room.json;
  const joined = await api('POST', `/api/rooms/${slug}/join`, { body: { name: 'Bea' } });
  assert.equal(joined.status, 200);
  const attendee = joined.json.token;

  const studio = await pageElsewhere();
  const published = await studio.page.evaluate(async ({ base, slug, hostKey }) => {
    const { WHIPClient } = await import('/whip.js');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    const client = new WHIPClient();
    const t0 = performance.now();
    await client.publish(pc, `${base}/api/rooms/${slug}/whip`, hostKey);
    window.client = client;
    window.pc = pc;
    return { location: client.resourceURL.href, ms: performance.now() - t0, origin: location.origin };
  }, { base, slug, hostKey });
  assert.equal(published.origin, elsewhere);
  assert.match(published.location, new RegExp(`^${base}/api/rooms/${slug}/media/\\d+$`), 'Location was readable');
  const live = Date.now();
  for (;;) {
    const r = await api('GET', `/api/rooms/${slug}`);
    if (r.json.status === 'live') break;
    assert.ok(Date.now() - live < 15_000, 'the room never went live');
    await new Promise((r2) => setTimeout(r2, 50));
  }
  t.diagnostic(`WHIP from another origin: publish() ${published.ms.toFixed(0)} ms, then live within ${Date.now() - live} ms`);

  const player = await pageElsewhere();
  const viewed = await player.page.evaluate(async ({ base, slug, attendee }) => {
    const { WHEPClient } = await import('/whep.js');
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const video = document.querySelector('video');
    pc.ontrack = (e) => { video.srcObject = e.streams[0] ?? new MediaStream([e.track]); };
    const client = new WHEPClient();
    const t0 = performance.now();
    await client.view(pc, `${base}/api/rooms/${slug}/whep`, attendee);
    window.client = client;
    window.pc = pc;
    for (;;) {
      let frames = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
      });
      if (frames > 0) break;
      if (performance.now() - t0 > 15_000) throw new Error('no frame decoded within 15 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    return { location: client.resourceURL.href, firstFrameMs: performance.now() - t0 };
  }, { base, slug, attendee });
  assert.match(viewed.location, new RegExp(`^${base}/api/rooms/${slug}/media/\\d+$`));
  t.diagnostic(`WHEP from another origin: first frame decoded ${viewed.firstFrameMs.toFixed(0)} ms after view()`);

  const stats = () => player.page.evaluate(async () => {
    const out = { frames: 0, audio: 0, width: 0 };
    (await window.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.frames += s.framesDecoded ?? 0;
        out.width = s.frameWidth ?? 0;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audio += s.packetsReceived ?? 0;
    });
    return out;
  });
  const first = await stats();
  await player.page.waitForTimeout(1500);
  const later = await stats();
  assert.ok(later.frames > first.frames, `frames keep decoding (${first.frames} -> ${later.frames})`);
  assert.ok(later.audio > first.audio, `audio keeps arriving (${first.audio} -> ${later.audio})`);
  assert.equal(later.width, 640, 'the camera the other page publishes');
  await eventually(player.page, () => document.querySelector('video').videoWidth > 0, null, 'the video element to play');

  // The rest of the API is not open to this page: the browser keeps the
  // answer from it, bearer token or not.
  const me = await player.page.evaluate(async ({ base, slug, attendee }) => {
    try {
      await fetch(`${base}/api/rooms/${slug}/me`, { headers: { authorization: `Bearer ${attendee}` } });
      return 'read';
    } catch (e) {
      return e.name;
    }
  }, { base, slug, attendee });
  assert.equal(me, 'TypeError', 'a same-origin route stays closed to other origins');

  // stop() closes the peer connection, then DELETEs: 200, though the
  // server had already ended the session.
  assert.equal(await stopAfterClose(player.page, viewed.location, attendee), 200, 'the player\'s DELETE after its close');
  assert.equal(await stopAfterClose(studio.page, published.location, hostKey), 200, 'the studio\'s DELETE after its close');
  const after = await api('GET', `/api/rooms/${slug}`);
  assert.equal(after.json.status, 'open', 'the room is no longer live');
  assert.deepEqual([...studio.errors, ...player.errors], [], 'no uncaught error in the pages');
  await studio.page.close();
  await player.page.close();
});
