// @ts-check
/** Pieces shared by the views: the source panel, progress bars, state counts, suspension, pagination. */
import { h } from '../dom.js';
import { num, plural, progressParts, revision, stateBadge, stateInfo, states, time } from '../format.js';
import { href } from '../route.js';

/**
 * The source panel (Flux-style): the revision in force, the last one seen, and a rejected
 * revision with every FILE:LINE:COL problem.
 * @param {any} status the body of GET /v1/status
 */
export function sourcePanel(status) {
  const src = status?.source ?? {};
  const rejected = src.rejected;
  const applied = src.lastAppliedRevision !== undefined;
  const inSync = applied && (src.lastAttemptedRevision === undefined || src.lastAttemptedRevision === src.lastAppliedRevision);
  const hosts = status?.hosts ?? { total: 0, enrolled: 0, reset: 0 };
  return h(
    'div',
    { class: 'source-inner' },
    h('h2', { id: 'source-heading', class: 'visually-hidden' }, 'Source'),
    h(
      'dl',
      { class: 'source-facts' },
      h(
        'div',
        null,
        h('dt', null, 'Applied revision'),
        h('dd', null, revision(src.lastAppliedRevision), src.lastAppliedAt ? [' ', h('span', { class: 'muted' }, '· ', time(src.lastAppliedAt))] : null),
      ),
      h(
        'div',
        null,
        h('dt', null, 'Last revision seen'),
        h(
          'dd',
          null,
          revision(src.lastAttemptedRevision ?? src.lastAppliedRevision),
          ' ',
          inSync
            ? h('span', { class: 'pill tone-good' }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, '✓'), 'in force')
            : rejected || src.lastAttemptOk === false
              ? h('span', { class: 'pill tone-bad' }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, '✕'), 'rejected')
              : h('span', { class: 'pill tone-idle' }, 'waiting for the first revision'),
        ),
      ),
      h('div', null, h('dt', null, 'Hosts'), h('dd', null, `${num(hosts.enrolled)} enrolled`, hosts.reset ? h('span', { class: 'muted' }, ` · ${num(hosts.reset)} reset`) : null)),
    ),
    rejected ? rejectedBox(rejected, src.lastAppliedRevision) : null,
  );
}

/** @param {any} rejected @param {string | undefined} applied */
function rejectedBox(rejected, applied) {
  const problems = /** @type {any[]} */ (rejected.problems ?? []);
  const errors = problems.filter((p) => p.severity !== 'warning').length;
  return h(
    'div',
    { class: 'rejected', 'data-key': `rejected-${rejected.revision}` },
    h(
      'h3',
      null,
      h('span', { class: 'glyph', 'aria-hidden': 'true' }, '✕ '),
      'Revision ',
      revision(rejected.revision),
      ' was rejected ',
      h('span', { class: 'muted-on-bad' }, '· ', time(rejected.at)),
    ),
    h(
      'p',
      null,
      applied ? ['The last good revision, ', revision(applied), ', stays in force. '] : 'No revision is in force yet. ',
      problems.length ? `Fix ${plural(errors || problems.length, 'problem')} and push again:` : '',
    ),
    rejected.message ? h('p', { class: 'mono' }, rejected.message) : null,
    problems.length
      ? h(
          'ul',
          { class: 'problems' },
          problems
            .slice(0, 50)
            .map((p) =>
              h('li', { class: `mono sev-${p.severity}` }, h('span', { class: 'loc' }, `${p.file}:${p.line}:${p.col}`), ': ', h('strong', null, p.severity), ': ', p.message),
            ),
          problems.length > 50 ? h('li', { class: 'muted' }, `… and ${num(problems.length - 50)} more (run ferry validate)`) : null,
        )
      : null,
  );
}

/**
 * A stacked bar: installed, not applicable, failed, in progress; its words say the same.
 * @param {Record<string, number>} counts
 * @param {string} name what the bar is about, for its accessible name
 */
export function progressBar(counts, name) {
  const p = progressParts(counts);
  const settled = p.done + p.na;
  const pct = p.total ? Math.round((settled / p.total) * 100) : 0;
  const width = (/** @type {number} */ n) => (p.total ? `${(n / p.total) * 100}%` : '0');
  const words = p.total
    ? `${num(settled)} of ${num(p.total)} settled (${pct}%)${p.failed ? `, ${num(p.failed)} failed` : ''}${p.moving ? `, ${num(p.moving)} in progress` : ''}`
    : 'no reports yet';
  return h(
    'div',
    { class: 'progress' },
    h(
      'div',
      { class: 'bar', role: 'progressbar', 'aria-label': `${name} progress`, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, 'aria-valuetext': words },
      h('span', { class: 'seg seg-done', style: null, 'data-width': width(p.done) }),
      h('span', { class: 'seg seg-na', 'data-width': width(p.na) }),
      h('span', { class: 'seg seg-failed', 'data-width': width(p.failed) }),
      h('span', { class: 'seg seg-moving', 'data-width': width(p.moving) }),
    ),
    h('div', { class: 'progress-words' }, words),
  );
}

/**
 * Per-state counts as a list; with `linkTo`, each count links to the hosts in that state.
 * @param {Record<string, number>} counts
 * @param {((state: string) => string) | undefined} [linkTo]
 * @param {string | undefined} [current] the state filtered on now
 */
