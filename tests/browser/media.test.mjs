// Headless Chromium publishes camera + microphone (fake devices) through
// WHIP and a second page watches through WHEP; getStats() must show video
// frames decoded and audio packets received. Run inside ./netns.sh (see
// tests/run): the server's media address is 198.51.100.1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.PODIUM_BIN ?? join(root, 'target', 'debug', 'podium');
const pgSocket = process.env.PODIUM_PG_SOCKET ?? '/var/run/postgresql';
const database = `podium_browser_${randomBytes(6).toString('hex')}`;
const profile = mkdtempSync(join(tmpdir(), 'podium-chromium-'));

let server;
let base;
let browser;

before(async () => {
  server = spawn(binary, [
    '--bind', '127.0.0.1:0',
    '--media-bind', '198.51.100.1:0',
    '--database-url', `postgres://postgres@localhost/${database}?host=${encodeURIComponent(pgSocket)}`,
    '--data-dir', join(profile, 'data'),
  ], { env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('podium did not start within 30 s')), 30_000);
    server.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/listening http=(\S+) media=(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    });
    server.on('exit', (code) => reject(new Error(`podium exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await new Promise((r) => (server?.exitCode !== null ? r() : server.on('exit', r)));
  try {
    execFileSync('psql', ['-h', pgSocket, '-U', 'postgres', '-d', 'postgres', '-qc',
      `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`]);
  } catch { /* nothing to drop */ }
  rmSync(profile, { recursive: true, force: true });
});

async function api(path, body, token) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// In the page: publish camera and microphone through WHIP.
async function publish({ slug, token }) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
  });
  const res = await fetch(`/api/rooms/${slug}/whip?kind=camera`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) throw new Error(`WHIP ${res.status}: ${await res.text()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.publisher = pc;
  return res.headers.get('location');
}

// In the page: watch through WHEP; time from the POST to the first decoded frame.
async function watch({ slug, token }) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  pc.ontrack = (e) => { video.srcObject = e.streams[0] ?? new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') return r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
  });
  const t0 = performance.now();
  const res = await fetch(`/api/rooms/${slug}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) throw new Error(`WHEP ${res.status}: ${await res.text()}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  let firstFrameMs = null;
  const deadline = t0 + 15_000;
  let frames = 0;
  let audio = 0;
  while (performance.now() < deadline) {
    const stats = await pc.getStats();
    frames = 0;
    audio = 0;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded ?? 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') audio = s.packetsReceived ?? 0;
    });
    if (frames > 0 && firstFrameMs === null) firstFrameMs = performance.now() - t0;
    if (frames >= 30 && audio >= 20) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { firstFrameMs, frames, audio };
}

test('Chromium publishes over WHIP and another Chromium page watches over WHEP', async () => {
  const room = await api('/api/rooms', { title: 'Browser check', presenter_name: 'Ada' });
  const presenter = await api(`/api/rooms/${room.slug}/join`, { name: 'Ada', key: room.host_key });
  const viewer = await api(`/api/rooms/${room.slug}/join`, { name: 'Bob' });

  const studio = await browser.newPage();
  await studio.goto(`${base}/api/health`);
  const location = await studio.evaluate(publish, { slug: room.slug, token: presenter.token });
  assert.match(location, new RegExp(`^/api/rooms/${room.slug}/media/\\d+$`));

  const audience = await browser.newPage();
  await audience.goto(`${base}/api/health`);
  const result = await audience.evaluate(watch, { slug: room.slug, token: viewer.token });
  console.log(`browser: first decoded frame ${result.firstFrameMs?.toFixed(0)} ms after the WHEP POST; ` +
    `${result.frames} frames decoded, ${result.audio} audio packets received`);
  assert.ok(result.frames >= 30, `video frames decoded: ${result.frames}`);
  assert.ok(result.audio >= 20, `audio packets received: ${result.audio}`);

  const card = await (await fetch(`${base}/api/rooms/${room.slug}`)).json();
  assert.equal(card.status, 'live');
});
