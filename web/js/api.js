// REST calls (the contract's /api) and what the browser remembers between
// visits: the participant token per room and page, the display name.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
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
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = json?.error ?? {};
    throw new ApiError(res.status, e.code ?? 'http_error', e.message ?? `Request failed (${res.status})`);
  }
  return json;
}

export const api = {
  createRoom: (body) => call('POST', '/api/rooms', { body }),
  room: (slug) => call('GET', `/api/rooms/${slug}`),
  join: (slug, body) => call('POST', `/api/rooms/${slug}/join`, { body }),
  me: (slug, token) => call('GET', `/api/rooms/${slug}/me`, { token }),
  end: (slug, token) => call('DELETE', `/api/rooms/${slug}`, { token }),
  stats: (slug, token) => call('GET', `/api/rooms/${slug}/stats`, { token }),
  csv: (slug, token, name) => call('GET', `/api/rooms/${slug}/${name}`, { token, raw: true }),
};

// One token per room and page kind: the same browser may attend in one tab
// and moderate in another.
const tokenKey = (slug, kind) => `podium.token.${slug}.${kind}`;

export const store = {
  token: (slug, kind) => localStorage.getItem(tokenKey(slug, kind)),
  setToken: (slug, kind, token) => localStorage.setItem(tokenKey(slug, kind), token),
  dropToken: (slug, kind) => localStorage.removeItem(tokenKey(slug, kind)),
  name: () => localStorage.getItem('podium.name') ?? '',
  setName: (name) => localStorage.setItem('podium.name', name),
  // The links made on the landing page, so the studio can show them again.
  links: (slug) => JSON.parse(localStorage.getItem(`podium.links.${slug}`) ?? 'null'),
  setLinks: (slug, urls) => localStorage.setItem(`podium.links.${slug}`, JSON.stringify(urls)),
};

// Any token this browser holds for the room that may read its stats.
export function staffToken(slug) {
  return store.token(slug, 'present') ?? store.token(slug, 'moderate');
}