export function stateCounts(counts, linkTo, current) {
  const present = states.filter((s) => (counts[s] ?? 0) > 0);
  if (present.length === 0) return h('p', { class: 'muted counts-empty' }, 'No actions planned yet');
  return h(
    'ul',
    { class: 'counts', 'aria-label': 'Actions by state' },
    present.map((s) => {
      const body = [stateBadge(s), h('span', { class: 'count', 'data-count': s }, num(counts[s] ?? 0))];
      return h(
        'li',
        { 'data-key': s },
        linkTo
          ? h(
              'a',
              {
                href: linkTo(s),
                class: `count-link${current === s ? ' current' : ''}`,
                'aria-current': current === s ? 'true' : null,
                'aria-label': `${num(counts[s] ?? 0)} ${stateInfo[s]?.label ?? s}${current === s ? ' (filtered)' : ', show these hosts'}`,
              },
              body,
            )
          : h('span', { class: 'count-item' }, body),
      );
    }),
  );
}

/** Who suspended, from the override's `by`: the controller itself (rollout maxFailures) or an operator. @param {any} override */
export function suspendedBySelf(override) {
  return typeof override?.by === 'string' && /^(ferry|controller|rollout|self)\b/.test(override.by);
}

/**
 * The suspension as words: git's `spec.suspended`, the operator's override, the controller's own.
 * @param {any} s a SuspensionView
 * @returns {{label: string, tone: string, detail: any[]}}
 */
export function suspension(s) {
  const o = s?.override;
  if (o?.suspended) {
    const self = suspendedBySelf(o);
    return {
      label: self ? 'Suspended by Ferry' : 'Suspended by operator',
      tone: 'warn',
      detail: [self ? `${o.by} (too many failures)` : o.by, ' · ', time(o.at), s.spec !== undefined ? ` · git: ${s.spec ? 'suspended' : 'active'}` : ''],
    };
  }
  if (o && !o.suspended) {
    return { label: 'Active', tone: 'good', detail: ['resumed by ', o.by, ' · ', time(o.at), s.spec ? ' · overrides git’s suspended: true' : ''] };
  }
  if (s?.spec) return { label: 'Suspended in git', tone: 'warn', detail: ['spec.suspended: true'] };
  return { label: 'Active', tone: 'good', detail: [] };
}

/** @param {any} s a SuspensionView */
export function suspensionBadge(s) {
  const v = suspension(s);
  return h('span', { class: `pill tone-${v.tone}` }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, v.tone === 'warn' ? '‖' : '▶'), v.label);
}

/**
 * Pagination as a nav of links: first, previous, "page N of M", next, last.
 * @param {{total: number, offset: number, limit: number}} page
 * @param {(page: number) => string} hrefOf
 * @param {string} what e.g. "hosts"
 */
export function pagination(page, hrefOf, what) {
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  const current = Math.floor(page.offset / page.limit) + 1;
  const link = (/** @type {number} */ n, /** @type {string} */ text, /** @type {string} */ label) =>
    n < 1 || n > pages || n === current
      ? h('span', { class: 'page-link disabled', 'aria-hidden': 'true' }, text)
      : h('a', { class: 'page-link', href: hrefOf(n), 'aria-label': label }, text);
  const from = page.total === 0 ? 0 : page.offset + 1;
  const to = Math.min(page.offset + page.limit, page.total);
  return h(
    'nav',
    { class: 'pagination', 'aria-label': `Pages of ${what}` },
    h(
      'p',
      { class: 'page-info', 'aria-live': 'polite' },
      `${num(from)}–${num(to)} of ${plural(page.total, what.replace(/s$/, ''), what)}`,
      pages > 1 ? ` · page ${num(current)} of ${num(pages)}` : '',
    ),
    pages > 1
      ? h(
          'div',
          { class: 'page-links' },
          link(1, '« First', 'First page'),
          link(current - 1, '‹ Previous', 'Previous page'),
          link(current + 1, 'Next ›', 'Next page'),
          link(pages, 'Last »', `Last page, ${num(pages)}`),
        )
      : null,
  );
}

/** A breadcrumb trail. @param {...[string, string | null]} items label and href (null: this page) */
export function breadcrumbs(...items) {
  return h(
    'nav',
    { class: 'crumbs', 'aria-label': 'Breadcrumb' },
    h(
      'ol',
      null,
      items.map(([label, link]) => h('li', null, link ? h('a', { href: link }, label) : h('span', { 'aria-current': 'page' }, label))),
    ),
  );
}

/** Query for a page number. @param {Record<string, string>} query @param {number} n */
export const withPage = (query, n) => ({ ...query, page: n > 1 ? n : undefined });

export { href };

/**
 * A table: its column headings (a string is a plain `<th scope="col">`; a node is used as it is), its body
 * rows and, when given, its caption.
 * @param {Record<string, string>} attrs
 * @param {any[]} headings
 * @param {any} rows
 * @param {any} [caption]
 */
export function table(attrs, headings, rows, caption) {
  return h(
    'table',
    attrs,
    caption ?? null,
    h('thead', null, h('tr', null, ...headings.map((t) => (typeof t === 'string' ? h('th', { scope: 'col' }, t) : t)))),
    h('tbody', null, rows),
  );
}
