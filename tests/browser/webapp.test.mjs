// The web app end to end in headless Chromium: a presenter makes a password
// room and goes live, two attendees join and watch, chat, ask and vote, a
// moderator pins and hides, the presenter shares a screen, an attendee is
// removed, the presenter ends the session and lands on the report.
// Screenshots go to target/screenshots (the best are kept in docs/).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { start, root, goLive, until, watching } from './harness.mjs';

const shots = join(root, 'target', 'screenshots');
const XSS = '<img src=x onerror=alert(1)>';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };

let base;
let browser;
let stop;
const alerts = [];

before(async () => {
  ({ base, browser, stop } = await start());
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await stop?.();
});

async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('dialog', (d) => {
    // confirm() for ending and removing is accepted; an alert would mean
    // user text ran as code.
    if (d.type() === 'alert') alerts.push(d.message());
    d.accept();
  });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  return page;
}

const text = (page, sel) => page.locator(sel).allInnerTexts();
const questionOrder = (page) => page.locator('.qa-list li .q .body').allInnerTexts();

async function order(pages, expected, what) {
  for (const [name, page] of Object.entries(pages)) {
    await until(page, (want) => {
      const got = [...document.querySelectorAll('.qa-list li .q .body')].map((e) => e.textContent);
      return JSON.stringify(got) === JSON.stringify(want);
    }, expected, `${what} on the ${name} page`).catch(async (e) => {
      throw new Error(`${e.message}; order is ${JSON.stringify(await questionOrder(page))}`);
    });
  }
}

async function ask(page, body) {
  await page.getByRole('tab', { name: 'Q&A' }).click();
  await page.fill('#question-input', body);
  await page.getByRole('button', { name: 'Ask', exact: true }).click();
  await until(page, (b) => [...document.querySelectorAll('.qa-list .body')].some((e) => e.textContent === b), body, `question "${body}" to show`);
}

async function vote(page, body) {
  const item = page.locator('.qa-list li').filter({ hasText: body });
  await item.locator('button.vote').click();
  await until(page, (b) => {
    const li = [...document.querySelectorAll('.qa-list li')].find((l) => l.querySelector('.body')?.textContent === b);
    return li?.querySelector('button.vote')?.getAttribute('aria-pressed') === 'true';
  }, body, `the vote on "${body}" to register`);
}

async function control(page, body, label) {
  await page.locator('.qa-list li').filter({ hasText: body }).getByRole('button', { name: label, exact: true }).click();
}

