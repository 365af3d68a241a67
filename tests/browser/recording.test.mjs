// Recording and replay: Chromium's studio publishes real VP8 and Opus with
// the room recording, a screen is shared in the middle, an attendee asks a
// question; Debian's ffprobe and ffmpeg read every file; the replay page
// plays it with the question at its moment, and choosing the question
// seeks there. A WHIP publisher sending H.264 (as OBS or Safari do) is
// recorded as H.264 and Opus in fragmented MP4. Then kill -9
// mid-recording (of each), and a disk that fills up. Run inside
// ./netns.sh (see tests/run).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, createRoom, joinAs, until, personPage, root, accessible } from './harness.mjs';

const shots = join(root, 'target', 'screenshots');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const tool of ['ffprobe', 'ffmpeg']) {
  if (spawnSync(tool, ['-version']).status !== 0) throw new Error(`${tool} is missing: apt-get install -y ffmpeg`);
}

let server;
let recordings;

before(async () => {
  recordings = mkdtempSync(join(tmpdir(), 'podium-recordings-'));
  server = await start({ args: ['--recordings-dir', recordings] });
});

after(async () => {
  await server?.stop();
  if (!process.env.PODIUM_TEST_KEEP) rmSync(recordings, { recursive: true, force: true });
  else console.log(`# kept ${recordings}`);
});

async function api(method, path, token, body, base = server.base) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

async function recordingRoom(title, base = server.base) {
  const room = await createRoom(base, title);
  const presenter = await api('POST', `/api/rooms/${room.slug}/join`, null, { name: 'Ada', key: room.host_key }, base);
  assert.equal(presenter.status, 200);
  const on = await api('PATCH', `/api/rooms/${room.slug}`, presenter.body.token, { settings: { recording: true } }, base);
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.equal(on.body.settings.recording, true);
  return { ...room, token: presenter.body.token };
}

function probe(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name,width,height', '-of', 'json', file]);
  return JSON.parse(out);
}

// First and last packet times of each stream (video, audio), in seconds.
function packetSpan(file) {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time', '-of', 'csv=p=0', file]).toString();
  const streams = {};
  for (const line of out.trim().split('\n')) {
    const [index, t] = line.split(',');
    const s = (streams[index] ??= { first: Infinity, last: -Infinity, packets: 0 });
    s.first = Math.min(s.first, Number(t));
    s.last = Math.max(s.last, Number(t));
    s.packets += 1;
  }
  return streams;
}

// What ffmpeg says decoding the whole file (nothing, for a good file).
// A camera's frames come when they were taken (variable frame rate):
// `-fps_mode vfr` keeps their times, where ffmpeg's default would round
// them to one guessed rate and report two close frames as one time.
// The room's recordings once at least `n` are listed and all closed.
async function closedRecordings(room, n) {
  let list;
  for (let i = 0; i < 50; i++) {
    list = await api('GET', `/api/rooms/${room.slug}/recordings`, room.host_key);
    if (list.body.recordings.length >= n && list.body.recordings.every((r) => r.state === 'complete')) break;
    await sleep(200);
  }
  return list.body.recordings;
}

