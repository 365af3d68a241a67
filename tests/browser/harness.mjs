// What every browser test needs: the real server (its own database, media
// on the namespace's test address 198.51.100.1), headless Debian Chromium
// with fake camera, microphone and screen, and cleanup afterwards.

import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.PODIUM_BIN ?? join(root, 'target', 'debug', 'podium');
const pgSocket = process.env.PODIUM_PG_SOCKET ?? '/var/run/postgresql';

// `bind`: the HTTP address (other namespaces reach 198.51.100.1:port only
// when it is 0.0.0.0); `args`: more server flags.
export async function start({ bind = '127.0.0.1:0', args = [] } = {}) {
  const database = `podium_browser_${randomBytes(6).toString('hex')}`;
  const profile = mkdtempSync(join(tmpdir(), 'podium-chromium-'));
  const launch = (bind) => {
    const child = spawn(binary, [
      '--bind', bind,
      '--media-bind', '198.51.100.1:0',
      '--database-url', `postgres://postgres@localhost/${database}?host=${encodeURIComponent(pgSocket)}`,
      '--data-dir', join(profile, 'data'),
      ...args,
    ], { env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.PODIUM_TEST_RUST_LOG ?? 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const listening = new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error('podium did not start within 30 s')), 30_000);
      child.stdout.on('data', (chunk) => {
        // PODIUM_TEST_LOG=1 shows the server's log, to debug a failure.
        if (process.env.PODIUM_TEST_LOG) process.stderr.write(chunk);
        seen += chunk;
        const m = seen.match(/listening http=(\S+) media=(\S+) media-tcp=(\S+)/);
        if (m) {
          clearTimeout(timer);
          media = { udp: m[2], tcp: m[3] };
          resolve(`http://${m[1]}`);
        }
      });
      child.on('exit', (code) => reject(new Error(`podium exited with ${code}`)));
    });
    return { child, listening };
  };
  let media = null;
  let { child: server, listening } = launch(bind);
  const base = await listening;
  // SIGKILL, no goodbye, then the same server on the same address and
  // database, as a crash and a supervisor's restart would do.
  async function crashAndRestart() {
    const old = server;
    const gone = new Promise((r) => (old.exitCode !== null || old.signalCode !== null ? r() : old.on('exit', r)));
    old.kill('SIGKILL');
    await gone;
    ({ child: server, listening } = launch(new URL(base).host));
    return listening;
  }
  // A browser that fails to start must not leave the server holding the
  // test process open.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--auto-select-desktop-capture-source=Entire screen',
      '--autoplay-policy=no-user-gesture-required',
    ],
  }).catch((e) => {
    server.kill('SIGKILL');
    throw e;
  });
  async function stop() {
    await browser?.close();
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r() : server.on('exit', r)));
    try {
      execFileSync('psql', ['-h', pgSocket, '-U', 'postgres', '-d', 'postgres', '-qc',
        `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`]);
    } catch { /* nothing to drop */ }
    rmSync(profile, { recursive: true, force: true });
  }
  return { base, browser, stop, crashAndRestart, media: () => media };
}

// A room made over the API, as the landing page makes it: its links and
// keys.
export async function createRoom(base, title) {
  const res = await fetch(`${base}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title, presenter_name: 'Ada' }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

// Joins `page` to the room at `url` by name, as an attendee, up to the
// stage.
export async function joinAs(page, url, name) {
  if (page.url() !== url) await page.goto(url);
  await page.fill('#join-name', name);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.locator('#stage-video').waitFor();
  return page;
}

// From the links page of a new room: the studio goes live with the fake
// camera and microphone.
export async function goLive(presenter) {
  await presenter.locator('#open-studio').click();
  await presenter.waitForURL(/\/present#key=/);
  await until(presenter, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
  await presenter.click('#go-live');
  await until(presenter, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
}

// waitForFunction takes a returned promise for a truthy value, so an async
// condition is polled here instead.
export async function eventually(page, fn, arg, what, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function until(page, fn, arg, what, timeout = 15_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message.split('\n')[0]}`);
  }
}

// Frames decoded and audio packets received by the page's viewer.
export async function mediaStats(page) {
  return page.evaluate(async () => {
    const out = { frames: 0, audio: 0 };
    const stats = await window.podium?.stats();
    stats?.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.frames += s.framesDecoded ?? 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audio += s.packetsReceived ?? 0;
    });
    return out;
  });
}

export async function watching(page, who) {
  await eventually(page, async () => {
    let frames = 0;
    (await window.podium?.stats())?.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
    });
    return frames > 0;
  }, null, `${who} to decode video`);
  const first = await mediaStats(page);
  await page.waitForTimeout(1500);
  const later = await mediaStats(page);
  assert.ok(later.frames > first.frames, `${who}: decoded frames keep rising (${first.frames} -> ${later.frames})`);
  assert.ok(later.audio > first.audio && later.audio > 0, `${who}: audio packets arrive (${first.audio} -> ${later.audio})`);
}

// A page in a fresh browser profile (its own storage and cookies), as a
// new person on another device would have. Dialogs (confirm, the
// beforeunload prompt) are accepted and recorded on `page.dialogs`;
// every HTTP answer of 400 and up is recorded on `page.failures`, except
// those `expected(url, status)` allows (a wrong password, say).
export async function personPage(browser, { viewport = { width: 1280, height: 800 }, expected = () => false, reducedMotion } = {}) {
  // axe-core is injected as a script: the pages' CSP would refuse it.
  const context = await browser.newContext({ viewport, bypassCSP: true, reducedMotion });
  const page = await context.newPage();
  page.dialogs = [];
  page.failures = [];
  page.on('dialog', (d) => {
    page.dialogs.push({ type: d.type(), message: d.message() });
    d.accept();
  });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !expected(r.url(), r.status(), r.request().method())) {
      page.failures.push(`${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`);
    }
  });
  return page;
}

const axeSource = join(root, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js');

// Runs axe-core on the page as it is now: no serious or critical
// violation is allowed. Returns how many rules passed, to show it ran.
export async function accessible(page, state) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: axeSource });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return {
      passes: r.passes.length,
      violations: r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`),
    };
  });
  assert.deepEqual(result.violations, [], `accessibility of ${state}`);
  return result.passes;
}
