// The room as this page knows it: one reducer, `apply(frame)`, fed every
// frame of the live session (and nothing else). Panels only render it:
// they listen for `change`, whose detail is the frame just applied.

const STAFF = new Set(['moderator', 'presenter']);

export class RoomState extends EventTarget {
  constructor() {
    super();
    this.me = null;
    this.room = null;
    this.messages = [];
    this.questions = new Map();
    this.myVotes = new Set();
    this.participants = new Map();
    this.count = 0;
    this.media = { live: false, screen: false, reconnecting: false };
    this.polls = new Map();
    this.myChoices = new Map();
    // The stage: who is on it (the presenter first), raised hands (staff),
    // this participant's own hand and invitation.
    this.speakers = [];
    this.hands = [];
    this.myHand = false;
    this.invited = false;
    this.ended = null;
  }

  get staff() {
    return STAFF.has(this.me?.role);
  }

  // Applies every frame of `live` from now on.
  attach(live) {
    live.addEventListener('frame', (e) => this.apply(e.detail));
    return this;
  }

  apply(frame) {
    const reduce = REDUCERS[frame.type];
    if (!reduce) return;
    reduce(this, frame);
    this.dispatchEvent(new CustomEvent('change', { detail: frame }));
  }

  // Calls `render` now and after every frame of one of `types`.
  watch(types, render) {
    const set = new Set(types);
    this.addEventListener('change', (e) => set.has(e.detail.type) && render(e.detail));
  }

  // Whether this participant is on stage as a speaker now.
  get onStage() {
    return this.speakers.some((p) => p.id === this.me?.id && p.role === 'speaker');
  }

  // The speaker (participant) whose camera is in each seat of the viewer.
  nameOf(id) {
    return this.speakers.find((p) => p.id === id)?.name ?? '';
  }

  // Questions that wait for a moderator's approval.
  get pending() {
    return [...this.questions.values()].filter((q) => q.status === 'pending');
  }

  // Chat messages that were made into questions.
  get promoted() {
    return new Set([...this.questions.values()].map((q) => q.source_message_id).filter((id) => id != null));
  }
}

// Broadcasts leave out voted_by_me; ours is kept from the last we heard.
function merge(state, q) {
  state.questions.set(q.id, { ...state.questions.get(q.id), ...q });
}

const REDUCERS = {
  welcome(s, w) {
    s.me = w.participant;
    s.room = w.room;
    s.messages = w.messages;
    s.questions = new Map(w.questions.map((q) => [q.id, q]));
    s.myVotes = new Set(w.questions.filter((q) => q.voted_by_me).map((q) => q.id));
    s.participants = new Map((w.participants ?? []).map((p) => [p.id, p]));
    s.count = w.presence.count;
    s.media = { reconnecting: false, seats: [], speaker: null, ...w.media };
    s.speakers = w.stage?.speakers ?? [];
    s.hands = w.stage?.hands ?? [];
    s.myHand = Boolean(w.stage?.hand_raised);
    s.invited = Boolean(w.stage?.invited);
    s.polls = new Map((w.polls ?? []).map((p) => [p.id, p]));
    s.myChoices = new Map((w.polls ?? []).filter((p) => p.my_choice).map((p) => [p.id, p.my_choice]));
  },
  'poll.created'(s, f) {
    s.polls.set(f.poll.id, { ...s.polls.get(f.poll.id), ...f.poll });
  },
  'poll.updated'(s, f) {
    s.polls.set(f.poll.id, { ...s.polls.get(f.poll.id), ...f.poll });
  },
  // The voter's own choice and the counts with it, to them alone.
  'poll.voted'(s, f) {
    s.polls.set(f.poll.id, { ...s.polls.get(f.poll.id), ...f.poll });
    if (f.poll.my_choice) s.myChoices.set(f.poll.id, f.poll.my_choice);
  },
  'poll.removed'(s, f) {
    s.polls.delete(f.id);
    s.myChoices.delete(f.id);
  },
  // Nothing to keep: the stage shows them as they pass.
  reactions() {},
  'room.updated'(s, f) {
    s.room = f.room;
  },
  // Recording stopped by itself (to staff): the next room.updated says
  // it is off; the page says why.
  'recording.stopped'() {},
  presence(s, f) {
    s.count = f.count;
  },
  'media.state'(s, f) {
    s.media = { ...s.media, live: f.live, screen: f.screen, reconnecting: Boolean(f.reconnecting), seats: f.seats ?? [] };
  },
  'media.speaker'(s, f) {
    s.media = { ...s.media, speaker: f.participant_id };
  },
  hands(s, f) {
    s.hands = f.hands;
  },
  'hand.state'(s, f) {
    s.myHand = f.raised;
  },
  'stage.invited'(s) {
    s.invited = true;
  },
  'stage.updated'(s, f) {
    s.speakers = f.speakers;
    if (f.speakers.some((p) => p.id === s.me?.id)) {
      s.invited = false;
      s.myHand = false;
    }
  },
  'chat.message'(s, f) {
    if (!s.messages.some((m) => m.id === f.message.id)) s.messages.push(f.message);
  },
  'chat.deleted'(s, f) {
    s.messages = s.messages.filter((m) => m.id !== f.id);
  },
  'question.created'(s, f) {
    if (f.question.voted_by_me) s.myVotes.add(f.question.id);
    merge(s, f.question);
  },
  'question.updated'(s, f) {
    merge(s, f.question);
  },
  'questions.updated'(s, f) {
    f.questions.forEach((q) => merge(s, q));
  },
  'question.removed'(s, f) {
    s.questions.delete(f.id);
  },
  // The voter's own exact count, sent to them alone.
  'question.voted'(s, f) {
    const q = s.questions.get(f.id);
    if (q) q.votes = f.votes;
    if (f.voted_by_me) s.myVotes.add(f.id);
    else s.myVotes.delete(f.id);
  },
  'participant.joined'(s, f) {
    s.participants.set(f.participant.id, f.participant);
  },
  'participant.left'(s, f) {
    s.participants.delete(f.id);
  },
  'participants.updated'(s, f) {
    for (const p of f.joined) s.participants.set(p.id, p);
    for (const id of f.left) s.participants.delete(id);
  },
  'room.ended'(s, f) {
    s.ended = f.stats;
  },
};
