// The live room's WebSocket session (docs/PROTOCOL.md): hello, welcome
// snapshots, events, requests answered by `ack`, and reconnection with the
// shared backoff. Every server frame goes out as a `frame` event (the room
// state reduces them) and as an event of its own type; UI code never sees
// the socket.

import { ApiError, backoff } from './api.js';

export class LiveSession extends EventTarget {
  constructor(slug, token) {
    super();
    this.slug = slug;
    this.token = token;
    this.ws = null;
    this.attempt = 0;
    this.closed = false;
    this.nextRef = 1;
    this.pending = new Map();
    this.state = 'connecting';
  }

  start() {
    this.connect();
    return this;
  }

  stop() {
    this.closed = true;
    this.ws?.close(1000);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('status', state);
  }

  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/rooms/${this.slug}/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token: this.token }));
    ws.onmessage = (e) => {
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (e) => this.onClose(e);
  }

  onFrame(frame) {
    if (frame.type === 'welcome') {
      this.attempt = 0;
      this.setState('open');
    }
    // The server closes after these: do not reconnect.
    if (frame.type === 'room.ended') this.state = 'ended';
    if ((frame.type === 'ack' || frame.type === 'error') && frame.ref != null && this.pending.has(frame.ref)) {
      const { resolve, reject, timer } = this.pending.get(frame.ref);
      clearTimeout(timer);
      this.pending.delete(frame.ref);
      if (frame.type === 'ack') resolve(frame.result);
      else reject(new ApiError(0, frame.code, frame.message));
      return;
    }
    this.emit('frame', frame);
    this.emit(frame.type, frame);
  }

  onClose(e) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new ApiError(0, 'disconnected', 'The connection dropped. Try again.'));
    }
    this.pending.clear();
    if (this.closed || this.state === 'ended') return;
    if (e.code === 4003) {
      this.setState('kicked');
      return;
    }
    if (e.code === 4001) {
      this.setState('unauthorized');
      return;
    }
    const delay = backoff(this.attempt);
    this.attempt += 1;
    this.setState('reconnecting');
    setTimeout(() => this.connect(), delay);
  }

  // Sends an action; resolves with what REST would have returned.
  request(type, fields = {}) {
    return new Promise((resolve, reject) => {
      if (this.ws?.readyState !== WebSocket.OPEN || this.state !== 'open') {
        reject(new ApiError(0, 'disconnected', 'Reconnecting. Try again in a moment.'));
        return;
      }
      const ref = this.nextRef++;
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new ApiError(0, 'timeout', 'No answer from the server.'));
      }, 10_000);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type, ref, ...fields }));
    });
  }
}

// A client_id makes a send idempotent: a retry after a reconnect is stored once.
export function clientId() {
  // getRandomValues, unlike randomUUID, also works outside secure contexts.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
