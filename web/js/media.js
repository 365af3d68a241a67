// WHIP (publish) and WHEP (watch) with RTCPeerConnection. The server is
// ICE-lite with host candidates, so no trickle is needed; sessions end with
// DELETE on their Location.

import { ApiError, backoff } from './api.js';

async function negotiate(pc, url, token) {
  // No wait for ICE gathering: the server is ICE-lite and learns our
  // address from our connectivity checks, so the offer needs no candidates
  // and the answer comes back while the browser still gathers.
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
    body: pc.localDescription.sdp,
  });
  const text = await res.text();
  if (res.status !== 201) throw ApiError.fromResponse(res.status, text);
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  return res.headers.get('location');
}

// A connection that stays disconnected this long is treated as failed:
// when the server goes away, the browser would wait ~30 s for "failed".
const STALL_MS = 3000;
// Answers after which trying again cannot help.
const REFUSED = new Set([401, 403, 410]);

// One WHIP or WHEP session that keeps itself up. `setup(pc)` adds what the
// session sends or receives. When the connection fails or stalls, or a
// negotiation fails, the old session is ended and a new one negotiated,
// with backoff, until the server refuses for good. A first negotiation
// that fails ends it too unless `retryFirst`. Gives the session's handle
// and `first`, settled by the first negotiation.
function session({ url, token, setup, onState, retryFirst = false }) {
  let closed = false;
  let current = null;
  let attempt = 0;
  let stall = null;
  let negotiated = false;
  let settle;
  const first = new Promise((resolve, reject) => (settle = { resolve, reject }));

  function end(s) {
    if (!s) return Promise.resolve();
    s.pc.close();
    return s.location
      ? fetch(s.location, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(() => {})
      : Promise.resolve();
  }

  function retry() {
    if (closed) return;
    clearTimeout(stall);
    end(current);
    current = null;
    setTimeout(() => !closed && connect(), backoff(attempt++ + 1));
  }

  async function connect() {
    const pc = new RTCPeerConnection();
    const mine = { pc, location: null };
    current = mine;
    setup(pc);
    pc.onconnectionstatechange = () => {
      if (closed || current !== mine) return;
      clearTimeout(stall);
      if (pc.connectionState === 'connected') {
        attempt = 0;
        onState?.('connected');
      } else if (pc.connectionState === 'failed') {
        onState?.('failed');
        retry();
      } else if (pc.connectionState === 'disconnected') {
        stall = setTimeout(() => {
          onState?.('failed');
          retry();
        }, STALL_MS);
      }
    };
    try {
      mine.location = await negotiate(pc, url, token);
      negotiated = true;
      settle.resolve();
    } catch (e) {
      if (current !== mine) return;
      if (REFUSED.has(e.status) || (!negotiated && !retryFirst)) {
        closed = true;
        current = null;
        pc.close();
        if (REFUSED.has(e.status)) onState?.('refused');
        settle.reject(e);
      } else {
        retry();
      }
    }
  }

  connect();
  const handle = {
    pc: () => current?.pc,
    // Asks the server whether it still has this session (it has not after
    // a restart, long before the browser notices): if not, reconnect now.
    async check() {
      const s = current;
      if (closed || !s?.location) return;
      const res = await fetch(s.location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', authorization: `Bearer ${token}` },
        body: 'a=end-of-candidates\r\n',
      }).catch(() => null);
      if (res?.status === 404 && current === s) {
        attempt = 0;
        retry();
      }
    },
    stop() {
      closed = true;
      clearTimeout(stall);
      const s = current;
      current = null;
      return end(s);
    },
    // Closes without telling the server, which already ended the session
    // (a removal, the end of the room): a DELETE would only get an error.
    abandon() {
      closed = true;
      clearTimeout(stall);
      current?.pc.close();
      current = null;
    },
  };
  return { handle, first };
}

// Publishes as `kind` ("camera" or "screen") the tracks `tracks()` gives
// at each (re)connection, so a camera switched meanwhile is the one sent.
// Resolves with the session once the server has accepted it.
export async function publish({ slug, token, tracks, kind }) {
  const { handle, first } = session({
    url: `/api/rooms/${slug}/whip?kind=${kind}`,
    token,
    setup: (pc) => {
      const list = tracks();
      const stream = new MediaStream(list);
      for (const track of list) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    },
  });
  await first;
  return handle;
}

// Watches a room: audio, camera video and screen video, one session that
// outlives the presenter's reconnects. Calls onTracks({audio, camera,
// screen}) with MediaStreams as tracks arrive, onState('connected' |
// 'failed' | 'refused') as the connection changes, and reconnects itself
// when it fails, the first attempt included.
export function watch({ slug, token, onTracks, onState }) {
  const { handle, first } = session({
    url: `/api/rooms/${slug}/whep`,
    token,
    onState,
    retryFirst: true,
    setup: (pc) => {
      const audio = pc.addTransceiver('audio', { direction: 'recvonly' });
      const camera = pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const streams = { audio: new MediaStream(), camera: new MediaStream(), screen: new MediaStream() };
      pc.ontrack = (e) => {
        const which = e.transceiver === audio ? 'audio' : e.transceiver === camera ? 'camera' : 'screen';
        streams[which].addTrack(e.track);
        onTracks(streams);
      };
    },
  });
  // A refusal is told through onState.
  first.catch(() => {});
  return handle;
}
