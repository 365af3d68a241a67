// WHIP (publish) and WHEP (watch) with RTCPeerConnection. The server is
// ICE-lite with host candidates, so no trickle is needed; sessions end with
// DELETE on their Location.

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
  if (res.status !== 201) {
    let message = text;
    try {
      message = JSON.parse(text).error.message;
    } catch {
      /* plain text */
    }
    throw Object.assign(new Error(message || `HTTP ${res.status}`), { status: res.status });
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  return res.headers.get('location');
}

function stopper(pc, location, token) {
  return async () => {
    pc.close();
    if (location) {
      await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(() => {});
    }
  };
}

// Publishes a stream's tracks as `kind` ("camera" or "screen").
export async function publish({ slug, token, stream, kind }) {
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  const location = await negotiate(pc, `/api/rooms/${slug}/whip?kind=${kind}`, token);
  return { pc, location, stop: stopper(pc, location, token) };
}

// Watches a room: audio, camera video and screen video, one session that
// outlives the presenter's reconnects. Calls onTracks({audio, camera,
// screen}) with MediaStreams as tracks arrive, onState('connected' |
// 'failed') as the connection changes, and reconnects itself on failure.
export function watch({ slug, token, onTracks, onState }) {
  let closed = false;
  let session = null;
  let attempt = 0;

  async function connect() {
    const pc = new RTCPeerConnection();
    const audio = pc.addTransceiver('audio', { direction: 'recvonly' });
    const camera = pc.addTransceiver('video', { direction: 'recvonly' });
    const screen = pc.addTransceiver('video', { direction: 'recvonly' });
    const streams = { audio: new MediaStream(), camera: new MediaStream(), screen: new MediaStream() };
    pc.ontrack = (e) => {
      const which = e.transceiver === audio ? 'audio' : e.transceiver === camera ? 'camera' : 'screen';
      streams[which].addTrack(e.track);
      onTracks(streams);
    };
    pc.onconnectionstatechange = () => {
      if (closed) return;
      if (pc.connectionState === 'connected') {
        attempt = 0;
        onState?.('connected');
      }
      if (pc.connectionState === 'failed') {
        onState?.('failed');
        retry();
      }
    };
    try {
      const location = await negotiate(pc, `/api/rooms/${slug}/whep`, token);
      session = { pc, stop: stopper(pc, location, token) };
    } catch (e) {
      pc.close();
      if (e.status === 401 || e.status === 403 || e.status === 410) {
        onState?.('refused');
        return;
      }
      retry();
    }
  }

  function retry() {
    if (closed) return;
    session?.stop();
    session = null;
    const delay = Math.min(8000, 500 * 2 ** attempt++);
    setTimeout(() => !closed && connect(), delay);
  }

  connect();
  return {
    stop() {
      closed = true;
      session?.stop();
    },
    pc: () => session?.pc,
  };
}
