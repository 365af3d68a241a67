// The web app end to end in headless Chromium: a presenter makes a password
// room and goes live, two attendees join and watch, chat, ask and vote, a
// moderator pins, hides, approves, promotes and deletes, the presenter
// shares a screen and reloads the studio mid-broadcast, an attendee is
// removed and stays out, the presenter ends the session and lands on the
// report, which the presenter link also opens from another browser.
// axe-core checks every page state on the way; no request of any page
// fails unless the test made it fail. Screenshots go to target/screenshots
// (the best are kept in docs/).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, root, goLive, until, watching, personPage, accessible } from './harness.mjs';

const shots = join(root, 'target', 'screenshots');
const XSS = '<img src=x onerror=alert(1)>';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };

let base;
let browser;
let stop;
const pages = [];

before(async () => {
  ({ base, browser, stop } = await start());
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await stop?.();
});

async function newPage(viewport = DESKTOP, expected) {
  const page = await personPage(browser, { viewport, expected });
  pages.push(page);
  return page;
}

const alerts = (page) => page.dialogs.filter((d) => d.type === 'alert');
const text = (page, sel) => page.locator(sel).allInnerTexts();
const questionOrder = (page) => page.locator('.qa-list li .q .body').allInnerTexts();

async function order(named, expected, what) {
  for (const [name, page] of Object.entries(named)) {
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

const votedFor = (body) => {
  const li = [...document.querySelectorAll('.qa-list li')].find((l) => l.querySelector('.body')?.textContent === body);
  return li?.querySelector('button.vote')?.getAttribute('aria-pressed') === 'true';
};

async function vote(page, body) {
  await page.locator('.qa-list li').filter({ hasText: body }).locator('button.vote').click();
  await until(page, votedFor, body, `the vote on "${body}" to register`);
}

// The same vote from the keyboard alone: focus the button, press Space.
async function voteByKeyboard(page, body) {
  await page.locator('.qa-list li').filter({ hasText: body }).locator('button.vote').focus();
  await page.keyboard.press('Space');
  await until(page, votedFor, body, `the keyboard vote on "${body}" to register`);
}

async function control(page, body, label) {
  await page.locator('.qa-list li').filter({ hasText: body }).first().getByRole('button', { name: label, exact: true }).click();
}

// The attendee's stage overlay texts, every change recorded from now on.
async function recordOverlay(page) {
  await page.evaluate(() => {
    const el = document.querySelector('#waiting');
    window.overlaySeen = [];
    new MutationObserver(() => {
      if (!el.hidden) window.overlaySeen.push(el.textContent);
    }).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}

test('a webinar from room creation to the report, in Chromium', async () => {
  // The landing page: a blank title is said, next to the field.
  const presenter = await newPage();
  await presenter.goto(base);
  await accessible(presenter, 'the landing page');
  await presenter.screenshot({ path: join(shots, 'landing.png') });
  await presenter.getByRole('button', { name: 'Create room' }).click();
  assert.equal(await presenter.locator('#title-error').innerText(), 'Please enter a title.');
  assert.equal(await presenter.evaluate(() => document.activeElement.id), 'title');
  await presenter.fill('#title', 'Rust at scale');
  assert.equal(await presenter.locator('#title-error').isVisible(), false, 'the message goes once fixed');
  await presenter.fill('#presenter-name', 'Ada');
  await presenter.fill('#password', 'open sesame');
  await presenter.getByRole('button', { name: 'Create room' }).click();
  await presenter.locator('#attend-link').waitFor();
  const attendUrl = await presenter.locator('#attend-link').innerText();
  const moderateUrl = await presenter.locator('#moderate-link').innerText();
  const slug = new URL(attendUrl).pathname.split('/')[2];
  assert.equal(slug, slug.toLowerCase(), 'links are lower case');
  assert.doesNotMatch(await presenter.locator('#present-link').innerText(), /key=/, 'the presenter link is hidden until asked');
  await presenter.getByRole('button', { name: 'Show' }).click();
  const presentUrl = await presenter.locator('#present-link').innerText();
  assert.match(presentUrl, /\/present#key=/);
  await presenter.getByRole('button', { name: 'Hide' }).click();
  await accessible(presenter, 'the links page');
  await presenter.screenshot({ path: join(shots, 'links.png') });
  // A reload of the start page keeps the room and its links.
  await presenter.goto(base);
  await presenter.locator('#your-rooms li').filter({ hasText: 'Rust at scale' }).waitFor();
  await accessible(presenter, 'the start page with your rooms');
  await presenter.goto(presentUrl);

  // The studio before going live: it says what attendees see, offers no
  // Ask box of its own, and never tells the presenter to wait for
  // themselves.
  await until(presenter, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview');
  assert.equal(await presenter.locator('#live-state').innerText(), 'Off air');
  assert.match(await presenter.locator('#audience-view').innerText(), /waiting screen/);
  assert.equal(await presenter.locator('#question-input').count(), 0, 'no Ask box in the studio');
  await accessible(presenter, 'the studio, off air');
  await presenter.click('#go-live');
  await until(presenter, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');
  assert.equal(await presenter.locator('#go-live').innerText(), 'Stop broadcast');
  await until(presenter, () => /see your camera and hear/.test(document.querySelector('#audience-view').textContent), null, 'the studio to say attendees see the camera');
  // Muting shows, not just a label.
  await presenter.click('#mute');
  assert.equal(await presenter.locator('#mute').getAttribute('aria-pressed'), 'true');
  assert.ok(await presenter.locator('#mic-off').isVisible(), 'the preview says the microphone is off');
  assert.match(await presenter.locator('#audience-view').innerText(), /microphone is muted/);
  await presenter.click('#mute');
  assert.equal(await presenter.locator('#mic-off').isVisible(), false);

  // Attendee A: a truncated link and a mistyped one say so; a link in
  // capitals works; a blank name and a long one are said at the name.
  const a = await newPage(DESKTOP, (url, status, method) =>
    (status === 404 && (url.includes('/r/rust-at-sc') || url.includes('zzzzzzzzzz'))) || (status === 401 && method === 'POST' && url.endsWith('/join')));
  await a.goto(`${base}/r/rust-at-sc`);
  await a.getByRole('heading', { name: 'Not found' }).waitFor();
  await a.goto(`${base}/r/rust-at-scale-zzzzzzzzzz`);
  await a.getByRole('heading', { name: 'No such room' }).waitFor();
  await a.goto(attendUrl.replace(slug, slug.toUpperCase()));
  await a.waitForURL((u) => u.pathname === `/r/${slug}`);
  await a.locator('#join-name').waitFor();
  await accessible(a, 'the join page');
  await a.getByRole('button', { name: 'Join' }).click();
  assert.equal(await a.locator('#join-name-error').innerText(), 'Please enter your name.');
  assert.equal(await a.evaluate(() => document.activeElement.id), 'join-name', 'a blank name keeps the focus on the name');
  await a.fill('#join-name', 'G'.repeat(61));
  assert.match(await a.locator('#join-name-error').innerText(), /too long: use at most 60 characters \(it has 61\)/);
  await a.fill('#join-name', 'Grace');
  assert.equal(await a.locator('#join-name-error').isVisible(), false);
  await a.fill('#join-password', 'wrong');
  await a.getByRole('button', { name: 'Join' }).click();
  await a.getByText('Wrong password').waitFor();
  await a.fill('#join-password', 'open sesame');
  assert.equal(await a.locator('#join-password-error').isVisible(), false, 'fixing the field clears its message');
  await a.getByRole('button', { name: 'Join' }).click();
  await a.locator('#stage-video').waitFor();

  // Attendee B has a name that looks like HTML.
  const b = await newPage(DESKTOP, (url, status) => status === 403 && url.endsWith('/join'));
  await b.goto(attendUrl);
  await b.fill('#join-name', XSS);
  await b.fill('#join-password', 'open sesame');
  await b.getByRole('button', { name: 'Join' }).click();
  await b.locator('#stage-video').waitFor();

  await watching(a, 'attendee A');
  await watching(b, 'attendee B');
  await until(a, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'A to see Live');
  assert.ok(await a.locator('#waiting').isHidden(), 'no waiting screen while live');

  // The moderator opens the console from the moderator link.
  const mod = await newPage({ width: 1400, height: 900 });
  await mod.goto(moderateUrl);
  await mod.fill('#join-name', 'Mo');
  await mod.getByRole('button', { name: 'Open the console' }).click();
  await mod.locator('.console').waitFor();
  await until(mod, () => document.querySelectorAll('.people li').length >= 3, null, 'the participant list');
  await until(mod, () => document.querySelector('#console-stage')?.videoWidth > 0, null, 'the stage preview in the console');
  assert.match(await mod.locator('.chat .empty').innerText(), /No messages yet/, 'an empty panel says what goes there');
  await accessible(mod, 'the moderator console');

  // Chat round trip, an unread count on a hidden Chat tab, and HTML in
  // chat stays text.
  await a.getByRole('tab', { name: 'Chat' }).click();
  await a.fill('#chat-input', 'Hello from Grace');
  await a.getByRole('button', { name: 'Send' }).click();
  await until(b, () => document.querySelector('#tab-chat .tab-count')?.textContent === '1', null, 'an unread count on B\'s Chat tab');
  // Arrow keys move between tabs.
  await b.getByRole('tab', { name: 'Q&A' }).focus();
  await b.keyboard.press('ArrowRight');
  assert.equal(await b.evaluate(() => document.activeElement.id), 'tab-chat');
  assert.ok(await b.locator('#tab-chat .tab-count').isHidden(), 'reading the chat clears the count');
  await b.locator('.chat-list li').filter({ hasText: 'Hello from Grace' }).waitFor();
  await b.fill('#chat-input', XSS);
  await b.keyboard.press('Enter');
  await a.locator('.chat-list .body').filter({ hasText: XSS }).waitFor();
  assert.ok((await text(a, '.chat-list .who')).some((w) => w.startsWith(XSS)), 'the name shows as typed');
  assert.equal(await a.locator('.chat-list img, .qa-list img').count(), 0, 'no element was made from user text');

  // Two questions; both attendees vote for the second (one from the
  // keyboard): it goes on top.
  const q1 = 'How does the fan-out scale?';
  const q2 = 'Will the slides be shared?';
  assert.match(await a.locator('.qa .empty').innerText(), /No questions yet/);
  await ask(a, q1);
  await ask(b, q2);
  const all = { 'attendee A': a, 'attendee B': b, moderator: mod, studio: presenter };
  await order(all, [q1, q2], 'oldest first while votes tie');
  await vote(a, q2);
  await voteByKeyboard(b, q2);
  await order(all, [q2, q1], 'the voted question on top');
  await accessible(a, 'the attendee room with a voted question');

  // A reload keeps B's vote (the stored token is the same participant).
  await b.reload();
  await b.locator('#stage-video').waitFor();
  await until(b, votedFor, q2, 'B to still have its vote after a reload');

  // The moderator pins the first question: it goes on top everywhere.
  await control(mod, q1, 'Pin');
  await order(all, [q1, q2], 'the pinned question on top');
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

  // The presenter shares a screen: a preview in the studio, the screen on
  // the stage with the camera in a corner, which attendees can move and hide.
  await presenter.click('#share');
  await until(presenter, () => document.querySelector('#share')?.textContent === 'Stop sharing', null, 'the share to start');
  await until(presenter, () => document.querySelector('#screen-preview')?.videoWidth > 0, null, 'the studio\'s preview of the shared screen');
  await until(presenter, () => /your screen, with your camera small/.test(document.querySelector('#audience-view').textContent), null, 'the studio to say what attendees see');
  for (const [name, page] of [['A', a], ['B', b]]) {
    await until(page, () => document.querySelector('#stage-video')?.dataset.showing === 'screen' &&
      !document.querySelector('#pip-video').hidden && document.querySelector('#stage-video').videoWidth > 0,
    null, `the screen on ${name}'s stage`);
  }
  await accessible(presenter, 'the studio, live and sharing');
  await presenter.screenshot({ path: join(shots, 'studio.png') });
  await a.click('#pip-move');
  assert.ok(await a.locator('#pip-video.corner-bl').count(), 'the camera inset moves');
  await a.click('#pip-toggle');
  assert.ok(await a.locator('#pip-video').isHidden(), 'the camera inset hides');
  assert.equal(await a.locator('#pip-toggle').innerText(), 'Show camera');
  await a.click('#pip-toggle');
  assert.ok(await a.locator('#pip-video').isVisible());
  await a.locator('#volume').fill('0.3');
  assert.equal(await a.evaluate(() => document.querySelector('#room-audio').volume), 0.3);
  await a.click('#mute-audio');
  assert.equal(await a.evaluate(() => document.querySelector('#room-audio').muted), true);
  await a.click('#mute-audio');
  await a.click('#fullscreen');
  await until(a, () => document.fullscreenElement?.classList.contains('stage'), null, 'the stage in full screen');
  await a.click('#fullscreen');
  await until(a, () => !document.fullscreenElement, null, 'full screen left');
  await accessible(a, 'the attendee room with a shared screen');
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
  await accessible(phone, 'the attendee room on a phone');
  await phone.screenshot({ path: join(shots, 'attendee-phone.png') });
  await phone.close();

  // Approval: a question waits, counted and filtered in the console.
  await mod.click('#setting-questions_need_approval');
  await until(a, () => document.querySelector('#question-input') !== null, null, 'the Ask box');
  const q3 = 'Can this wait for approval?';
  await ask(a, q3);
  await until(mod, () => document.querySelector('#qa-filter-pending')?.textContent === 'Awaiting approval (1)', null, 'the pending count');
  await mod.click('#qa-filter-pending');
  assert.deepEqual(await questionOrder(mod), [q3], 'the filter shows only what awaits approval');
  await control(mod, q3, 'Approve');
  await until(mod, () => document.querySelector('#qa-filter-pending')?.textContent === 'Awaiting approval (0)', null, 'nothing left to approve');
  await mod.click('#qa-filter-all');
  await mod.click('#setting-questions_need_approval');
  await control(mod, q3, 'Hide');
  await order({ 'attendee A': a }, [q1], 'the approved question hidden again');

  // A chat message made a question is marked so; deleting asks first.
  await mod.locator('.chat-list li').filter({ hasText: 'Hello from Grace' }).getByRole('button', { name: /Make Grace/ }).click();
  await mod.locator('.chat-list li').filter({ hasText: 'Hello from Grace' }).locator('.badge.promoted').waitFor();
  await order({ 'attendee A': a }, [q1, 'Hello from Grace'], 'the promoted message in Q&A');
  await control(mod, 'Hello from Grace', 'Hide');
  await mod.locator('.chat-list li').filter({ hasText: XSS }).getByRole('button', { name: /Delete/ }).click();
  assert.ok(mod.dialogs.some((d) => d.type === 'confirm' && /Delete this message/.test(d.message)), 'Delete asks first');
  await a.locator('.chat-list .body').filter({ hasText: XSS }).waitFor({ state: 'detached' });

  // A busy Q&A scrolls inside its column: the console stays one screen.
  const aToken = await a.evaluate((s) => localStorage.getItem(`podium.token.${s}.attend`), slug);
  for (let i = 0; i < 25; i++) {
    await a.evaluate(async ([s, t, n]) => {
      await fetch(`/api/rooms/${s}/questions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ body: `Filler question number ${n}, long enough to take a line or two in the list` }),
      });
    }, [slug, aToken, i]);
  }
  await until(mod, () => document.querySelectorAll('.console .qa-list li').length >= 27, null, 'the questions in the console');
  const layout = await mod.evaluate(() => {
    const list = document.querySelector('.console .qa-list');
    return { page: document.documentElement.scrollHeight, screen: innerHeight, list: list.scrollHeight, box: list.clientHeight };
  });
  assert.ok(layout.page <= layout.screen + 1, `the console does not grow past the screen: ${JSON.stringify(layout)}`);
  assert.ok(layout.list > layout.box, `the questions scroll in their box: ${JSON.stringify(layout)}`);
  for (const page of [a, mod]) {
    await page.evaluate(async ([s, t]) => {
      const { questions } = await (await fetch(`/api/rooms/${s}/questions`, { headers: { authorization: `Bearer ${t}` } })).json();
      void questions;
    }, [slug, aToken]);
  }
  const staffToken = await mod.evaluate((s) => localStorage.getItem(`podium.token.${s}.moderate`), slug);
  await mod.evaluate(async ([s, t]) => {
    const { questions } = await (await fetch(`/api/rooms/${s}/questions`, { headers: { authorization: `Bearer ${t}` } })).json();
    for (const q of questions.filter((x) => x.body.startsWith('Filler'))) {
      await fetch(`/api/rooms/${s}/questions/${q.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hidden: true }),
      });
    }
  }, [slug, staffToken]);
  await order({ 'attendee A': a }, [q1], 'the filler hidden');

  // The studio is reloaded mid-broadcast: the browser asks first; the
  // studio resumes by itself with the same devices; attendees hear that
  // the presenter is reconnecting, never that they should wait.
  await presenter.click('#share');
  await until(a, () => document.querySelector('#stage-video')?.dataset.showing === 'camera', null, 'the camera back on A\'s stage');
  await recordOverlay(a);
  const reloaded = Date.now();
  await presenter.reload();
  assert.ok(presenter.dialogs.some((d) => d.type === 'beforeunload'), 'leaving a live studio asks first');
  await until(presenter, () => document.querySelector('#go-live')?.textContent === 'Stop broadcast' &&
    document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to resume the broadcast by itself');
  console.log(`webapp: the studio was live again ${Date.now() - reloaded} ms after its reload`);
  await watching(a, 'attendee A after the studio reload');
  const seen = await a.evaluate(() => window.overlaySeen);
  assert.ok(!seen.includes('Waiting for the presenter…'), `attendees were not told to wait: ${JSON.stringify(seen)}`);
  assert.ok(seen.includes('The presenter is reconnecting…'), `attendees were told the presenter reconnects: ${JSON.stringify(seen)}`);

  // The moderator removes B, who is told why and stays out: after a
  // reload, and with the page's storage wiped, under another name.
  await mod.locator('.people li').filter({ hasText: XSS }).getByRole('button', { name: /Remove/ }).click();
  await b.getByText('A moderator removed you').waitFor();
  await b.reload();
  await b.getByText('A moderator removed you').waitFor();
  assert.equal(await b.locator('#join-name').count(), 0, 'no join form for a removed browser');
  await b.evaluate(() => localStorage.clear());
  await b.reload();
  await b.fill('#join-name', 'Totally someone else');
  await b.fill('#join-password', 'open sesame');
  await b.getByRole('button', { name: 'Join' }).click();
  await b.getByText('A moderator removed you').waitFor();
  // A locked room keeps out whoever comes from a fresh browser.
  await mod.click('#setting-locked');
  const late = await newPage();
  await late.goto(attendUrl);
  await late.getByText('This room is locked').waitFor();
  assert.equal(await late.locator('#join-name').count(), 0);
  await mod.click('#setting-locked');

  // The presenter answers live and ends the session: attendees see the
  // end with the questions still readable, the presenter the report.
  await control(mod, q1, 'Answer');
  await mod.fill('.answer-editor textarea', 'Linearly, per core.');
  // Another change redraws the question list: the half-written answer
  // stays where it was.
  await mod.evaluate(() => (window.listBefore = document.querySelector('.qa-list li')));
  await mod.click('#setting-chat_enabled');
  await until(mod, () => document.querySelector('.qa-list li') !== window.listBefore, null, 'the list redrawn');
  assert.equal(await mod.locator('.answer-editor textarea').inputValue(), 'Linearly, per core.');
  await mod.click('#setting-chat_enabled');
  await mod.getByRole('button', { name: 'Save answer' }).click();
  await until(a, () => document.querySelector('.qa-list .answer')?.textContent === 'Answer: Linearly, per core.', null, 'the answer on A\'s page');
  await presenter.click('#end');
  await presenter.waitForURL(/\/report#key=/);
  await presenter.locator('#attendance-chart').waitFor();
  await accessible(presenter, 'the report');
  await presenter.screenshot({ path: join(shots, 'report.png'), fullPage: true });
  // The report's chart has one point per attendance sample the API gives,
  // and axes that read.
  const report = await presenter.evaluate(async () => {
    const slug_ = location.pathname.split('/')[2];
    const token = localStorage.getItem(`podium.token.${slug_}.present`);
    const stats = await (await fetch(`/api/rooms/${slug_}/stats`, { headers: { authorization: `Bearer ${token}` } })).json();
    return {
      samples: stats.timeline.length,
      points: document.querySelectorAll('#attendance-chart circle.point').length,
      yTicks: document.querySelectorAll('#attendance-chart .y-tick').length,
      xTicks: document.querySelectorAll('#attendance-chart .x-tick').length,
      questions: [...document.querySelectorAll('.top-questions .body')].map((e) => e.textContent),
      peak: document.querySelector('#stat-peak .value').textContent,
      statsPeak: stats.peak_concurrent,
      explained: [...document.querySelectorAll('.tile')].every((t) => t.querySelector('.what')?.textContent.length > 10),
    };
  });
  assert.ok(report.samples >= 2, `attendance was sampled: ${report.samples}`);
  assert.equal(report.points, report.samples, 'one chart point per sample');
  assert.ok(report.yTicks >= 2 && report.xTicks >= 1, `the chart has axes: ${JSON.stringify(report)}`);
  assert.deepEqual(report.questions, [q1], 'the top questions, without the hidden ones');
  assert.equal(report.peak, String(report.statsPeak));
  assert.ok(report.explained, 'every figure says what it counts');
  await a.locator('#ended').waitFor();
  await a.locator('.final-qa li').filter({ hasText: q1 }).getByText('Answer: Linearly, per core.').waitFor();
  await accessible(a, 'the end screen');
  await mod.waitForURL(/\/report/);
  await mod.locator('#attendance-chart').waitFor();

  // The presenter's and the moderator's links, opened in other browsers
  // after the end, open the report and download every CSV.
  for (const [who, url] of [['presenter', presentUrl], ['moderator', moderateUrl]]) {
    const other = await newPage();
    await other.goto(url);
    await other.waitForURL(/\/report#key=/);
    await other.locator('#attendance-chart').waitFor();
    for (const [label, want] of [
      ['Participants (CSV)', /^name,role,first_joined/],
      ['Chat (CSV)', /^id,sent_at,name,role,message/],
      ['Questions (CSV)', /^id,question,author,votes,status,pinned,hidden/],
      ['Attendance over time (CSV)', /^at,concurrent/],
    ]) {
      const [download] = await Promise.all([other.waitForEvent('download'), other.getByRole('button', { name: label }).click()]);
      const body = readFileSync(await download.path(), 'utf8');
      assert.match(body, want, `${who}'s link: ${label}`);
      if (label.startsWith('Participants')) assert.match(body, /\nGrace,attendee,/, 'Grace is in the participants export');
    }
  }

  for (const page of pages) {
    assert.deepEqual(alerts(page), [], 'no user text ran as code');
    assert.deepEqual(page.failures, [], 'no request failed that the test did not mean to fail (media DELETEs and the favicon included)');
  }
});
