// Polls and reactions on the pages, in headless Chromium: a moderator
// prepares a poll (attendees do not see the draft), opens it, two
// attendees vote and one changes their mind, every page shows the counts
// as they come, the moderator closes it; attendees react and the emoji
// rise over the stage on every page (and still appear, without rising,
// for a reader who asked for reduced motion); the report shows the poll
// and the reactions over time. axe-core checks each new page state.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { start, root, until, personPage, accessible, createRoom, joinAs } from './harness.mjs';

const shots = join(root, 'target', 'screenshots');
let base;
let browser;
let stop;

before(async () => {
  ({ base, browser, stop } = await start());
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await stop?.();
});

async function join_(page, url, name) {
  await page.goto(url);
  // One line says what the room keeps, and for how long.
  assert.match(await page.locator('#privacy-line').innerText(), /keeps your name, messages, questions and poll votes until 30 days after it ends/);
  await joinAs(page, url, name);
}

// The counts a page shows for the poll, option by option.
const counts = (page) => page.locator('.poll-results li .count').allInnerTexts();

test('a poll from draft to results, and reactions over the stage, on every page', async () => {
  const made = await createRoom(base, 'Polls and reactions');
  const presenter = await personPage(browser);
  await presenter.goto(made.urls.present);
  await presenter.locator('#preview').waitFor();
  const moderator = await personPage(browser);
  await moderator.goto(made.urls.moderate);
  await moderator.fill('#join-name', 'Mo');
  await moderator.getByRole('button', { name: 'Open the console' }).click();
  await moderator.locator('#poll-question').waitFor();
  const a = await personPage(browser);
  await join_(a, made.urls.attend, 'Grace');
  const b = await personPage(browser, { viewport: { width: 375, height: 740 }, reducedMotion: 'reduce' });
  await join_(b, made.urls.attend, 'Linus');

  // A draft: the moderator sees it, attendees do not.
  await moderator.fill('#poll-question', 'Which part next?');
  await moderator.fill('#poll-options', 'Stage\nRecording\n\nCluster');
  await moderator.getByRole('button', { name: 'Save as draft' }).click();
  await moderator.locator('.poll.is-draft').waitFor();
  await accessible(moderator, 'the moderator console with a draft poll');
  await a.getByRole('tab', { name: 'Polls' }).click();
  await a.waitForTimeout(300);
  assert.equal(await a.locator('.poll').count(), 0, 'attendees never see a draft');
  assert.match(await a.locator('.polls .empty').innerText(), /No poll yet/);
  await a.getByRole('tab', { name: 'Q&A' }).click();

  // Opened: it appears for attendees, with a mark on the Polls tab.
  await moderator.getByRole('button', { name: 'Open', exact: true }).click();
  await until(a, () => document.querySelector('#tab-polls .tab-count:not([hidden])'), null, 'a mark on the Polls tab');
  await a.getByRole('tab', { name: 'Polls' }).click();
  await a.locator('.poll.is-open .ballot').waitFor();
  await accessible(a, 'the attendee page with an open poll');
  await a.getByRole('radio', { name: 'Recording' }).check();
  await a.getByRole('button', { name: 'Vote' }).click();
  await until(a, () => document.querySelector('.poll-results .is-mine')?.textContent.includes('Recording'), null, 'Grace to see her choice');
  await b.getByRole('tab', { name: 'Polls' }).click();
  await b.getByRole('radio', { name: 'Stage' }).check();
  await b.getByRole('button', { name: 'Vote' }).click();
  for (const [who, page] of [['Grace', a], ['the moderator', moderator], ['the presenter', presenter]]) {
    if (page === presenter) await presenter.getByRole('tab', { name: 'Polls' }).click();
    await until(page, () => [...document.querySelectorAll('.poll-results li .count')].map((e) => e.textContent).join('|') === '1 · 50 %|1 · 50 %|0 · 0 %', null, `${who} to see 1, 1, 0`);
  }
  // A change of mind replaces the vote.
  await b.getByRole('radio', { name: 'Recording' }).check();
  await b.getByRole('button', { name: 'Change my vote' }).click();
  await until(moderator, () => [...document.querySelectorAll('.poll-results li .count')].map((e) => e.textContent).join('|') === '0 · 0 %|2 · 100 %|0 · 0 %', null, 'the moderator to see 0, 2, 0');
  assert.deepEqual(await counts(a), ['0 · 0 %', '2 · 100 %', '0 · 0 %']);
  assert.match(await moderator.locator('.poll .meta').innerText(), /2 voters/);
  assert.doesNotMatch(await moderator.locator('.polls').innerText(), /Grace|Linus/, 'nobody sees who chose what');

  // Closed: no more ballots, the results stay.
  await moderator.getByRole('button', { name: 'Close', exact: true }).click();
  await a.locator('.poll.is-closed').waitFor();
  assert.equal(await a.locator('.ballot').count(), 0);
  assert.deepEqual(await counts(a), ['0 · 0 %', '2 · 100 %', '0 · 0 %']);

  // Reactions rise over the stage on the other pages.
  const seen = (page) => until(page, () => document.querySelector('.reaction-layer .float')?.textContent === '👏', null, 'applause over the stage');
  for (let i = 0; i < 3; i++) await a.getByRole('button', { name: 'Applause' }).click();
  await Promise.all([seen(b), seen(moderator), seen(presenter)]);
  // Reduced motion: still shown, fading in place rather than rising.
  const anim = (page) => page.locator('.reaction-layer .float').first().evaluate((e) => getComputedStyle(e).animationName);
  assert.equal(await anim(b), 'fade');
  assert.equal(await anim(moderator), 'rise');
  await a.screenshot({ path: join(shots, 'attendee-poll-reactions.png') });
  // Too many at once: the page says so, and the server counted only those
  // it accepted.
  await a.evaluate(() => {
    const heart = document.querySelector('.reactions-bar [aria-label="Heart"]');
    for (let i = 0; i < 14; i++) heart.click();
  });
  await a.locator('.reaction-status .notice').waitFor();
  assert.match(await a.locator('.reaction-status').innerText(), /a few reactions a second/);

  // The report: the poll's final counts and the reactions by minute.
  const host = await (await fetch(`${base}/api/rooms/${made.slug}/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Ada', key: made.host_key }),
  })).json();
  const end = await fetch(`${base}/api/rooms/${made.slug}`, { method: 'DELETE', headers: { authorization: `Bearer ${host.token}` } });
  assert.equal(end.status, 200);
  const stats = await (await fetch(`${base}/api/rooms/${made.slug}/stats`, { headers: { authorization: `Bearer ${made.host_key}` } })).json();
  const report = await personPage(browser);
  await report.goto(`${base}/r/${made.slug}/report#key=${encodeURIComponent(made.host_key)}`);
  await report.locator('#reactions-chart').waitFor();
  assert.equal(await report.locator('#stat-reactions .value').innerText(), String(stats.total_reactions));
  // Grace's allowance (a burst of 10, 5 a second after) took the claps
  // and some of the 14 hearts: at least the burst, never all 17.
  assert.ok(stats.total_reactions >= 10 && stats.total_reactions < 17, `reactions counted: ${stats.total_reactions}`);
  const byMinute = stats.reactions_timeline.flatMap((m) => Object.values(m.counts)).reduce((x, y) => x + y, 0);
  assert.equal(byMinute, stats.total_reactions, 'the timeline adds up to the total');
  assert.deepEqual(await report.locator('.report-polls .count').allInnerTexts(), ['0 · 0 %', '2 · 100 %', '0 · 0 %']);
  await accessible(report, 'the report with a poll and reactions');
  // The presenter erases the session's data: the numbers stay.
  await report.click('#erase-data');
  await report.locator('#erased-note').waitFor();
  assert.equal(await report.locator('#stat-reactions .value').innerText(), String(stats.total_reactions));
  assert.equal(await report.getByRole('button', { name: 'Chat (CSV)' }).count(), 0, 'no chat left to download');
  assert.equal(await report.locator('.report-polls').count(), 0, 'no poll texts left');
  await accessible(report, 'the report of an erased session');
  // The landing page says the same to presenters.
  await report.goto(base);
  await until(report, () => /until 30 days after a session ends/.test(document.querySelector('#privacy-line')?.textContent), null, 'the landing page privacy line');
  for (const p of [presenter, moderator, a, report]) {
    assert.deepEqual(p.failures, [], 'no request failed');
  }
  assert.deepEqual(b.failures, []);
});
