// @ts-check
/** Every relay (`GET /v1/relays`): hosts served, last seen, cache and hit ratio, bytes served vs fetched upstream, queued reports. */
import { get } from '../api.js';
import { h } from '../dom.js';
import { num, size, time } from '../format.js';
import { hostHref } from '../route.js';
import { breadcrumbs, table } from './parts.js';

export const title = () => 'Relays';

/** @param {import('../route.js').Route} _route @param {AbortSignal} signal */
export async function load(_route, signal) {
  return get('/v1/relays', { signal });
}

/** @param {any[]} served */
function hostsCell(served) {
  if (served.length === 0) return h('span', { class: 'muted' }, 'none');
  const shown = served.slice(0, 8);
  return h(
    'span',
    null,
    ...shown.flatMap((x, i) => [i > 0 ? ', ' : '', h('a', { href: hostHref(x) }, x)]),
    served.length > shown.length ? ` … and ${num(served.length - shown.length)} more` : '',
  );
}

/** @param {any} d */
export function render(d) {
  const relays = /** @type {any[]} */ (d.relays ?? []);
  return h(
    'div',
    { class: 'view view-relays' },
    breadcrumbs(['Relays', null]),
    h(
      'div',
      { class: 'view-head' },
      h('h1', { tabindex: '-1' }, 'Relays'),
      h('p', { class: 'lede' }, 'Content caches at the sites, with the hosts they serve. Figures come with each relay’s work poll.'),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'relays-heading' },
      h('h2', { id: 'relays-heading', class: 'visually-hidden' }, 'Relay list'),
      relays.length
        ? h(
            'div',
            { class: 'table-wrap' },
            table(
              { class: 'table' },
              ['Relay', 'Runs on', 'Last seen', 'Hosts served', 'Cache', 'Hit ratio', 'Served / fetched upstream', 'Queued reports'],
              relays.map((r) =>
                h(
                  'tr',
                  { 'data-key': r.name },
                  h('th', { scope: 'row' }, r.name),
                  h('td', null, h('a', { href: hostHref(r.host) }, r.host)),
                  h('td', null, r.lastSeen ? time(r.lastSeen) : h('span', { class: 'pill tone-warn' }, 'never')),
                  h('td', null, hostsCell(r.served ?? [])),
                  h('td', null, r.cache ? `${size(r.cache.bytes)} of ${size(r.cache.maxBytes)}` : '–'),
                  h('td', null, r.cache && r.cache.hitRatio !== null ? `${Math.round(r.cache.hitRatio * 100)}%` : '–'),
                  h('td', null, r.bytesServed === null ? '–' : `${size(r.bytesServed)} / ${size(r.bytesFetched)}`),
                  h('td', null, r.queuedReports === null ? '–' : num(r.queuedReports)),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No Relay manifest in the applied revision. See “Running a relay” in the docs.'),
    ),
  );
}
