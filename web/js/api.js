// REST calls (the contract's /api) and what the browser remembers between
// visits: the participant token per room and page, the display name.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  // The contract's `{"error": {code, message}}` from a response's text,
  // or a plain sentence when the body is not that (a proxy's error page).
  static fromResponse(status, text) {
    let e = null;
    try {
      e = JSON.parse(text)?.error ?? null;
    } catch {
      /* not JSON */
    }
    return new ApiError(status, e?.code ?? 'http_error', e?.message ?? `The server answered ${status}. Please try again.`);
  }
}

// The one retry policy of REST, the live socket and media sessions:
// exponential from 250 ms to 8 s, with jitter so a restarted server is not
// met by every client at once.
export function backoff(attempt) {
  const base = Math.min(8000, 250 * 2 ** attempt);
  return base / 2 + Math.random() * base;
}

export async function call(method, path, { body, token, raw } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection.');
  }
  if (raw && res.ok) return res;
  const text = await res.text();
  if (!res.ok) throw ApiError.fromResponse(res.status, text);
  return text ? JSON.parse(text) : null;
}

export const api = {
  createRoom: (body) => call('POST', '/api/rooms', { body }),
  room: (slug) => call('GET', `/api/rooms/${slug}`),
  join: (slug, body) => call('POST', `/api/rooms/${slug}/join`, { body }),
  me: (slug, token) => call('GET', `/api/rooms/${slug}/me`, { token }),
  end: (slug, token) => call('DELETE', `/api/rooms/${slug}`, { token }),
  stats: (slug, token) => call('GET', `/api/rooms/${slug}/stats`, { token }),
  recordings: (slug, token) => call('GET', `/api/rooms/${slug}/recordings`, { token }),
  csv: (slug, token, name) => call('GET', `/api/rooms/${slug}/${name}`, { token, raw: true }),
};

// One token per room and page kind: the same browser may attend in one tab
// and moderate in another.
const tokenKey = (slug, kind) => `podium.token.${slug}.${kind}`;
const json = (key, fallback) => {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
};

export const store = {
  token: (slug, kind) => localStorage.getItem(tokenKey(slug, kind)),
  setToken: (slug, kind, token) => localStorage.setItem(tokenKey(slug, kind), token),
  dropToken: (slug, kind) => localStorage.removeItem(tokenKey(slug, kind)),
  name: () => localStorage.getItem('podium.name') ?? '',
  setName: (name) => localStorage.setItem('podium.name', name),
  // The rooms made in this browser, newest first, with their links, so a
  // reload of the landing page (or the studio) can show them again.
  rooms: () => json('podium.rooms', []),
  room: (slug) => store.rooms().find((r) => r.slug === slug) ?? null,
  addRoom: (room) =>
    localStorage.setItem('podium.rooms', JSON.stringify([room, ...store.rooms().filter((r) => r.slug !== room.slug)].slice(0, 50))),
  forgetRoom: (slug) => localStorage.setItem('podium.rooms', JSON.stringify(store.rooms().filter((r) => r.slug !== slug))),
  links: (slug) => store.room(slug)?.urls ?? null,
  // A moderator removed this browser from the room (the server refuses it
  // too; this only spares the person a join form that cannot work).
  removed: (slug) => localStorage.getItem(`podium.removed.${slug}`) === '1',
  setRemoved: (slug) => localStorage.setItem(`podium.removed.${slug}`, '1'),
  // The studio's state, so a reload or a reopened link resumes the
  // broadcast with the same devices.
  studio: (slug) => json(`podium.studio.${slug}`, null),
  setStudio: (slug, s) => (s ? localStorage.setItem(`podium.studio.${slug}`, JSON.stringify(s)) : localStorage.removeItem(`podium.studio.${slug}`)),
};

// What this browser may read a room's report with: the key of the link it
// was opened from, else a staff token it holds.
export function reportCredential(slug, key) {
  const made = store.room(slug)?.urls?.present;
  const madeKey = made ? new URLSearchParams(new URL(made).hash.slice(1)).get('key') : null;
  return key ?? store.token(slug, 'present') ?? store.token(slug, 'moderate') ?? madeKey;
}
