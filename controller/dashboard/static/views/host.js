// @ts-check
/** One host: inventory facts, labels, groups, current states, its plan, and its report history. */
import { get } from '../api.js';
import { h } from '../dom.js';
import { num, plural, size, stateBadge, time } from '../format.js';
import { deploymentHref, href } from '../route.js';
import { actionDetail } from './deployment.js';
import { breadcrumbs, table } from './parts.js';

/** @param {import('../route.js').Route} route */
export const title = (route) => `Host ${route.id}`;

/** @param {import('../route.js').Route} route @param {AbortSignal} signal */
export async function load(route, signal) {
  return get(`/v1/hosts/${encodeURIComponent(route.id ?? '')}?history=200`, { signal });
}

/** @param {any} d the body of GET /v1/hosts/{host} @param {import('../route.js').Route} _route */
export function render(d, _route) {
  const host = d.host;
  const inv = d.inventory?.inventory;
  const facts = inv?.facts ?? host.facts ?? {};
  const labels = inv?.labels ?? host.labels ?? {};
  const failed = (d.states ?? []).filter((/** @type {any} */ s) => s.state === 'failed').length;
  return h(
    'div',
    { class: 'view view-host' },
    breadcrumbs(['Hosts', href('/hosts')], [host.host, null]),
    h(
      'div',
      { class: 'view-head' },
      h('h1', { tabindex: '-1' }, host.host, ' ', host.state === 'reset' ? h('span', { class: 'pill tone-warn' }, 'credential reset') : null),
      h(
        'p',
        { class: 'lede' },
        'Last seen ',
        time(host.lastSeenAt),
        ' · enrolled ',
        time(host.enrolledAt),
        failed ? [' · ', h('span', { class: 'tone-text-bad' }, plural(failed, 'failed action'))] : null,
      ),
      powerLine(d.history ?? []),
    ),
    h(
      'div',
      { class: 'grid-2' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'inventory-heading' },
        h('h2', { id: 'inventory-heading' }, 'Inventory'),
        inventoryFacts(facts),
        h(
          'p',
          { class: 'muted small' },
          d.inventory ? ['Reported ', time(d.inventory.reportedAt), ' · changed ', time(d.inventory.updatedAt)] : 'No inventory reported yet; facts from enrollment.',
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'membership-heading' },
        h('h2', { id: 'membership-heading' }, 'Groups and labels'),
        h('h3', null, 'Groups'),
        d.groups === undefined
          ? h('p', { class: 'muted' }, 'Not known until the controller has applied a revision.')
          : d.groups.length
            ? h(
                'ul',
                { class: 'chips', 'aria-label': 'Groups' },
                d.groups.map((/** @type {string} */ g) => h('li', { class: 'chip', 'data-key': g }, g)),
              )
            : h('p', { class: 'muted' }, 'In no group.'),
        h('h3', null, 'Labels'),
        Object.keys(labels).length
          ? h(
              'ul',
              { class: 'chips', 'aria-label': 'Labels' },
              Object.entries(labels)
                .sort()
                .map(([k, v]) => h('li', { class: 'chip mono', 'data-key': k }, `${k}=${v}`)),
            )
          : h('p', { class: 'muted' }, 'No labels.'),
        software(inv?.software),
      ),
    ),
    statesSection(d.states ?? []),
    planSection(d.plan),
    historySection(d.history ?? [], d.historyTotal ?? 0),
  );
}

/**
 * The newest wake ("woken at …, by relay osaka …") and shutdown ("shut down after install …") of
 * the host's history: the pseudo actions `wake` (controller/wake) and `shutdown` (the agent).
 * @param {any[]} history oldest first
 */
function powerLine(history) {
  const newest = (/** @type {string} */ id) => [...history].reverse().find((x) => x.actionId === id && x.reason);
  const events = [newest('wake'), newest('shutdown')].filter(Boolean);
  if (events.length === 0) return null;
  return h(
    'ul',
    { class: 'power-events', 'aria-label': 'Power' },
    events.map((e) => h('li', { 'data-key': e.actionId, 'data-power': e.actionId }, e.actionId === 'shutdown' ? [e.reason, ' · ', time(e.at)] : e.reason)),
  );
}

