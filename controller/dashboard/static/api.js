// @ts-check
/**
 * Calls to the controller's admin API (DESIGN §4) with the admin token from this browser tab's
 * sessionStorage. A 401 throws `AuthError`, so the page can ask for the token again.
 */

const tokenKey = 'ferry.adminToken';

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The token was missing or refused. */
export class AuthError extends ApiError {}

/** The controller could not be reached at all. */
export class NetworkError extends Error {}

export const session = {
  /** @returns {string | null} */
  token: () => sessionStorage.getItem(tokenKey),
  /** @param {string} token */
  save: (token) => sessionStorage.setItem(tokenKey, token),
  clear: () => sessionStorage.removeItem(tokenKey),
};

/**
 * Sends one request to the API; resolves with its JSON body or throws ApiError/AuthError/NetworkError.
 * @param {string} method
 * @param {string} path
 * @param {{token?: string, body?: unknown, signal?: AbortSignal}} [options]
 */
export async function call(method, path, options = {}) {
  const token = options.token ?? session.token();
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      ...(options.signal && { signal: options.signal }),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new NetworkError('cannot reach the controller');
  }
  /** @type {any} */
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (res.ok) return json;
  const code = json?.error?.code ?? `http-${res.status}`;
  const message = json?.error?.message ?? `${res.status} ${res.statusText}`;
  if (res.status === 401) throw new AuthError(401, code, message);
  throw new ApiError(res.status, code, message);
}

/** @param {string} path @param {{signal?: AbortSignal}} [options] */
export const get = (path, options) => call('GET', path, options);

/** @param {string} path @param {unknown} [body] */
export const post = (path, body) => call('POST', path, { body: body ?? {} });
