// What every browser test needs: the real server (its own database, media
// on the namespace's test address 198.51.100.1), headless Debian Chromium
// with fake camera, microphone and screen, and cleanup afterwards.

import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.PODIUM_BIN ?? join(root, 'target', 'debug', 'podium');
const pgSocket = process.env.PODIUM_PG_SOCKET ?? '/var/run/postgresql';

export async function start() {
  const database = `podium_browser_${randomBytes(6).toString('hex')}`;
  const profile = mkdtempSync(join(tmpdir(), 'podium-chromium-'));
  const server = spawn(binary, [
    '--bind', '127.0.0.1:0',
    '--media-bind', '198.51.100.1:0',
    '--database-url', `postgres://postgres@localhost/${database}?host=${encodeURIComponent(pgSocket)}`,
    '--data-dir', join(profile, 'data'),
  ], { env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
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
  return { base, browser, stop };
}