/** @param {any} facts */
function inventoryFacts(facts) {
  const os = facts.os ?? {};
  const disk = facts.disk ?? {};
  /** @type {[string, any][]} */
  const rows = [
    [
      'Operating system',
      [os.distribution ?? os.platform, os.release ? ` ${os.release}` : '', os.distribution && os.platform ? h('span', { class: 'muted' }, ` (${os.platform})`) : ''].filter(
        Boolean,
      ),
    ],
    ['Architecture', facts.arch],
    ['CPUs', facts.cpus !== undefined ? num(facts.cpus) : undefined],
    ['Memory', facts.memory?.total !== undefined ? size(facts.memory.total) : undefined],
    ['Disk (install root)', disk.installRoot ? `${size(disk.installRoot.free)} free of ${size(disk.installRoot.total)}` : undefined],
    ['Disk (data)', disk.data ? `${size(disk.data.free)} free of ${size(disk.data.total)}` : undefined],
    ['Time zone', facts.timezone],
    ['Hostname', facts.hostname],
    ['Agent', facts.agent?.version],
    [
      'Network',
      Array.isArray(facts.network) && facts.network.length
        ? facts.network.map((/** @type {any} */ n, /** @type {number} */ i) =>
            h(
              'div',
              { 'data-key': `${n.name}-${i}` },
              h('span', { class: 'mono' }, n.name),
              n.ipv4 ? ` ${n.ipv4}` : '',
              n.mac ? h('span', { class: 'muted mono' }, ` ${n.mac}`) : '',
            ),
          )
        : undefined,
    ],
  ];
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0));
  if (!shown.length) return h('p', { class: 'muted' }, 'No facts reported.');
  return h(
    'dl',
    { class: 'facts' },
    shown.map(([k, v]) => h('div', { 'data-key': k }, h('dt', null, k), h('dd', null, v))),
  );
}

/** @param {any[] | undefined} items */
function software(items) {
  if (!items) return null;
  return h(
    'details',
    { class: 'software', 'data-key': 'software' },
    h('summary', null, `Installed software (${num(items.length)})`),
    items.length
      ? table(
          { class: 'table compact' },
          ['Name', 'Version', 'Source'],
          [...items]
            .sort((a, b) => (a.name < b.name ? -1 : 1))
            .map((s) => h('tr', { 'data-key': `${s.name}@${s.version}/${s.source}` }, h('td', null, s.name), h('td', { class: 'version' }, s.version), h('td', null, s.source))),
        )
      : h('p', { class: 'muted' }, 'None reported.'),
  );
}

