// The stage on the pages: an attendee's raised hand, the invitation (a
// preview of their camera and microphone, accept or decline), being on
// stage (publishing their camera and microphone, stepping down), and for
// staff the queue of hands (in the order raised, with how long each has
// waited) and who is on stage.

import { h } from './dom.js';
import { publish } from './media.js';
import { act, errorLine as say } from './panels.js';

// "2 min", "40 s": how long someone has waited.
export function waited(since, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min`;
}

// The attendee's hand: raise it, lower it.
export function handButton(live, state) {
  const status = h('span', { class: 'hand-status', 'aria-live': 'polite' });
  const button = h('button', {
    class: 'small hand',
    id: 'raise-hand',
    'aria-pressed': 'false',
    onclick: () => act(live, status, state.myHand ? 'hand.lower' : 'hand.raise', {}),
  }, '✋ Raise hand');
  const root = h('span', { class: 'hand-box' }, button, status);
  const render = () => {
    root.hidden = state.me?.role !== 'attendee' || state.onStage;
    button.setAttribute('aria-pressed', String(state.myHand));
    button.textContent = state.myHand ? '✋ Lower hand' : '✋ Raise hand';
  };
  state.watch(['welcome', 'hand.state', 'stage.updated'], render);
  return root;
}

// The invitation and being on stage, for an attendee. `onLocal(stream)`
// shows the speaker their own camera (null when off stage).
export function stageSeat(live, state, { slug, token, onLocal }) {
  const status = h('div', { class: 'panel-status' });
  const preview = h('video', { id: 'invite-preview', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your camera' });
  preview.muted = true;
  let local = null;
  let session = null;
  const accept = h('button', { class: 'primary', id: 'accept-stage', onclick: () => join() }, 'Join the stage');
  const decline = h('button', { class: 'secondary', id: 'decline-stage', onclick: () => no() }, 'Not now');
  const prompt = h(
    'section',
    { class: 'invite', id: 'stage-invite', role: 'dialog', 'aria-labelledby': 'invite-title', hidden: true },
    h('h2', { id: 'invite-title' }, 'You are invited on stage'),
    h('p', {}, 'Everyone will see your camera and hear your microphone. Check them here first.'),
    preview,
    h('div', { class: 'row' }, accept, decline),
    status,
  );
  const leave = h('button', { class: 'small danger', id: 'leave-stage', onclick: () => stepDown() }, 'Leave the stage');
  const barStatus = h('span', { class: 'panel-status' });
  const bar = h('div', { class: 'on-stage', id: 'on-stage', role: 'status', hidden: true }, h('strong', {}, 'You are on stage'), leave, barStatus);

  async function devices() {
    if (local) return local;
    local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    return local;
  }

  // Diagnostics for tests and support: the speaker's own camera and
  // microphone.
  window.podium = Object.assign(window.podium ?? {}, { local: () => local });

  function release() {
    local?.getTracks().forEach((t) => t.stop());
    local = null;
    preview.srcObject = null;
    onLocal?.(null);
  }

  async function join() {
    accept.disabled = true;
    try {
      const stream = await devices();
      if (!(await act(live, status, 'stage.accept', {}))) return;
      session = await publish({ slug, token, kind: 'camera', tracks: () => stream.getTracks() });
      onLocal?.(stream);
    } catch (e) {
      say(status, e);
    } finally {
      accept.disabled = false;
    }
  }

  async function no() {
    await act(live, status, 'stage.decline', {});
    state.invited = false;
    release();
    render();
  }

  async function stepDown() {
    await act(live, barStatus, 'stage.remove', { id: state.me.id });
  }

  function render() {
    prompt.hidden = !state.invited || state.onStage;
    bar.hidden = !state.onStage;
    if (!prompt.hidden && !local) {
      devices().then((s) => (preview.srcObject = s)).catch((e) => say(status, e));
    }
    // Off stage (stepped down or taken off): the server ended the
    // session; stop the camera and microphone here too.
    if (!state.onStage && session) {
      session.abandon?.();
      session = null;
      release();
    }
  }
  state.watch(['welcome', 'stage.invited', 'stage.updated'], render);
  return { prompt, bar };
}

// Staff: the raised hands, oldest first, and who is on stage.
export function stagePanel(live, state) {
  const status = h('div', { class: 'panel-status' });
  const hands = h('ol', { class: 'hands', id: 'hands', 'aria-label': 'Raised hands, oldest first' });
  const noHands = h('p', { class: 'empty muted' }, 'No hands raised.');
  const onStage = h('ul', { class: 'people', id: 'on-stage-list', 'aria-label': 'On stage' });
  function render() {
    noHands.hidden = state.hands.length > 0;
    hands.replaceChildren(
      ...state.hands.map((hand) =>
        h('li', { dataset: { id: hand.participant_id } },
          h('span', { class: 'who' }, hand.name, h('span', { class: 'muted waited' }, ` · waiting ${waited(hand.raised_at)}`)),
          h('span', { class: 'controls' },
            h('button', { class: 'small primary', 'aria-label': `Invite ${hand.name} on stage`, onclick: () => act(live, status, 'stage.invite', { id: hand.participant_id }) }, 'Invite'),
            h('button', { class: 'small', 'aria-label': `Lower ${hand.name}'s hand`, onclick: () => act(live, status, 'hand.lower', { id: hand.participant_id }) }, 'Lower')))),
    );
    onStage.replaceChildren(
      ...state.speakers.map((p) =>
        h('li', { dataset: { id: p.id }, class: state.media.speaker === p.id ? 'is-speaking' : null },
          h('span', { class: 'who' }, p.name, h('span', { class: `badge ${p.role}` }, p.role)),
          p.role === 'speaker'
            ? h('button', { class: 'small danger', 'aria-label': `Take ${p.name} off stage`, onclick: () => act(live, status, 'stage.remove', { id: p.id }) }, 'Take off stage')
            : null)),
    );
  }
  state.watch(['welcome', 'hands', 'stage.updated', 'media.speaker'], render);
  setInterval(render, 10_000);
  return h('section', { class: 'panel stage-panel', 'aria-label': 'Stage' },
    h('h3', {}, 'Raised hands'), noHands, hands, h('h3', {}, 'On stage'), onStage, status);
}
