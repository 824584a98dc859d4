// @ts-check
/** Every enrolled host, page by page, with its actions by state. */
import { get } from '../api.js';
import { h } from '../dom.js';
import { time } from '../format.js';
import { hostHref, href } from '../route.js';
import { breadcrumbs, pagination, stateCounts, table, withPage } from './parts.js';

const size = 50;

export const title = () => 'Hosts';

/** @param {import('../route.js').Route} route */
const pageOf = (route) => Math.max(1, Math.floor(Number(route.query['page'] ?? 1)) || 1);

/** @param {import('../route.js').Route} route @param {AbortSignal} signal */
export async function load(route, signal) {
  return get(`/v1/hosts?offset=${(pageOf(route) - 1) * size}&limit=${size}`, { signal });
}

/** @param {any} d @param {import('../route.js').Route} route */
export function render(d, route) {
  const items = /** @type {any[]} */ (d.hosts ?? []);
  return h(
    'div',
    { class: 'view view-hosts' },
    breadcrumbs(['Hosts', null]),
    h(
      'div',
      { class: 'view-head' },
      h('h1', { tabindex: '-1' }, 'Hosts'),
      h('p', { class: 'lede' }, 'Every enrolled host and where its actions stand. Open one with the “Host name” box above, or from here.'),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'hosts-list-heading' },
      h('h2', { id: 'hosts-list-heading', class: 'visually-hidden' }, 'Host list'),
      items.length
        ? h(
            'div',
            { class: 'table-wrap' },
            table(
              { class: 'table' },
              ['Host', 'Enrollment', 'Last seen', 'Actions by state'],
              items.map((x) =>
                h(
                  'tr',
                  { 'data-key': x.host },
                  h('th', { scope: 'row' }, h('a', { href: hostHref(x.host), class: 'strong-link' }, x.host)),
                  h('td', null, x.state === 'reset' ? h('span', { class: 'pill tone-warn' }, 'reset') : 'enrolled'),
                  h('td', null, time(x.lastSeenAt)),
                  h('td', null, stateCounts(x.actions ?? {})),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No host has enrolled yet. Start an agent with ', h('code', null, 'ferry agent --server URL --enroll-token TOKEN'), '.'),
      pagination(d, (n) => href('/hosts', withPage(route.query, n)), 'hosts'),
    ),
  );
}