// A recording through its URL, as a player gets it: its content type, the
// size the listing says; written beside the others, its path.
async function download(r, type) {
  const res = await fetch(`${server.base}${r.url}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), `video/${type}`);
  const buf = Buffer.from(await res.arrayBuffer());
  assert.equal(buf.length, r.bytes, 'the listing says the file size');
  const path = join(recordings, `${r.id}-download.${type}`);
  writeFileSync(path, buf);
  return path;
}

// Audio and video of a file start and end together (within 100 ms).
function together(file, info, label) {
  const span = packetSpan(file);
  const [v, a] = info.streams[0].codec_type === 'video' ? [span[0], span[1]] : [span[1], span[0]];
  console.log(`# ${label} packets: video ${v.first.toFixed(3)}..${v.last.toFixed(3)} s (${v.packets}), audio ${a.first.toFixed(3)}..${a.last.toFixed(3)} s (${a.packets})`);
  assert.ok(Math.abs(v.first - a.first) < 0.1, 'audio and video start together');
  assert.ok(Math.abs(v.last - a.last) < 0.1, 'audio and video end together');
}

// A WHIP publisher that sends H.264 and Opus (Chromium's fake camera and
// microphone, H.264 preferred), as OBS or Safari would; resolves once its
// media flows, with its session URL.
async function publishH264(page, slug, token) {
  await page.goto(`${server.base}/`);
  return page.evaluate(async ({ slug, token }) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') {
        t.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs
          .filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? '')));
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => {
      if (pc.iceGatheringState === 'complete') r();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    });
    const res = await fetch(`/api/rooms/${slug}/whip?kind=camera`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error(`WHIP answered ${res.status}: ${await res.text()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const t0 = performance.now();
    for (;;) {
      let codec = null;
      let frames = 0;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          frames += s.framesEncoded ?? 0;
          codec = stats.get(s.codecId)?.mimeType ?? codec;
        }
      });
      if (frames > 0) return { location: res.headers.get('location'), codec };
      if (performance.now() - t0 > 15_000) throw new Error('no video sent within 15 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }, { slug, token });
}

const decodeErrors = (file) => spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'vfr', '-f', 'null', '-']).stderr.toString().trim();

test('a recorded webinar: files ffprobe reads, in time, and a replay with the question at its moment', async () => {
  const room = await recordingRoom('Recorded');
  const page = await personPage(server.browser);
  await page.goto(`${server.base}/r/${room.slug}/present#key=${room.host_key}`);
  await until(page, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
  await until(page, () => !document.querySelector('#rec-dot')?.hidden, null, 'the studio to show that it records');
  await page.click('#go-live');
  await until(page, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
  const live = Date.now();

  // An attendee is told at the join, and sees the dot while watching.
  const attendee = await personPage(server.browser);
  await attendee.goto(`${server.base}/r/${room.slug}`);
  assert.match(await attendee.locator('#recording-line').innerText(), /recorded/);
  await joinAs(attendee, `${server.base}/r/${room.slug}`, 'Grace');
  await until(attendee, () => !document.querySelector('#rec-dot')?.hidden, null, 'the red dot on the attendee page');

  await sleep(3000);
  await page.click('#share');
  await until(page, () => document.querySelector('#share')?.textContent === 'Stop sharing', null, 'the share to start');
  const shared = Date.now();
  // A question at a known moment, in the middle of the share.
  await sleep(1500);
  const asked = Date.now();
  const question = 'What does the replay show at this moment?';
  await attendee.getByRole('tab', { name: 'Q&A' }).click();
  await attendee.fill('#question-input', question);
  await attendee.getByRole('button', { name: 'Ask', exact: true }).click();
  await sleep(2500);
  await page.click('#share');
  await until(page, () => document.querySelector('#share')?.textContent === 'Share screen', null, 'the share to stop');
  const unshared = Date.now();
  await sleep(3000);
  // The end closes every file.
  const ended = Date.now();
  const end = await api('DELETE', `/api/rooms/${room.slug}`, room.token);
  assert.equal(end.status, 200);
  const published = (ended - live) / 1000;
  const screenTime = (unshared - shared) / 1000;

  const recs = await closedRecordings(room, 2);
  console.log(`# recordings: ${recs.map((r) => `${r.source} ${r.duration_seconds.toFixed(2)} s ${r.bytes} bytes ${r.state}`).join('; ')}`);
  const camera = recs.filter((r) => r.source === 'camera');
  const screen = recs.filter((r) => r.source === 'screen');
  assert.equal(camera.length, 1, 'one camera file');
  assert.equal(screen.length, 1, 'one screen file');

  for (const r of recs) {
    assert.equal(r.content_type, 'video/webm');
    assert.equal(r.state, 'complete');
  }
  // The files through their URLs, as a player gets them: whole, and a range.
  const cameraFile = await download(camera[0], 'webm');
  const screenFile = await download(screen[0], 'webm');
  const ranged = await fetch(`${server.base}${camera[0].url}`, { headers: { range: 'bytes=100-199' } });
  assert.equal(ranged.status, 206);
  assert.equal((await ranged.arrayBuffer()).byteLength, 100);
  assert.equal((await fetch(`${server.base}${camera[0].url.replace(/key=[^&]+/, 'key=wrong')}`)).status, 404, 'the URL key is the credential');

  const cam = probe(cameraFile);
  const scr = probe(screenFile);
  console.log(`# ffprobe camera: ${JSON.stringify(cam)}`);
  console.log(`# ffprobe screen: ${JSON.stringify(scr)}`);
  const codecs = (p) => p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
  assert.deepEqual(codecs(cam), ['audio:opus', 'video:vp8']);
  assert.deepEqual(codecs(scr), ['video:vp8']);
  const camDuration = Number(cam.format.duration);
  const scrDuration = Number(scr.format.duration);
  console.log(`# durations: camera ${camDuration.toFixed(2)} s of ${published.toFixed(2)} s published; screen ${scrDuration.toFixed(2)} s of ${screenTime.toFixed(2)} s shared`);
  assert.ok(Math.abs(camDuration - published) < 0.5, `camera: ${camDuration} s for ${published} s published`);
  assert.ok(Math.abs(scrDuration - screenTime) < 0.5, `screen: ${scrDuration} s for ${screenTime} s shared`);
  assert.equal(decodeErrors(cameraFile), '', 'the camera file decodes cleanly');
  assert.equal(decodeErrors(screenFile), '', 'the screen file decodes cleanly');
  together(cameraFile, cam, 'camera');
  // The screen file sits where the share was on the camera's time line.
  const offset = (Date.parse(screen[0].started_at) - Date.parse(camera[0].started_at)) / 1000;
  assert.ok(Math.abs(offset - (shared - live) / 1000) < 0.5, `the screen starts ${offset} s into the camera`);

  // The replay: the programme plays; the question appears at its moment;
  // choosing it seeks there.
  const viewer = await personPage(server.browser);
  await viewer.goto(`${server.base}/r/${room.slug}/replay#key=${room.host_key}`);
  await until(viewer, () => document.querySelector('#replay-video')?.readyState >= 2, null, 'the replay to load');
  const at = (asked - live) / 1000;
  await viewer.evaluate(() => document.querySelector('#replay-video').play());
  await until(viewer, () => document.querySelector('#replay-video').currentTime > 0.5, null, 'the replay to play');
  const hiddenEarly = await viewer.evaluate((text) => [...document.querySelectorAll('.replay-question')].find((li) => li.textContent.includes(text))?.hidden, question);
  assert.equal(hiddenEarly, true, 'the question is not there before it was asked');
  await until(viewer, (t) => document.querySelector('#replay-video').currentTime > t + 0.5, at, 'the replay to pass the question', 20_000);
  const shownLater = await viewer.evaluate((text) => [...document.querySelectorAll('.replay-question')].find((li) => li.textContent.includes(text))?.hidden === false, question);
  assert.ok(shownLater, 'the question appears once the replay passes its moment');
  assert.ok(await viewer.locator('#replay-screen').isVisible(), 'the shared screen is on the replay while it was shared');
  mkdirSync(shots, { recursive: true });
  await viewer.screenshot({ path: join(shots, 'replay.png') });
  await accessible(viewer, 'the replay page');
  // Later on, the question (still listed) takes the replay back to it.
  await viewer.evaluate((t) => { document.querySelector('#replay-video').currentTime = t + 4; }, at);
  await until(viewer, (t) => document.querySelector('#replay-video').currentTime > t + 3, at, 'the replay to move on');
  await viewer.locator('.replay-question button').first().click();
  await until(viewer, (t) => Math.abs(document.querySelector('#replay-video').currentTime - t) < 1, at, 'choosing the question to seek to it');

  // The presenter deletes one: gone from the list and from disk.
  const gone = await api('DELETE', `/api/rooms/${room.slug}/recordings/${screen[0].id}`, room.host_key);
  assert.equal(gone.status, 204);
  const after = await api('GET', `/api/rooms/${room.slug}/recordings`, room.host_key);
  assert.deepEqual(after.body.recordings.map((r) => r.id), [camera[0].id]);
  assert.equal((await fetch(`${server.base}${screen[0].url}`)).status, 404, 'its file is gone');
  for (const p of [page, attendee, viewer]) await p.context().close();
});

test('an H.264 publisher is recorded as H.264 and Opus in fragmented MP4, in time, and replays', async () => {
  const room = await recordingRoom('Recorded in H.264');
  const page = await personPage(server.browser);
  const published = await publishH264(page, room.slug, room.host_key);
  assert.equal(published.codec, 'video/H264', 'the publisher sends H.264');
  const live = Date.now();
  await sleep(8000);
  const ended = Date.now();
  const stop = await page.evaluate(async ({ url, token }) => (await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, { url: published.location, token: room.host_key });
  assert.equal(stop, 200);
  const recs = await closedRecordings(room, 1);
  console.log(`# H.264 recordings: ${recs.map((r) => `${r.source} ${r.content_type} ${r.duration_seconds.toFixed(2)} s ${r.bytes} bytes ${r.state}`).join('; ')}`);
  assert.equal(recs.length, 1, 'one camera file');
  const [rec] = recs;
  assert.equal(rec.state, 'complete');
  assert.equal(rec.content_type, 'video/mp4');
  const file = await download(rec, 'mp4');
  const ranged = await fetch(`${server.base}${rec.url}`, { headers: { range: 'bytes=0-99' } });
  assert.equal(ranged.status, 206);

  const info = probe(file);
  console.log(`# ffprobe H.264 camera: ${JSON.stringify(info)}`);
  assert.deepEqual(info.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:h264']);
  assert.deepEqual(info.streams.filter((s) => s.codec_type === 'video').map((s) => [s.width, s.height]), [[640, 360]]);
  const duration = Number(info.format.duration);
  const seconds = (ended - live) / 1000;
  console.log(`# H.264 duration: ${duration.toFixed(2)} s of ${seconds.toFixed(2)} s published`);
  assert.ok(Math.abs(duration - seconds) < 0.5, `${duration} s for ${seconds} s published`);
  assert.equal(decodeErrors(file), '', 'the file decodes cleanly');
  together(file, info, 'H.264');

  // The replay plays it.
  const viewer = await personPage(server.browser);
  await viewer.goto(`${server.base}/r/${room.slug}/replay#key=${room.host_key}`);
  await until(viewer, () => document.querySelector('#replay-video')?.readyState >= 2, null, 'the H.264 replay to load');
  await viewer.evaluate(() => document.querySelector('#replay-video').play());
  await until(viewer, () => document.querySelector('#replay-video').currentTime > 1, null, 'the H.264 replay to play');
  for (const p of [page, viewer]) await p.context().close();
});

// The studio's VP8 in WebM, or an H.264 publisher's fragmented MP4.
for (const [codec, container] of [['VP8', 'webm'], ['H.264', 'mp4']]) test(`kill -9 mid-recording (${codec}): the file plays up to the kill, and the restart repairs it`, async () => {
  const room = await recordingRoom(`Crash ${codec}`);
  const page = await personPage(server.browser);
  if (codec === 'VP8') {
    await page.goto(`${server.base}/r/${room.slug}/present#key=${room.host_key}`);
    await until(page, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
    await page.click('#go-live');
    await until(page, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
  } else {
    assert.equal((await publishH264(page, room.slug, room.host_key)).codec, 'video/H264');
  }
  const live = Date.now();
  await sleep(6000);
  const killed = Date.now();
  await server.crashAndRestart();
  const recorded = (killed - live) / 1000;
  const list = await api('GET', `/api/rooms/${room.slug}/recordings`, room.host_key);
  const first = list.body.recordings[0];
  assert.ok(first, 'the recording is listed after the restart');
  assert.equal(first.state, 'repaired');
  const res = await fetch(`${server.base}${first.url}`);
  assert.equal(res.status, 200);
  assert.equal(first.content_type, `video/${container}`);
  const path = join(recordings, `crashed.${container}`);
  writeFileSync(path, Buffer.from(await res.arrayBuffer()));
  assert.equal(decodeErrors(path), '', 'what is there decodes cleanly');
  const span = packetSpan(path);
  const lastVideo = Math.max(...Object.values(span).map((s) => s.last));
  console.log(`# crash (${codec}): killed ${recorded.toFixed(2)} s in; the file plays to ${lastVideo.toFixed(2)} s (${statSync(path).size} bytes); the row says ${first.duration_seconds} s`);
  assert.ok(lastVideo > recorded - 2, `the file plays up to within 2 s of the kill (${lastVideo} of ${recorded})`);
  assert.ok(Math.abs(first.duration_seconds - lastVideo) < 2, 'the repaired row says about as much');
  await page.context().close();
});

test('a full disk stops the recording, never the session, and staff are told', async () => {
  const small = mkdtempSync(join(tmpdir(), 'podium-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', small]);
  let full;
  try {
    full = await start({ args: ['--recordings-dir', small] });
    const base = full.base;
    const room = await recordingRoom('Full disk', base);
    const page = await personPage(full.browser);
    await page.goto(`${base}/r/${room.slug}/present#key=${room.host_key}`);
    await until(page, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
    await page.click('#go-live');
    await until(page, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
    const attendee = await personPage(full.browser);
    await joinAs(attendee, `${base}/r/${room.slug}`, 'Grace');
    // The disk fills in a few seconds; the studio hears why it stopped.
    await until(page, () => !document.querySelector('#recording-stopped')?.hidden, null, 'the studio to say the recording stopped', 30_000);
    const said = await page.locator('#recording-stopped').innerText();
    console.log(`# full disk: the studio says "${said}"`);
    assert.match(said, /disk is full/);
    await until(page, () => document.querySelector('#rec-dot')?.hidden, null, 'the red dot to go');
    await until(attendee, () => document.querySelector('#rec-dot')?.hidden, null, 'the red dot to go for the attendee too');
    // The session goes on: the attendee's video keeps decoding.
    const frames = () => attendee.evaluate(async () => {
      let n = 0;
      (await window.podium?.stats())?.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded ?? 0; });
      return n;
    });
    const a = await frames();
    await sleep(2000);
    const b = await frames();
    assert.ok(b > a + 10, `the attendee still gets video (${a} -> ${b} frames)`);
    const list = (await api('GET', `/api/rooms/${room.slug}/recordings`, room.host_key, undefined, base)).body;
    assert.equal(list.recordings[0]?.state, 'failed');
    const card = (await api('GET', `/api/rooms/${room.slug}`, null, undefined, base)).body;
    assert.equal(card.status, 'live');
    assert.equal(card.settings.recording, false);
  } finally {
    await full?.stop();
    execFileSync('umount', [small]);
    rmSync(small, { recursive: true, force: true });
  }
});

test('a room that reaches --recording-max-bytes stops recording, and the session goes on', async () => {
  const limited = await start({ args: ['--recording-max-bytes', '300000'] });
  try {
    const base = limited.base;
    const room = await recordingRoom('Limited', base);
    const page = await personPage(limited.browser);
    await page.goto(`${base}/r/${room.slug}/present#key=${room.host_key}`);
    await until(page, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
    await page.click('#go-live');
    await until(page, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
    await until(page, () => !document.querySelector('#recording-stopped')?.hidden, null, 'the studio to say the recording stopped', 30_000);
    const said = await page.locator('#recording-stopped').innerText();
    console.log(`# limit: the studio says "${said}"`);
    assert.match(said, /size limit/);
    const list = (await api('GET', `/api/rooms/${room.slug}/recordings`, room.host_key, undefined, base)).body;
    const total = list.recordings.reduce((n, r) => n + r.bytes, 0);
    console.log(`# limit: ${list.recordings.length} file(s), ${total} bytes for a limit of 300000`);
    assert.equal(list.recordings[0]?.state, 'complete', 'what was recorded is kept, closed');
    assert.ok(total > 300000 && total < 600000, `stopped just past the limit (${total} bytes)`);
    const card = (await api('GET', `/api/rooms/${room.slug}`, null, undefined, base)).body;
    assert.equal(card.status, 'live');
    assert.equal(card.settings.recording, false);
  } finally {
    await limited.stop();
  }
});
