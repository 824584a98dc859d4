// @ts-check
/** The Job Status overview: every deployment with its counts and progress, and the latest failures. */
import { h } from '../dom.js';
import { num, plural, stateBadge, time } from '../format.js';
import { deploymentHref, hostHref, href } from '../route.js';
import { progressBar, stateCounts, suspension, suspensionBadge, table } from './parts.js';

export const title = () => 'Deployments';

/** The overview needs nothing beyond GET /v1/status, which the app loads for the source panel. */
export async function load() {
  return null;
}

/** @param {any} _data @param {import('../route.js').Route} _route @param {{status: any}} ctx */
export function render(_data, _route, ctx) {
  const status = ctx.status;
  const deployments = /** @type {any[]} */ (status.deployments ?? []);
  const suspendedCount = deployments.filter((d) => d.suspended?.effective).length;
  const failuresTotal = status.failuresTotal ?? 0;
  return h(
    'div',
    { class: 'view view-deployments' },
    h(
      'div',
      { class: 'view-head' },
      h('h1', { tabindex: '-1' }, 'Deployments'),
      h('p', { class: 'lede' }, 'What is being installed where, and how far it got. Updates every 2 seconds.'),
    ),
    h(
      'ul',
      { class: 'tiles', 'aria-label': 'Summary' },
      tile('Hosts enrolled', num(status.hosts?.enrolled ?? 0), href('/hosts')),
      tile('Deployments', num(deployments.length), null, suspendedCount ? `${num(suspendedCount)} suspended` : 'none suspended'),
      tile('Failed actions', num(failuresTotal), failuresTotal ? '#failures' : null, failuresTotal ? 'need attention' : 'all clear', failuresTotal ? 'bad' : 'good'),
    ),
    deployments.length === 0
      ? h(
          'div',
          { class: 'card empty' },
          h('h2', null, 'No deployments yet'),
          h('p', null, 'Commit a ', h('code', null, 'kind: Deployment'), ' manifest to the repository the controller follows; it appears here once applied.'),
        )
      : h(
          'section',
          { class: 'card', 'aria-labelledby': 'deployments-heading' },
          h('h2', { id: 'deployments-heading', class: 'visually-hidden' }, 'All deployments'),
          table(
            { class: 'table deployments-table' },
            ['Deployment', 'Status', h('th', { scope: 'col', class: 'col-progress' }, 'Progress'), 'Actions by state'],
            deployments.map((d) => {
              const link = deploymentHref(d.name);
              const s = suspension(d.suspended);
              return h(
                'tr',
                { 'data-key': d.name, 'data-deployment': d.name },
                h(
                  'th',
                  { scope: 'row' },
                  h('a', { href: link, class: 'strong-link' }, d.name),
                  d.inGit === false ? h('div', null, h('span', { class: 'pill tone-idle small' }, 'not in git')) : null,
                ),
                h('td', null, suspensionBadge(d.suspended), s.detail.length ? h('div', { class: 'muted small' }, s.detail) : null),
                h('td', null, progressBar(d.counts ?? {}, d.name)),
                h(
                  'td',
                  null,
                  stateCounts(d.counts ?? {}, (state) => href(`/deployments/${encodeURIComponent(d.name)}`, { state })),
                ),
              );
            }),
            h('caption', { class: 'visually-hidden' }, 'Deployments with their status, progress and actions by state'),
          ),
        ),
    failuresSection(status),
  );
}

/**
 * @param {string} label @param {string} value @param {string | null} link @param {string} [note] @param {string} [tone]
 */
function tile(label, value, link, note, tone) {
  const body = [
    h('span', { class: 'tile-value' }, value),
    h('span', { class: 'tile-label' }, label),
    note ? h('span', { class: `tile-note${tone ? ` tone-text-${tone}` : ''}` }, note) : null,
  ];
  return h('li', { class: 'tile' }, link ? h('a', { href: link, class: 'tile-body tile-link' }, body) : h('div', { class: 'tile-body' }, body));
}

/** @param {any} status */
function failuresSection(status) {
  const failures = /** @type {any[]} */ (status.failures ?? []);
  if (failures.length === 0) return null;
  const shown = failures.slice(0, 10);
  return h(
    'section',
    { class: 'card', id: 'failures', 'aria-labelledby': 'failures-heading', tabindex: '-1' },
    h('h2', { id: 'failures-heading' }, 'Latest failures'),
    table(
      { class: 'table' },
      ['Host', 'Deployment', 'Package', 'Reason', 'When'],
      [...shown]
        .sort((a, b) => (a.at < b.at ? 1 : -1))
        .map((f) =>
          h(
            'tr',
            { 'data-key': `${f.host} ${f.actionId}` },
            h('th', { scope: 'row' }, h('a', { href: hostHref(f.host) }, f.host)),
            h('td', null, f.deployment ? h('a', { href: deploymentHref(f.deployment) }, f.deployment) : '—'),
            h('td', null, f.package ? `${f.package} ${f.version ?? ''}` : f.actionId),
            h('td', null, stateBadge('failed'), ' ', f.reason ?? (f.exitCode !== undefined ? `exit code ${f.exitCode}` : 'no reason given')),
            h('td', null, time(f.at)),
          ),
        ),
    ),
    failures.length > shown.length || (status.failuresTotal ?? 0) > shown.length
      ? h(
          'p',
          { class: 'muted' },
          `Showing ${num(shown.length)} of ${plural(status.failuresTotal ?? failures.length, 'failure')}; open a deployment and filter by “failed” for all of them.`,
        )
      : null,
  );
}
