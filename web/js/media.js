// WHIP (publish) and WHEP (watch) with RTCPeerConnection. The server is
// ICE-lite with host candidates (UDP, and TCP for networks that drop UDP),
// so no trickle is needed; sessions end with DELETE on their Location.
// Where the server names TURN servers, a session that cannot connect
// directly tries again through them.

import { ApiError, backoff } from './api.js';

// `Link` header values (several are joined with commas) as {url, rel, ...}.
export function parseLinks(header) {
  const links = [];
  for (const m of (header ?? '').matchAll(/<([^>]*)>((?:\s*;\s*[^;,=]+(?:=(?:"[^"]*"|[^;,]*))?)*)/g)) {
    const link = { url: m[1] };
    for (const p of m[2].matchAll(/;\s*([^;,=\s]+)(?:=(?:"([^"]*)"|([^;,]*)))?/g)) {
      link[p[1].toLowerCase()] = p[2] ?? p[3] ?? '';
    }
    links.push(link);
  }
  return links;
}

// The TURN servers for a session, with fresh credentials (RFC 9725: the
// endpoint's OPTIONS carries them to a caller with a token).
async function turnServers(url, token) {
  const res = await fetch(url, { method: 'OPTIONS', headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  return parseLinks(res?.headers.get('link'))
    .filter((l) => l.rel === 'ice-server')
    .map((l) => ({ urls: l.url, username: l.username, credential: l.credential }));
}

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
  return { location: res.headers.get('location'), links: parseLinks(res.headers.get('link')) };
}

// Packets a session has received, over all its tracks.
async function received(pc) {
  let n = 0;
  (await pc.getStats().catch(() => null))?.forEach((s) => {
    if (s.type === 'inbound-rtp') n += s.packetsReceived ?? 0;
  });
  return n;
}

// How a connected session reaches the server: 'udp', 'tcp' or 'relay'.
async function route(pc) {
  const stats = await pc.getStats().catch(() => null);
  if (!stats) return null;
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) stats.forEach((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && (pair = s));
  const local = pair && stats.get(pair.localCandidateId);
  if (!local) return null;
  return local.candidateType === 'relay' ? 'relay' : local.protocol;
}

// A connection that stays disconnected this long is treated as failed:
// when the server goes away, the browser would wait ~30 s for "failed".
const STALL_MS = 3000;
// Answers after which trying again cannot help.
const REFUSED = new Set([401, 403, 410]);
// Not connected after this long: UDP is likely blocked, and the browser's
// TCP candidates are what is left (the page says so).
const SLOW_CONNECT_MS = 2500;
// Not connected after this long: this way is given up and the next tried
// (the browser itself would wait half a minute).
const CONNECT_TIMEOUT_MS = 7000;
// A watcher that expects media and gets no packet for this long starts a
// new session (audio alone sends fifty a second; silence with DTX, a few).
const QUIET_MS = 1200;

// One WHIP or WHEP session that keeps itself up. `setup(pc)` adds what the
// session sends or receives; `onSession(s)` hears of each negotiated one
// (its location and links). When the connection fails or stalls, or a
// negotiation fails, the old session is ended and a new one negotiated,
// with backoff, until the server refuses for good; a session that never
// connected directly is tried again through the TURN servers, if there
// are any. A first negotiation that fails ends it too unless
// `retryFirst`. onState hears 'connecting' (with what is tried: 'direct',
// 'tcp' or 'relay'), 'connected' (with the route: 'udp', 'tcp' or
// 'relay'), 'failed' and 'refused'. Gives the session's handle and
// `first`, settled by the first negotiation.
function session({ url, token, setup, onState, onSession, expectsMedia, retryFirst = false }) {
  let closed = false;
  let current = null;
  let attempt = 0;
  let stall = null;
  let negotiated = false;
  let relay = false;
  let servers = [];
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
    servers = await turnServers(url, token);
    if (closed) return;
    const useRelay = relay && servers.length > 0;
    const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: useRelay ? 'relay' : 'all' });
    const mine = { pc, location: null, connected: false };
    current = mine;
    setup(pc);
    onState?.('connecting', useRelay ? 'relay' : 'direct');
    const slow = setTimeout(() => {
      if (current === mine && !mine.connected && !useRelay) onState?.('connecting', 'tcp');
    }, SLOW_CONNECT_MS);
    // Never connected directly: the next try goes through TURN (and the
    // one after directly again, in case the network changed).
    const giveUp = setTimeout(() => current === mine && !mine.connected && !closed && failed(), CONNECT_TIMEOUT_MS);
    const failed = () => {
      clearTimeout(slow);
      clearTimeout(giveUp);
      if (!mine.connected) relay = !relay;
      onState?.('failed', relay && servers.length > 0 ? 'relay' : 'direct');
      retry();
    };
    // A watcher whose packets stop while media should flow: the network
    // changed under it (UDP gone, say). The browser takes seconds to call
    // that disconnected; a new session, over whatever works now, does not
    // wait for it.
    if (expectsMedia) {
      let heard = { packets: -1, at: performance.now() };
      const watchdog = setInterval(async () => {
        if (closed || current !== mine) return clearInterval(watchdog);
        if (!mine.connected || !expectsMedia()) return (heard = { packets: -1, at: performance.now() });
        const packets = await received(pc);
        if (packets !== heard.packets) heard = { packets, at: performance.now() };
        else if (performance.now() - heard.at > QUIET_MS && current === mine) {
          clearInterval(watchdog);
          failed();
        }
      }, 400);
    }
    pc.onconnectionstatechange = () => {
      if (closed || current !== mine) return;
      clearTimeout(stall);
      if (pc.connectionState === 'connected') {
        clearTimeout(slow);
        clearTimeout(giveUp);
        attempt = 0;
        mine.connected = true;
        route(pc).then((via) => current === mine && onState?.('connected', via ?? (useRelay ? 'relay' : 'udp')));
      } else if (pc.connectionState === 'failed') {
        failed();
      } else if (pc.connectionState === 'disconnected') {
        stall = setTimeout(failed, STALL_MS);
      }
    };
    try {
      const { location, links } = await negotiate(pc, url, token);
      mine.location = location;
      negotiated = true;
      if (current === mine) onSession?.({ location, links, pc });
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
export async function publish({ slug, token, tracks, kind, onState }) {
  const { handle, first } = session({
    url: `/api/rooms/${slug}/whip?kind=${kind}`,
    token,
    onState,
    setup: (pc) => {
      const list = tracks();
      const stream = new MediaStream(list);
      for (const track of list) {
        const sendEncodings = track.kind === 'video' ? layers(track, kind) : undefined;
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings });
        if (track.kind === 'video' && kind === 'screen') {
          // Slides stay legible on a poor uplink: resolution before frames.
          const params = t.sender.getParameters();
          params.degradationPreference = 'maintain-resolution';
          t.sender.setParameters(params).catch(() => {});
        }
      }
    },
  });
  await first;
  return handle;
}

// The simulcast layers a video is sent as, lowest first: each viewer gets
// the one its network carries. The camera in three (full, half and
// quarter resolution), two when it is small, one when tiny; the screen in
// two (a half-resolution one for poor links).
export function layers(track, kind) {
  const height = track.getSettings().height ?? 720;
  if (kind === 'screen') {
    return [
      { rid: 'l', scaleResolutionDownBy: 2, maxBitrate: 300_000 },
      { rid: 'h', maxBitrate: 1_500_000 },
    ];
  }
  const all = [
    { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
    { rid: 'h', maxBitrate: 1_500_000 },
  ];
  if (height >= 540) return all;
  if (height >= 270) return [{ ...all[0], scaleResolutionDownBy: 2 }, { ...all[2], maxBitrate: 500_000 }];
  return undefined;
}

// Watches a room: audio, camera video and screen video, one session that
// outlives the presenter's reconnects. Calls onTracks({audio, camera,
// screen}) with MediaStreams as tracks arrive, onState('connected' |
// 'failed' | 'refused') as the connection changes, and reconnects itself
// when it fails, the first attempt included.
//
// The viewer chooses the quality (the WHEP layer extension): 'auto',
// 'high', 'medium', 'low' or 'audio'; onLayers({camera, screen}) hears
// what each video gets from the server's `layers` events: its layers
// (lowest first), the one it gets now, its mode, whether it is paused.
//
// `seats`: how many speakers' sections to ask for besides the presenter's
// (a speaker's audio and camera each); streams.seats[k] = {audio, video}
// carries the speaker in seat k (the room's `media.state` says who).
export function watch({ slug, token, onTracks, onState, onLayers, expectsMedia, seats = 0 }) {
  let quality = 'auto';
  let ext = null;
  const { handle, first } = session({
    url: `/api/rooms/${slug}/whep`,
    token,
    onState,
    expectsMedia,
    retryFirst: true,
    setup: (pc) => {
      const audio = pc.addTransceiver('audio', { direction: 'recvonly' });
      const camera = pc.addTransceiver('video', { direction: 'recvonly' });
      const screen = pc.addTransceiver('video', { direction: 'recvonly' });
      const seated = Array.from({ length: seats }, () => ({
        audio: pc.addTransceiver('audio', { direction: 'recvonly' }),
        video: pc.addTransceiver('video', { direction: 'recvonly' }),
      }));
      const streams = {
        audio: new MediaStream(),
        camera: new MediaStream(),
        screen: new MediaStream(),
        seats: seated.map(() => ({ audio: new MediaStream(), video: new MediaStream() })),
      };
      pc.ontrack = (e) => {
        const seat = seated.findIndex((t) => t.audio === e.transceiver || t.video === e.transceiver);
        if (seat >= 0) {
          streams.seats[seat][e.track.kind === 'audio' ? 'audio' : 'video'].addTrack(e.track);
        } else {
          const which = e.transceiver === audio ? 'audio' : e.transceiver === camera ? 'camera' : 'screen';
          streams[which].addTrack(e.track);
        }
        onTracks(streams);
      };
      pc.podiumMids = () => ({ camera: camera.mid, screen: screen.mid });
    },
    onSession: ({ links, pc }) => {
      ext?.close();
      ext = extensions(links, token, pc, onLayers, () => quality);
    },
  });
  // A refusal is told through onState.
  first.catch(() => {});
  const stop = handle.stop;
  const abandon = handle.abandon;
  return Object.assign(handle, {
    // Asks for a quality for this session and the ones after it.
    setQuality(q) {
      quality = q;
      return ext?.apply();
    },
    quality: () => quality,
    stop() {
      ext?.close();
      return stop();
    },
    abandon() {
      ext?.close();
      abandon();
    },
  });
}

// A session's WHEP extensions: its `layers` events (an EventSource on the
// URL the events link's POST gives) and its layer URL, where a quality
// choice is sent, again whenever the layers change under it.
function extensions(links, token, pc, onLayers, quality) {
  const layerUrl = links.find((l) => l.rel === 'urn:ietf:params:whep:ext:core:layer')?.url;
  const eventsUrl = links.find((l) => l.rel === 'urn:ietf:params:whep:ext:core:server-sent-events')?.url;
  let source = null;
  let closed = false;
  let latest = null;
  let sent = null;
  const post = (body) =>
    fetch(layerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }).catch(() => null);
  // What `quality()` asks of each video section, given its layers.
  const wish = (section) => {
    const ids = section.layers.map((l) => l.encodingId).filter((id) => id !== null);
    const q = quality();
    if (q === 'audio') return { video: false };
    if (q === 'auto' || ids.length === 0) return {};
    const pick = q === 'high' ? ids[ids.length - 1] : q === 'low' ? ids[0] : ids[Math.floor(ids.length / 2)];
    return { encodingId: pick };
  };
  async function apply() {
    if (!layerUrl || !latest) return;
    for (const [mid, section] of Object.entries(latest)) {
      const body = { mediaId: mid, ...wish(section) };
      const key = JSON.stringify(body);
      if (sent?.[mid] === key) continue;
      sent = { ...sent, [mid]: key };
      await post(body);
    }
  }
  async function open() {
    if (!eventsUrl) return;
    const res = await fetch(eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '["layers"]',
    }).catch(() => null);
    const at = res?.status === 201 && res.headers.get('location');
    if (!at || closed) return;
    source = new EventSource(at);
    source.addEventListener('layers', (e) => {
      latest = JSON.parse(e.data);
      const mids = pc.podiumMids?.() ?? {};
      onLayers?.({ camera: latest[mids.camera] ?? null, screen: latest[mids.screen] ?? null });
      apply();
    });
    // The stream ends with its session; a new session opens its own.
    source.onerror = () => source?.close();
  }
  open();
  return {
    apply: () => {
      sent = null;
      return apply();
    },
    close() {
      closed = true;
      source?.close();
    },
  };
}