/** @param {any[]} states */
function statesSection(states) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'states-heading' },
    h('h2', { id: 'states-heading' }, 'Current state'),
    states.length
      ? h(
          'div',
          { class: 'table-wrap' },
          table(
            { class: 'table states-table' },
            ['Deployment', 'Package', 'State', h('th', { scope: 'col', class: 'col-reason' }, 'Reason and output'), 'Since'],
            states.map((s) =>
              h(
                'tr',
                { 'data-key': s.actionId, 'data-action': s.actionId },
                h('td', null, s.deployment ? h('a', { href: deploymentHref(s.deployment) }, s.deployment) : '—'),
                h(
                  'td',
                  null,
                  s.package ?? s.actionId,
                  ' ',
                  h('span', { class: 'version' }, s.version ?? ''),
                  s.op === 'uninstall' ? h('span', { class: 'muted' }, ' (uninstall)') : null,
                ),
                h('td', null, stateBadge(s.state)),
                h('td', { class: 'col-reason' }, actionDetail(s)),
                h('td', null, time(s.at)),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'This host’s current plan has no actions.'),
  );
}

const plannedText = /** @type {Record<string, string>} */ ({
  planned: 'planned',
  'not-applicable': 'not applicable',
  blocked: 'blocked',
  waiting: 'waiting',
  unknown: 'decided on the host',
});

/** @param {any} plan */
function planSection(plan) {
  if (!plan)
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'plan-heading' },
      h('h2', { id: 'plan-heading' }, 'Plan'),
      h('p', { class: 'muted' }, 'No plan yet: the controller plans a host once it has an inventory.'),
    );
  const actions = /** @type {any[]} */ (plan.body?.actions ?? []);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'plan-heading' },
    h('h2', { id: 'plan-heading' }, 'Plan'),
    h(
      'dl',
      { class: 'facts inline' },
      h('div', null, h('dt', null, 'Serial'), h('dd', null, num(plan.serial))),
      h('div', null, h('dt', null, 'Revision'), h('dd', null, h('code', { class: 'rev', title: plan.revision }, shortRev(plan.revision)))),
      h('div', null, h('dt', null, 'Generated'), h('dd', null, time(plan.generatedAt))),
      h(
        'div',
        null,
        h('dt', null, 'Content from'),
        h('dd', null, (plan.body?.sources ?? []).map((/** @type {any} */ s) => (s.kind === s.name ? s.kind : `${s.kind} ${s.name}`)).join(', then ') || '—'),
      ),
    ),
    actions.length
      ? h(
          'div',
          { class: 'table-wrap' },
          table(
            { class: 'table plan-table' },
            ['Action', 'Deployment', 'Planned', 'Conditions', 'When'],
            actions.map((a) =>
              h(
                'tr',
                { 'data-key': a.id },
                h(
                  'td',
                  null,
                  h('strong', null, a.op),
                  ' ',
                  a.package,
                  ' ',
                  h('span', { class: 'version' }, a.version),
                  a.blockedBy?.length ? h('div', { class: 'muted small' }, 'after ', a.blockedBy.join(', ')) : null,
                ),
                h('td', null, h('a', { href: deploymentHref(a.deployment) }, a.deployment)),
                h(
                  'td',
                  null,
                  h('span', { class: `pill ${a.status === 'planned' ? 'tone-idle' : a.status === 'not-applicable' ? 'tone-na' : 'tone-warn'}` }, plannedText[a.status] ?? a.status),
                  a.suspended ? [' ', h('span', { class: 'pill tone-warn' }, 'suspended')] : null,
                  a.reason ? h('div', { class: 'small' }, a.reason) : null,
                ),
                h('td', null, conditions(a.conditions ?? [])),
                h('td', { class: 'small' }, windows(a)),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Nothing to do on this host.'),
  );
}

/** @param {string} rev */
const shortRev = (rev) => rev.replace(/([0-9a-f]{12})[0-9a-f]+$/, '$1');

/** @param {any[]} list */
function conditions(list) {
  if (!list.length) return h('span', { class: 'muted' }, 'none');
  const verdict = /** @type {Record<string, [string, string]>} */ ({ holds: ['✓', 'holds'], fails: ['✕', 'fails'], unknown: ['?', 'checked on the host'] });
  return h(
    'ul',
    { class: 'plain' },
    list.map((c) => {
      const [glyph, word] = verdict[c.verdict] ?? ['•', c.verdict];
      return h(
        'li',
        { 'data-key': c.name },
        h('span', { class: 'glyph', 'aria-hidden': 'true' }, `${glyph} `),
        c.name,
        ': ',
        word,
        c.reason ? h('span', { class: 'muted' }, ` — ${c.reason}`) : null,
      );
    }),
  );
}

/** The next transfer and install windows. @param {any} a */
function windows(a) {
  const now = new Date().toISOString();
  const next = (/** @type {any[] | undefined} */ ws) => ws?.find((w) => w.end > now);
  const dist = next(a.distribute?.windows);
  const inst = next(a.installWindows);
  const parts = [];
  if (a.distribute?.notBefore && a.distribute.notBefore > now) parts.push(h('div', null, 'transfer not before ', time(a.distribute.notBefore)));
  if (dist) parts.push(h('div', null, 'transfer ', dist.start <= now ? ['window open, closes ', time(dist.end)] : ['window opens ', time(dist.start)]));
  if (inst) parts.push(h('div', null, 'install ', inst.start <= now ? ['window open, closes ', time(inst.end)] : ['window opens ', time(inst.start)]));
  if (a.distribute?.windows && !dist) parts.push(h('div', null, 'no transfer window in the planned days'));
  return parts.length ? parts : h('span', { class: 'muted' }, 'any time');
}

/** @param {any[]} history @param {number} total */
function historySection(history, total) {
  const newest = [...history].reverse();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'history-heading' },
    h('h2', { id: 'history-heading' }, 'History'),
    newest.length
      ? h(
          'details',
          { class: 'history', 'data-key': 'history', open: true },
          h('summary', null, total > newest.length ? `Newest ${num(newest.length)} of ${plural(total, 'report')}` : plural(total, 'report')),
          h(
            'div',
            { class: 'table-wrap scroll-y', tabindex: '0', role: 'region', 'aria-label': 'Report history' },
            table(
              { class: 'table compact' },
              ['When', 'Action', 'State', 'Detail'],
              newest.map((r) =>
                h(
                  'tr',
                  { 'data-key': r.id },
                  h('td', null, time(r.at)),
                  h('td', { class: 'mono small' }, r.actionId),
                  h('td', null, stateBadge(r.state)),
                  h(
                    'td',
                    { class: 'small' },
                    [r.reason, r.exitCode !== undefined ? `exit code ${r.exitCode}` : null, r.bytesDone !== undefined ? `${size(r.bytesDone)} received` : null]
                      .filter(Boolean)
                      .join(' · ') || h('span', { class: 'muted' }, '—'),
                  ),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No reports yet.'),
  );
}
