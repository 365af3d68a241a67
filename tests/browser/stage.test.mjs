// The stage in headless Chromium: an attendee raises a hand, the
// presenter invites her from the studio's queue, she previews her camera,
// accepts and publishes; a second attendee's page shows both videos and
// the spotlight follows who speaks (the presenter mutes: the speaker
// takes it); she leaves the stage and her picture goes from every page.
// Run inside ./netns.sh (see tests/run).

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

const attend = async (url, name) => joinAs(await personPage(browser), url, name);

// Whether a video element of the page is decoding a picture.
const decoding = (page, selector) =>
  until(page, (sel) => [...document.querySelectorAll(sel)].some((v) => v.videoWidth > 0 && v.readyState >= 2), selector, `a picture in ${selector}`, 20_000);

test('an attendee comes on stage, everyone sees her, and the spotlight follows who speaks', async () => {
  const made = await createRoom(base, 'On stage');
  const presenter = await personPage(browser);
  await presenter.goto(made.urls.present);
  // A busy machine can take a while to start the fake camera.
  await until(presenter, () => document.querySelector('#preview')?.videoWidth > 0, null, 'the camera preview', 30_000);
  await presenter.click('#go-live');
  await until(presenter, () => document.querySelector('#live-state')?.textContent === 'Live', null, 'the studio to show Live');

  const grace = await attend(made.urls.attend, 'Grace');
  const dee = await attend(made.urls.attend, 'Dee');
  const linus = await attend(made.urls.attend, 'Linus');
  await decoding(linus, '#stage-video');

  // Grace raises her hand; the presenter sees it in the Stage tab.
  await grace.click('#raise-hand');
  await until(grace, () => document.querySelector('#raise-hand').getAttribute('aria-pressed') === 'true', null, 'the hand to show raised');
  await presenter.getByRole('tab', { name: 'Stage' }).click();
  await presenter.locator('#hands li').filter({ hasText: 'Grace' }).waitFor();
  assert.match(await presenter.locator('#hands li').innerText(), /waiting \d+ s/);
  await accessible(presenter, 'the studio with a raised hand');
  await presenter.getByRole('button', { name: 'Invite Grace on stage' }).click();

  // The invitation: a preview of her camera, then accept.
  await grace.locator('#stage-invite').waitFor();
  await until(grace, () => document.querySelector('#invite-preview')?.videoWidth > 0, null, 'the invitation preview');
  await accessible(grace, 'the invitation on stage');
  await grace.click('#accept-stage');
  await grace.locator('#on-stage').waitFor();
  assert.equal(await grace.locator('#raise-hand').isVisible(), false, 'no hand to raise on stage');
  await presenter.locator('#on-stage-list li').filter({ hasText: 'Grace' }).waitFor();
  // On her own page she never hears herself back, and sees herself once.
  await until(grace, () => (document.querySelector('#stage-strip')?.textContent ?? '').includes('You'), null, 'her own camera on her page');
  // Her seat is hers once the stage's state reaches her page (her camera
  // shows from the device a moment before).
  await until(grace, () => [...document.querySelectorAll('.seat-audio')].filter((a) => !a.srcObject).length === 1, null, 'her own seat not to be played back');
  assert.equal(await linus.evaluate(() => [...document.querySelectorAll('.seat-audio')].filter((a) => !a.srcObject).length), 0, 'others hear every seat');
  // The presenter sees (and hears) her in the studio.
  await presenter.locator('#studio-speakers figure').filter({ hasText: 'Grace' }).waitFor();
  await decoding(presenter, '#studio-speakers video');

  // Linus sees both: the spotlight and Grace's (or the presenter's)
  // camera small.
  await linus.locator('#stage-strip figure').first().waitFor();
  await decoding(linus, '#stage-strip video');
  await decoding(linus, '#stage-video');
  // Dee comes on too (her microphone off), straight from an invitation.
  await presenter.getByRole('tab', { name: 'Stage' }).click();
  await dee.click('#raise-hand');
  await presenter.getByRole('button', { name: 'Invite Dee on stage' }).click();
  await dee.locator('#stage-invite').waitFor();
  await dee.click('#accept-stage');
  await dee.locator('#on-stage').waitFor();
  await dee.evaluate(() => window.podium.local()?.getAudioTracks().forEach((t) => (t.enabled = false)));
  await until(linus, () => document.querySelectorAll('#stage-strip figure').length >= 2, null, 'three on stage');
  // The presenter falls silent: the spotlight goes to Grace, who speaks.
  await presenter.click('#mute');
  await until(linus, () => document.querySelector('#stage-video').dataset.showing === 'seat-0', null, 'the spotlight on the speaker', 20_000);
  const tiles = await linus.locator('#stage-strip figcaption').allInnerTexts();
  assert.deepEqual(tiles, ['Ada', 'Dee'], 'the others go small');
  await decoding(linus, '#stage-video');
  await linus.screenshot({ path: join(shots, 'attendee-two-on-stage.png') });
  // A grid on request shows both alike.
  await linus.click('#layout');
  await until(linus, () => document.querySelectorAll('#stage-strip figure').length === 3, null, 'all three in the grid');
  await accessible(linus, 'the attendee page with a speaker on stage, as a grid');
  await linus.click('#layout');

  // The presenter speaks again and Grace leaves the stage: her picture
  // goes from every page, the spotlight is the presenter's.
  await presenter.click('#mute');
  await grace.click('#leave-stage');
  await until(grace, () => document.querySelector('#on-stage').hidden, null, 'Grace off stage');
  await until(linus, () => document.querySelector('#stage-video').dataset.showing === 'camera'
    && [...document.querySelectorAll('#stage-strip figcaption')].map((f) => f.textContent).join() === 'Dee', null, 'the presenter in the spotlight, Dee small, Grace gone');
  await until(presenter, () => !document.querySelector('#on-stage-list').textContent.includes('Grace'), null, 'the studio to see Grace off stage');
  for (const p of [presenter, grace, dee, linus]) assert.deepEqual(p.failures, [], 'no request failed');
});
