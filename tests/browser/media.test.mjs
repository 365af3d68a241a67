// Headless Chromium publishes camera + microphone (fake devices) through
// WHIP and a second page watches through WHEP; getStats() must show video
// frames decoded and audio packets received. Run inside ./netns.sh (see
// tests/run): the server's media address is 198.51.100.1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start } from './harness.mjs';

let base;
let browser;
let stop;

before(async () => {
  ({ base, browser, stop } = await start());
});

after(async () => {
  await stop?.();
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
