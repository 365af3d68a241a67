// The server is killed with SIGKILL mid-session and started again on the
// same address and database: with nobody touching anything, the attendee's
// page shows "Reconnecting…", clears it, has the chat from before the
// crash, chats again, and its video comes back, because the studio
// published again and the attendee's player watched again by themselves.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, eventually, goLive, until, watching } from './harness.mjs';

let base;
let browser;
let stop;
let crashAndRestart;

before(async () => {
  ({ base, browser, stop, crashAndRestart } = await start());
});

after(async () => {
  await stop?.();
});

async function newPage() {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  return page;
}

async function chat(from, to, body) {
  await from.fill('#chat-input', body);
  await from.getByRole('button', { name: 'Send' }).click();
  await to.locator('.chat-list li').filter({ hasText: body }).waitFor();
}

test('after SIGKILL and a restart, pages and media come back by themselves', async () => {
  const presenter = await newPage();
  await presenter.goto(base);
  await presenter.fill('#title', 'Crash course');
  await presenter.fill('#presenter-name', 'Ada');
  await presenter.getByRole('button', { name: 'Create room' }).click();
  await presenter.locator('#attend-link').waitFor();
  const attendUrl = await presenter.locator('#attend-link').innerText();
  const slug = new URL(attendUrl).pathname.split('/')[2];
  await goLive(presenter);

  const a = await newPage();
  await a.goto(attendUrl);
  await a.fill('#join-name', 'Grace');
  await a.getByRole('button', { name: 'Join' }).click();
  await a.locator('#stage-video').waitFor();
  await watching(a, 'the attendee');
  await a.getByRole('tab', { name: 'Chat' }).click();
  await presenter.getByRole('tab', { name: 'Chat' }).click();
  await chat(a, presenter, 'before the crash');

  // Remember the connection, and whether the banner ever shows, however
  // briefly.
  await a.evaluate(() => {
    window.oldPc = window.podium.pc();
    const banner = document.querySelector('#reconnecting');
    window.sawBanner = false;
    new MutationObserver(() => {
      if (!banner.hidden) window.sawBanner = true;
    }).observe(banner, { attributes: true });
  });
  await crashAndRestart();
  const restarted = performance.now();

  await until(a, () => window.sawBanner && document.querySelector('#reconnecting').hidden, null,
    'the attendee to show "Reconnecting…" and clear it', 30_000);
  await a.locator('.chat-list li').filter({ hasText: 'before the crash' }).waitFor();
  await chat(a, presenter, 'after the crash');
  await chat(presenter, a, 'welcome back');

  // Video again, on a connection the page made by itself.
  await eventually(a, async () => {
    const pc = window.podium.pc();
    if (!pc || pc === window.oldPc) return false;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
    });
    return frames > 0;
  }, null, 'video to come back after the restart', 60_000);
  console.log(`restart: video decoding again ${((performance.now() - restarted) / 1000).toFixed(1)} s after the server restarted`);
  await watching(a, 'the attendee after the restart');
  const card = await (await fetch(`${base}/api/rooms/${slug}`)).json();
  assert.equal(card.status, 'live', 'the studio published again by itself');
});
