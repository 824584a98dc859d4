// @ts-check
/** Hash routes: `#/deployments`, `#/deployments/NAME?state=&group=&page=&size=`, `#/hosts?page=`, `#/hosts/NAME`, `#/relays`. */

/**
 * @typedef {{view: 'deployments' | 'deployment' | 'hosts' | 'host' | 'relays' | 'not-found', id?: string, query: Record<string, string>}} Route
 */

/** @param {string} hash @returns {Route} */
export function parseRoute(hash) {
  const raw = hash.replace(/^#/, '') || '/deployments';
  const [path = '', search = ''] = raw.split('?');
  /** @type {Record<string, string>} */
  const query = {};
  for (const [k, v] of new URLSearchParams(search)) if (v !== '') query[k] = v;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts[0] === 'deployments' && parts.length === 1)) return { view: 'deployments', query };
  if (parts[0] === 'deployments' && parts.length === 2) return { view: 'deployment', id: parts[1], query };
  if (parts[0] === 'hosts' && parts.length === 1) return { view: 'hosts', query };
  if (parts[0] === 'hosts' && parts.length === 2) return { view: 'host', id: parts[1], query };
  if (parts[0] === 'relays' && parts.length === 1) return { view: 'relays', query };
  return { view: 'not-found', query };
}

/**
 * The hash for a route; empty query values are dropped.
 * @param {string} path e.g. `/deployments/editor`
 * @param {Record<string, string | number | undefined | null>} [query]
 */
export function href(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** @param {string} name */
export const deploymentHref = (name) => href(`/deployments/${encodeURIComponent(name)}`);
/** @param {string} name */
export const hostHref = (name) => href(`/hosts/${encodeURIComponent(name)}`);