test('a webinar from room creation to the report, in Chromium', async () => {
  // The landing page makes a password room.
  const presenter = await newPage();
  await presenter.goto(base);
  await presenter.screenshot({ path: join(shots, 'landing.png') });
  await presenter.fill('#title', 'Rust at scale');
  await presenter.fill('#presenter-name', 'Ada');
  await presenter.fill('#password', 'open sesame');
  await presenter.getByRole('button', { name: 'Create room' }).click();
  await presenter.locator('#attend-link').waitFor();
  const attendUrl = await presenter.locator('#attend-link').innerText();
  const moderateUrl = await presenter.locator('#moderate-link').innerText();
  assert.doesNotMatch(await presenter.locator('#present-link').innerText(), /key=/, 'the presenter link is hidden until asked');
  await presenter.screenshot({ path: join(shots, 'links.png') });

  // The studio goes live with the fake camera and microphone.
  await goLive(presenter);

  // Attendee A: a wrong password first, then the right one.
  const a = await newPage();
  await a.goto(attendUrl);
  await a.fill('#join-name', 'Grace');
  await a.fill('#join-password', 'wrong');
  await a.getByRole('button', { name: 'Join' }).click();
  await a.getByText('Wrong password').waitFor();
  await a.fill('#join-password', 'open sesame');
  await a.getByRole('button', { name: 'Join' }).click();
  await a.locator('#stage-video').waitFor();

  // Attendee B has a name that looks like HTML.
  const b = await newPage();
  await b.goto(attendUrl);
  await b.fill('#join-name', XSS);
  await b.fill('#join-password', 'open sesame');
  await b.getByRole('button', { name: 'Join' }).click();
  await b.locator('#stage-video').waitFor();

  await watching(a, 'attendee A');
  await watching(b, 'attendee B');
  await until(a, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'A to see Live');

  // The moderator opens the console from the moderator link.
  const mod = await newPage({ width: 1400, height: 900 });
  await mod.goto(moderateUrl);
  await mod.fill('#join-name', 'Mo');
  await mod.getByRole('button', { name: 'Open the console' }).click();
  await mod.locator('.console').waitFor();
  await until(mod, () => document.querySelectorAll('.people li').length >= 3, null, 'the participant list');

  // Chat round trip, and HTML in chat stays text.
  await a.getByRole('tab', { name: 'Chat' }).click();
  await a.fill('#chat-input', 'Hello from Grace');
  await a.getByRole('button', { name: 'Send' }).click();
  await b.getByRole('tab', { name: 'Chat' }).click();
  await b.locator('.chat-list li').filter({ hasText: 'Hello from Grace' }).waitFor();
  await b.fill('#chat-input', XSS);
  await b.getByRole('button', { name: 'Send' }).click();
  await a.locator('.chat-list .body').filter({ hasText: XSS }).waitFor();
  assert.ok((await text(a, '.chat-list .who')).some((w) => w.startsWith(XSS)), 'the name shows as typed');
  assert.equal(await a.locator('.chat-list img, .qa-list img').count(), 0, 'no element was made from user text');

  // Two questions; both attendees vote for the second: it goes on top.
  const q1 = 'How does the fan-out scale?';
  const q2 = 'Will the slides be shared?';
  await ask(a, q1);
  await ask(b, q2);
  const pages = { 'attendee A': a, 'attendee B': b, moderator: mod, studio: presenter };
  await order(pages, [q1, q2], 'oldest first while votes tie');
  await vote(a, q2);
  await vote(b, q2);
  await order(pages, [q2, q1], 'the voted question on top');

  // A reload keeps B's vote (the stored token is the same participant).
  await b.reload();
  await b.locator('#stage-video').waitFor();
  await until(b, (q) => {
    const li = [...document.querySelectorAll('.qa-list li')].find((l) => l.querySelector('.body')?.textContent === q);
    return li?.querySelector('button.vote')?.getAttribute('aria-pressed') === 'true';
  }, q2, 'B to still have its vote after a reload');

  // The moderator pins the first question: it goes on top everywhere.
  await control(mod, q1, 'Pin');
  await order(pages, [q1, q2], 'the pinned question on top');
  await mod.screenshot({ path: join(shots, 'moderator.png') });

  // Hidden by the moderator: gone for attendees, marked for staff.
  await control(mod, q2, 'Hide');
  await order({ 'attendee A': a, 'attendee B': b }, [q1], 'the hidden question gone');
  await mod.locator('.qa-list li.is-hidden').filter({ hasText: q2 }).waitFor();

  // Hostile text as a question and its answer shows as typed and runs nothing.
  const evilQ = "<script>alert(2)</script> '; DROP TABLE questions; -- \u202Egnp.exe zero\u200Bwidth 🦀👩‍💻";
  const evilA = "<img src=y onerror=alert(3)> Robert'); -- \u202E\u200D𝕌𝕟𝕚𝕔𝕠𝕕𝕖 🎉";
  await ask(a, evilQ);
  await control(mod, 'DROP TABLE questions', 'Answer');
  await mod.fill('.answer-editor textarea', evilA);
  await mod.getByRole('button', { name: 'Save answer' }).click();
  for (const [name, page] of [['A', a], ['B', b]]) {
    await until(page, ([q, answer]) => {
      const li = [...document.querySelectorAll('.qa-list li')].find((l) => l.querySelector('.body')?.textContent === q);
      return li?.querySelector('.answer')?.textContent === `Answer: ${answer}`;
    }, [evilQ, evilA], `the hostile question and answer as typed on ${name}'s page`);
    assert.equal(await page.locator('.qa-list img, .qa-list script').count(), 0, 'no element was made from user text');
  }
  await control(mod, 'DROP TABLE questions', 'Hide');
  await order({ 'attendee A': a }, [q1], 'the hostile question hidden again');

  // The presenter shares a screen: it takes the stage, the camera goes small.
  await presenter.click('#share');
  await until(presenter, () => document.querySelector('#share')?.textContent === 'Stop sharing', null, 'the share to start');
  for (const [name, page] of [['A', a], ['B', b]]) {
    await until(page, () => document.querySelector('#stage-video')?.dataset.showing === 'screen' &&
      !document.querySelector('#pip-video').hidden && document.querySelector('#stage-video').videoWidth > 0,
    null, `the screen on ${name}'s stage`);
  }
  await presenter.screenshot({ path: join(shots, 'studio.png') });
  await a.screenshot({ path: join(shots, 'attendee-desktop.png') });

  // Join to first frame: A opens the attend link again (name and token
  // remembered, the room live).
  const phone = await a.context().newPage();
  await phone.setViewportSize(PHONE);
  await phone.goto(attendUrl);
  const firstFrameMs = await phone.evaluate(async () => {
    for (;;) {
      let frames = 0;
      (await window.podium?.stats())?.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
      });
      if (frames > 0) return performance.now();
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  const whep = await phone.evaluate(() => {
    const e = performance.getEntriesByType('resource').find((r) => r.name.endsWith('/whep'));
    return e ? { start: e.startTime, answered: e.responseEnd } : null;
  });
  console.log(`webapp: first decoded frame ${firstFrameMs.toFixed(0)} ms after opening the attend link ` +
    `(WHEP offer sent at ${whep?.start.toFixed(0)} ms, answered at ${whep?.answered.toFixed(0)} ms)`);
  await phone.screenshot({ path: join(shots, 'attendee-phone.png') });
  await phone.close();

  // The moderator removes B, who is told why.
  await mod.locator('.people li').filter({ hasText: XSS }).getByRole('button', { name: /Remove/ }).click();
  await b.getByText('A moderator removed you').waitFor();

  // The presenter ends the session: attendees see the end, the presenter the report.
  await presenter.click('#end');
  await presenter.waitForURL(/\/report$/);
  await presenter.locator('#attendance-chart').waitFor();
  await presenter.screenshot({ path: join(shots, 'report.png'), fullPage: true });
  // The report's chart has one point per attendance sample the API gives.
  const report = await presenter.evaluate(async () => {
    const slug = location.pathname.split('/')[2];
    const token = localStorage.getItem(`podium.token.${slug}.present`);
    const stats = await (await fetch(`/api/rooms/${slug}/stats`, { headers: { authorization: `Bearer ${token}` } })).json();
    return {
      samples: stats.timeline.length,
      points: document.querySelectorAll('#attendance-chart circle.point').length,
      questions: [...document.querySelectorAll('.top-questions .body')].map((e) => e.textContent),
      peak: document.querySelector('#stat-peak .value').textContent,
      statsPeak: stats.peak_concurrent,
    };
  });
  assert.ok(report.samples >= 2, `attendance was sampled: ${report.samples}`);
  assert.equal(report.points, report.samples, 'one chart point per sample');
  assert.deepEqual(report.questions, [q1], 'the top questions, without the hidden one');
  assert.equal(report.peak, String(report.statsPeak));
  await a.locator('#ended').waitFor();
  await mod.waitForURL(/\/report$/);
  await mod.locator('#attendance-chart').waitFor();
  assert.equal(alerts.length, 0, `no user text ran as code: ${alerts}`);
});
