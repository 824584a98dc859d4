// @ts-check
/** One deployment: suspension with Suspend/Resume, counts, and its hosts page by page with filters. */
import { get, post } from '../api.js';
import { h } from '../dom.js';
import { num, plural, size, stateBadge, stateInfo, states, time } from '../format.js';
import { hostHref, href } from '../route.js';
import { breadcrumbs, pagination, progressBar, stateCounts, suspension, suspensionBadge, table, withPage } from './parts.js';

export const pageSizes = [25, 50, 100, 200];
const defaultSize = 50;

/** @param {import('../route.js').Route} route */
export const title = (route) => `Deployment ${route.id}`;

/** @param {import('../route.js').Route} route */
function paging(route) {
  const size = pageSizes.includes(Number(route.query['size'])) ? Number(route.query['size']) : defaultSize;
  const page = Math.max(1, Math.floor(Number(route.query['page'] ?? 1)) || 1);
  return { size, page, offset: (page - 1) * size };
}

/** @param {import('../route.js').Route} route @param {AbortSignal} signal */
export async function load(route, signal) {
  const { size, offset } = paging(route);
  const q = new URLSearchParams({ offset: String(offset), limit: String(size) });
  if (route.query['state']) q.set('state', route.query['state']);
  if (route.query['group']) q.set('group', route.query['group']);
  return get(`/v1/deployments/${encodeURIComponent(route.id ?? '')}?${q}`, { signal });
}

/**
 * @param {any} d the body of GET /v1/deployments/{name}
 * @param {import('../route.js').Route} route
 * @param {import('../app.js').ViewContext} ctx
 */
export function render(d, route, ctx) {
  const name = d.name;
  const base = `/deployments/${encodeURIComponent(name)}`;
  const { size } = paging(route);
  const filterQuery = { state: route.query['state'], group: route.query['group'], size: size === defaultSize ? undefined : size };
  const s = suspension(d.suspended);
  const effective = Boolean(d.suspended?.effective);
  const busy = ctx.busy(`suspend:${name}`);
  const onToggle = () =>
    ctx.act(`suspend:${name}`, async () => {
      await post(`/v1/deployments/${encodeURIComponent(name)}/${effective ? 'resume' : 'suspend'}`, { by: 'dashboard' });
      return effective ? `${name} resumed: hosts pick up new actions again.` : `${name} suspended: no new actions start; transfers pause at the next segment.`;
    });
  return h(
    'div',
    { class: 'view view-deployment' },
    breadcrumbs(['Deployments', href('/deployments')], [name, null]),
    h(
      'div',
      { class: 'view-head with-actions' },
      h(
        'div',
        null,
        h('h1', { tabindex: '-1' }, name, ' ', suspensionBadge(d.suspended)),
        packagesLine(d.packages),
        d.inGit === false ? h('p', { class: 'muted' }, 'Not in the applied revision any more: shown from reports.') : null,
      ),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: effective ? 'primary' : 'danger',
            id: 'toggle-suspend',
            'aria-describedby': 'suspend-help',
            'aria-disabled': busy ? 'true' : null, // not `disabled`: that would take focus away from a keyboard user
            onclick: onToggle,
          },
          busy ? (effective ? 'Resuming…' : 'Suspending…') : effective ? 'Resume' : 'Suspend',
        ),
        h('p', { id: 'suspend-help', class: 'muted small' }, effective ? 'Let hosts continue where they stopped.' : 'Stop new actions; transfers pause at a segment boundary.'),
      ),
    ),
    h(
      'section',
      { class: 'card summary', 'aria-labelledby': 'summary-heading' },
      h('h2', { id: 'summary-heading' }, 'Progress'),
      progressBar(d.counts ?? {}, name),
      stateCounts(d.counts ?? {}, (state) => href(base, { ...filterQuery, state: route.query['state'] === state ? undefined : state }), route.query['state']),
      h(
        'dl',
        { class: 'facts inline' },
        h('div', null, h('dt', null, 'Suspension'), h('dd', null, s.label, s.detail.length ? [' — ', ...s.detail] : null)),
        d.suspended?.spec !== undefined ? h('div', null, h('dt', null, 'In git'), h('dd', null, h('code', null, `suspended: ${d.suspended.spec}`))) : null,
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'hosts-heading' },
      h('h2', { id: 'hosts-heading' }, 'Hosts'),
      filters(d, route, base, size),
      hostsTable(d),
      pagination(d.hosts, (n) => href(base, withPage(filterQuery, n)), 'hosts'),
    ),
  );
}

/** @param {any[] | undefined} packages */
function packagesLine(packages) {
  if (!packages?.length) return null;
  return h(
    'p',
    { class: 'lede' },
    packages.map((p, i) => [i ? ', ' : '', h('strong', null, p.name), ' ', p.version, p.state === 'absent' ? ' (uninstall)' : '']),
  );
}

/**
 * @param {any} d @param {import('../route.js').Route} route @param {string} base @param {number} size
 */
function filters(d, route, base, size) {
  const state = route.query['state'] ?? '';
  const group = route.query['group'] ?? '';
  const groups = /** @type {string[] | undefined} */ (d.groups);
  const go = (/** @type {Record<string, string | undefined>} */ change) => {
    location.hash = href(base, { state, group, size: size === defaultSize ? undefined : size, ...change, page: undefined });
  };
  const counts = d.counts ?? {};
  return h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter hosts', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'filter-state' }, 'State'),
      h(
        'select',
        { id: 'filter-state', name: 'state', onchange: (/** @type {Event} */ e) => go({ state: /** @type {HTMLSelectElement} */ (e.target).value }) },
        h('option', { value: '', selected: state === '' }, 'All states'),
        states.map((s) => h('option', { value: s, selected: state === s }, `${stateInfo[s]?.label ?? s} (${num(counts[s] ?? 0)})`)),
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'filter-group' }, 'Group'),
      h(
        'select',
        {
          id: 'filter-group',
          name: 'group',
          disabled: !groups?.length,
          'aria-describedby': groups?.length ? null : 'group-help',
          onchange: (/** @type {Event} */ e) => go({ group: /** @type {HTMLSelectElement} */ (e.target).value }),
        },
        h('option', { value: '', selected: group === '' }, 'All groups'),
        (groups ?? []).map((g) => h('option', { value: g, selected: group === g }, g)),
      ),
      groups?.length ? null : h('span', { id: 'group-help', class: 'muted small' }, 'Groups appear once a revision is applied.'),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'filter-size' }, 'Rows per page'),
      h(
        'select',
        { id: 'filter-size', name: 'size', onchange: (/** @type {Event} */ e) => go({ size: /** @type {HTMLSelectElement} */ (e.target).value }) },
        pageSizes.map((n) => h('option', { value: String(n), selected: n === size }, String(n))),
      ),
    ),
    state || group ? h('a', { class: 'clear-filters', href: href(base) }, 'Clear filters') : null,
  );
}

/** @param {any} d */
function hostsTable(d) {
  const items = /** @type {any[]} */ (d.hosts?.items ?? []);
  if (items.length === 0) {
    return h(
      'p',
      { class: 'empty-rows' },
      d.hosts?.total === 0 && !Object.keys(d.counts ?? {}).length ? 'No host has this deployment in its plan yet.' : 'No host matches these filters.',
    );
  }
  return h(
    'div',
    { class: 'table-wrap' },
    table(
      { class: 'table hosts-table' },
      ['Host', 'State', 'Package', h('th', { scope: 'col', class: 'col-reason' }, 'Reason and output'), 'Last report'],
      items.map((row) => hostRow(row)),
      h('caption', { class: 'visually-hidden' }, `Hosts of ${d.name}`),
    ),
  );
}

/** @param {any} row */
function hostRow(row) {
  const actions = /** @type {any[]} */ (row.actions ?? []);
  const many = actions.length > 1;
  return h(
    'tr',
    { 'data-key': row.host, 'data-host': row.host },
    h('th', { scope: 'row' }, h('a', { href: hostHref(row.host), class: 'strong-link' }, row.host)),
    h('td', null, stateBadge(row.state)),
    h(
      'td',
      null,
      actions.map((a) =>
        h(
          'div',
          { 'data-key': a.actionId },
          a.package ?? a.actionId,
          ' ',
          h('span', { class: 'version' }, a.version ?? ''),
          a.op === 'uninstall' ? h('span', { class: 'muted' }, ' (uninstall)') : null,
        ),
      ),
    ),
    h(
      'td',
      { class: 'col-reason' },
      actions.map((a) => actionDetail(a, many)),
    ),
    h('td', null, time(row.lastReportAt)),
  );
}

/**
 * Why an action is where it is: its reason, bytes transferred, exit code and the installer's output.
 * @param {any} a @param {boolean} [named] prefix the package, when a row has several actions
 */
export function actionDetail(a, named = false) {
  const bits = [];
  if (named) bits.push(h('span', { class: 'muted' }, `${a.package ?? a.actionId}: `), stateBadge(a.state), ' ');
  if (a.reason) bits.push(h('span', { class: 'reason' }, a.reason));
  if (a.state === 'downloading' && a.bytesDone !== undefined) bits.push(h('span', { class: 'muted' }, `${size(a.bytesDone)} received`));
  if (a.exitCode !== undefined && !(a.reason ?? '').includes(`exit`)) bits.push(h('span', { class: 'muted' }, ` (exit code ${a.exitCode})`));
  if (!a.reason && a.state === 'failed' && a.exitCode === undefined) bits.push(h('span', { class: 'muted' }, 'no reason reported'));
  const output =
    a.output !== undefined && a.output !== ''
      ? h(
          'details',
          { class: 'output', 'data-key': `out-${a.actionId}` },
          h(
            'summary',
            null,
            'Installer output',
            a.exitCode !== undefined ? ` (exit code ${a.exitCode})` : '',
            h('span', { class: 'muted' }, ` · last ${size(new TextEncoder().encode(a.output).length)}`),
          ),
          h('pre', { 'data-raw': '', tabindex: '0', 'aria-label': `Installer output of ${a.package ?? a.actionId}` }, a.output),
        )
      : null;
  if (bits.length === 0 && !output) return h('div', { class: 'muted', 'data-key': a.actionId }, '—');
  return h('div', { class: 'detail', 'data-key': a.actionId }, h('div', null, bits), output);
}

export { plural };
