/** The admin side of the API (DESIGN §4): status, deployments, hosts, overrides, tokens, source. */
import { overrideInForce, type ActionStateRecord, type ActionStatusRecord, type DeploymentOverride, type StateCount, type StatusState } from '../store/store.js';
import { ApiError, notFound } from './errors.js';
import { statusStateOrder } from '../../core/plan/action-states.js';
import { parseDuration } from '../../core/units/duration.js';
import { verifyHubSignature } from './webhook.js';
import type { ApiDeps, DesiredDeployment } from './deps.js';

/** The pseudo actions a host's power events are recorded under: controller/wake's `wake`, the agent's `shutdown` (shutdownAfter). */
const powerActions = new Set(['wake', 'shutdown']);
import type { RouteSpec } from './route.js';

const defaultTokenTtlMs = 24 * 3_600_000;
/** The meta key under which the leader's reconciler records unavailable content (controller/reconcile). */
const unavailableContentKey = 'content.unavailable';
const maxFailuresListed = 200;

export interface SuspensionView {
  /** `spec.suspended` in git; absent when the deployment is not in the applied revision (or unknown). */
  readonly spec?: boolean;
  /** The operator's override stored in the database, if any. */
  readonly override?: DeploymentOverride;
  /** What applies: the override while it is in force, else the spec. */
  readonly effective: boolean;
  /** Which one is in force: the override, or git's `spec.suspended` (also when git changed it after the override). */
  readonly inForce: 'override' | 'git';
  /** Why, in a sentence. */
  readonly why: string;
}

/** The suspension of one deployment: git's spec, the override, which is in force and why. */
export function suspensionView(spec: boolean | undefined, override: DeploymentOverride | undefined): SuspensionView {
  const state = (s: boolean) => (s ? 'suspended' : 'resumed');
  if (override && overrideInForce(override, spec)) {
    const git = override.gitSuspended === undefined ? '' : `; git's spec.suspended is still ${override.gitSuspended}`;
    return {
      ...(spec !== undefined && { spec }),
      override,
      effective: override.suspended,
      inForce: 'override',
      why: `${state(override.suspended)} by ${override.by} at ${override.at}${override.reason ? ` (${override.reason})` : ''}${git}`,
    };
  }
  const effective = spec ?? false;
  const why = override
    ? `spec.suspended changed in git to ${spec} after ${override.by} ${override.suspended ? 'suspended' : 'resumed'} it at ${override.at}: git's later change wins`
    : spec === undefined
      ? 'not in the applied revision, no override'
      : `spec.suspended: ${spec} in git, no override`;
  return { ...(spec !== undefined && { spec }), ...(override && { override }), effective, inForce: 'git', why };
}

export interface DeploymentSummary {
  readonly name: string;
  /**
   * The actions of current plans by state, e.g. `{installed: 8, pending: 2, failed: 1}`: each
   * action once, in its reported state, or its planned status before the host reported on it.
   */
  readonly counts: Readonly<Partial<Record<StatusState, number>>>;
  /** Actions in current plans. */
  readonly actions: number;
  readonly suspended: SuspensionView;
  /** False when git's applied revision does not name it (any more), or unknown without a desired-state view. */
  readonly inGit?: boolean;
}

/** An artifact of the applied revision that no plan points at: its installs are blocked. */
export interface UnavailableContentView {
  readonly sha256: string;
  /** `name@version` of the packages whose artifact it is. */
  readonly packages: readonly string[];
  readonly reason: string;
}

/** What the leader last recorded about content: the revision it checked and what is unavailable. */
async function contentStatus(deps: ApiDeps): Promise<{ revision?: string; unavailable: UnavailableContentView[] }> {
  const text = await deps.store.getMeta(unavailableContentKey);
  if (text === undefined) return { unavailable: [] };
  try {
    const parsed = JSON.parse(text) as { revision?: string; unavailable?: UnavailableContentView[] };
    return { ...(parsed.revision !== undefined && { revision: parsed.revision }), unavailable: parsed.unavailable ?? [] };
  } catch {
    return { unavailable: [] };
  }
}

export interface FailureView {
  readonly host: string;
  readonly deployment?: string;
  readonly actionId: string;
  readonly package?: string;
  readonly version?: string;
  readonly reason?: string;
  readonly exitCode?: number;
  readonly at: string;
}

/** An action of a current plan as the API shows it; `reason` is the report's, or the planner's before a report. */
function actionView(s: ActionStatusRecord) {
  const r = s.report;
  const reason = r ? r.reason : s.plannedReason;
  return {
    actionId: s.actionId,
    package: s.package,
    version: s.version,
    op: s.op,
    state: s.state,
    planned: s.plannedStatus,
    ...(r && { at: r.at, serial: r.serial }),
    ...(reason !== undefined && { reason }),
    ...(r?.exitCode !== undefined && { exitCode: r.exitCode }),
    ...(r?.bytesDone !== undefined && { bytesDone: r.bytesDone }),
    ...(r?.output !== undefined && { output: r.output }),
    ...(r?.source !== undefined && { source: r.source }),
  };
}

/** A failed action of a current plan, or a failure about the host itself (e.g. it rejected its plan). */
function failureView(s: ActionStatusRecord | ActionStateRecord): FailureView {
  const r = s.report!;
  return {
    host: s.host,
    ...(s.deployment !== undefined && { deployment: s.deployment }),
    actionId: s.actionId,
    ...(s.package !== undefined && { package: s.package }),
    ...(s.version !== undefined && { version: s.version }),
    ...(r.reason !== undefined && { reason: r.reason }),
    ...(r.exitCode !== undefined && { exitCode: r.exitCode }),
    at: r.at,
  };
}

function summarize(counts: readonly StateCount[], overrides: readonly DeploymentOverride[], desired: readonly DesiredDeployment[] | undefined): DeploymentSummary[] {
  const names = new Set<string>();
  for (const c of counts) if (c.deployment !== '') names.add(c.deployment);
  for (const o of overrides) names.add(o.deployment);
  for (const d of desired ?? []) names.add(d.name);
  const specs = new Map((desired ?? []).map((d) => [d.name, d]));
  const byName = new Map(overrides.map((o) => [o.deployment, o]));
  return [...names].sort().map((name) => {
    const mine = counts.filter((c) => c.deployment === name);
    const spec = specs.get(name);
    const override = byName.get(name);
    return {
      name,
      counts: Object.fromEntries(mine.map((c) => [c.state, c.count])),
      actions: mine.reduce((n, c) => n + c.count, 0),
      suspended: suspensionView(spec?.suspended, override),
      ...(desired && { inGit: spec !== undefined }),
    };
  });
}

/** `forgetHost` drops what the API caches about a host (its credential) after a reset. */
export function adminRoutes(deps: ApiDeps, forgetHost: (host: string) => void = () => undefined): RouteSpec[] {
  const { store } = deps;
  const deploymentSummaries = async (only?: string): Promise<DeploymentSummary[]> => {
    const [counts, overrides] = await Promise.all([store.countStates(only === undefined ? {} : { deployment: only }), store.listOverrides()]);
    const desired = deps.desired?.deployments();
    const all = summarize(counts, overrides, desired);
    return only === undefined ? all : all.filter((d) => d.name === only);
  };
  const setOverride = (suspended: boolean): RouteSpec => ({
    method: 'POST',
    path: `/v1/deployments/:name/${suspended ? 'suspend' : 'resume'}`,
    auth: 'admin',
    body: { kind: 'json', schema: 'api/override', limit: '64kb', optional: true },
    async handle({ res, params, body, now }) {
      const name = params['name']!;
      // Without a view of git, a deployment may be suspended before anything reported on it.
      const known = deps.desired === undefined || (await deploymentSummaries(name)).length > 0;
      if (!known) throw notFound(`no deployment ${name} in the applied revision or in any report`);
      const by = (body as { by?: string }).by ?? 'admin';
      // What git says now: a later change of the field in git supersedes this override.
      const spec = deps.desired?.deployments().find((d) => d.name === name)?.suspended;
      const override = await store.setSuspended(name, suspended, by, now, undefined, spec);
      deps.reconciler.overridesChanged();
      deps.logger.info({ deployment: name, suspended, by }, suspended ? 'deployment suspended by operator' : 'deployment resumed by operator');
      const [summary] = await deploymentSummaries(name);
      res.status(200).json({ deployment: name, override, suspended: summary?.suspended ?? suspensionView(spec, override) });
    },
  });
  const clearOverride: RouteSpec = {
    method: 'POST',
    path: '/v1/deployments/:name/clear',
    auth: 'admin',
    body: { kind: 'json', schema: 'api/empty', limit: '64kb', optional: true },
    async handle({ res, params }) {
      const name = params['name']!;
      const existing = (await store.listOverrides()).find((o) => o.deployment === name);
      if (!existing) throw notFound(`deployment ${name} has no operator override to clear`);
      await store.clearOverride(name);
      deps.reconciler.overridesChanged();
      deps.logger.info({ deployment: name, cleared: existing }, 'deployment override cleared by operator');
      const spec = deps.desired?.deployments().find((d) => d.name === name)?.suspended;
      const [summary] = await deploymentSummaries(name);
      res.json({ deployment: name, cleared: existing, suspended: summary?.suspended ?? suspensionView(spec, undefined) });
    },
  };

  return [
    {
      method: 'GET',
      path: '/v1/status',
      auth: 'admin',
      body: { kind: 'none' },
      async handle({ res }) {
        const [record, enrolled, reset, deployments, failed, hostFailed, content] = await Promise.all([
          store.getSourceStatus(),
          store.listHosts({ limit: 1, state: 'enrolled' }),
          store.listHosts({ limit: 1, state: 'reset' }),
          deploymentSummaries(),
          store.actionStatuses({ state: 'failed', limit: maxFailuresListed }),
          // Reports about a host rather than an action of a plan (`plan`: the agent rejected its plan).
          store.currentStates({ deployment: '', state: 'failed' }),
          contentStatus(deps),
        ]);
        const planFailures = deployments.reduce((n, d) => n + (d.counts.failed ?? 0), 0);
        res.json({
          source: { ...record, fetch: deps.source.status() ?? null },
          hosts: { total: enrolled.total + reset.total, enrolled: enrolled.total, reset: reset.total },
          deployments,
          failures: [...hostFailed, ...failed].slice(0, maxFailuresListed).map(failureView),
          failuresTotal: hostFailed.length + planFailures,
          content,
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/deployments',
      auth: 'admin',
      body: { kind: 'none' },
      async handle({ res }) {
        res.json({ deployments: await deploymentSummaries() });
      },
    },
    {
      method: 'GET',
      path: '/v1/deployments/:name',
      auth: 'admin',
      query: 'api/deployment-query',
      body: { kind: 'none' },
      async handle({ res, params, query }) {
        const name = params['name']!;
        const [summary] = await deploymentSummaries(name);
        if (!summary) throw notFound(`no deployment ${name} in the applied revision or in any report`);
        const { offset, limit, state, group } = query as { offset: number; limit: number; state?: StatusState; group?: string };
        const groups = deps.desired?.groups?.();
        const members = group === undefined ? undefined : groups?.get(group);
        if (group !== undefined && members === undefined) {
          throw new ApiError(400, 'unknown-group', groups ? `no group ${group} in the applied revision` : 'group membership is not known to this controller yet', [
            { path: '/group', message: 'not a group of the applied revision' },
          ]);
        }
        // Every host whose current plan has an action of this deployment, reported on or not.
        const [targeted, failures] = await Promise.all([
          store.deploymentHosts(name, state === undefined ? {} : { state }),
          store.actionStatuses({ deployment: name, state: 'failed', limit: maxFailuresListed }),
        ]);
        const rows = members === undefined ? targeted : targeted.filter((host) => members.has(host));
        const pageHosts = rows.slice(offset, offset + limit);
        const byHost = new Map<string, ActionStatusRecord[]>(pageHosts.map((host) => [host, []]));
        for (const s of await store.actionStatuses({ deployment: name, hosts: pageHosts })) byHost.get(s.host)?.push(s);
        // Power events (the pseudo actions `wake` and `shutdown`): the newest of each, per host shown.
        const power = new Map(
          await Promise.all(
            pageHosts.map(async (host) => {
              const events = (await store.currentStates({ host })).filter((s) => powerActions.has(s.actionId));
              return [host, events.map((s) => ({ actionId: s.actionId, at: s.report.at, ...(s.report.reason !== undefined && { reason: s.report.reason }) }))] as const;
            }),
          ),
        );
        const page = [...byHost.entries()].map(([host, actions]) => {
          const hostState = statusStateOrder.find((p) => actions.some((a) => a.state === p)) ?? actions[0]?.state ?? 'pending';
          const reported = actions.flatMap((a) => (a.report ? [a.report.at] : []));
          const lastReportAt = reported.sort().at(-1); // ISO times sort as text
          const events = power.get(host) ?? [];
          return { host, state: hostState, ...(lastReportAt !== undefined && { lastReportAt }), actions: actions.map(actionView), ...(events.length > 0 && { power: events }) };
        });
        const desired = deps.desired?.deployments().find((d) => d.name === name);
        res.json({
          ...summary,
          ...(desired && { packages: desired.packages }),
          ...(groups && { groups: [...groups.keys()].sort() }),
          hosts: { total: rows.length, offset, limit, items: page },
          failures: failures.map(failureView),
        });
      },
    },
    setOverride(true),
    setOverride(false),
    clearOverride,
    {
      method: 'GET',
      path: '/v1/hosts',
      auth: 'admin',
      query: 'api/hosts-query',
      body: { kind: 'none' },
      async handle({ res, query }) {
        const { offset, limit, state } = query as { offset: number; limit: number; state?: 'enrolled' | 'reset' };
        const page = await store.listHosts({ offset, limit, ...(state && { state }) });
        const items = await Promise.all(
          page.hosts.map(async (h) => {
            const counts: Partial<Record<StatusState, number>> = {};
            for (const c of await store.countStates({ host: h.host })) counts[c.state] = (counts[c.state] ?? 0) + c.count;
            return { ...h, actions: counts };
          }),
        );
        res.json({ total: page.total, offset, limit, hosts: items });
      },
    },
    {
      method: 'GET',
      path: '/v1/hosts/:host',
      auth: 'admin',
      query: 'api/history-query',
      body: { kind: 'none' },
      async handle({ res, params, query }) {
        const name = params['host']!;
        const host = await store.getHost(name);
        if (!host) throw notFound(`no host ${name}`);
        const [inventory, plan, states, history] = await Promise.all([store.getInventory(name), store.getPlan(name), store.actionStatuses({ host: name }), store.history(name)]);
        const keep = (query as { history: number }).history;
        const { signed: _signed, ...planView } = plan ?? {};
        const groups = deps.desired?.groups?.();
        res.json({
          host,
          ...(groups && {
            groups: [...groups.entries()]
              .filter(([, m]) => m.has(name))
              .map(([g]) => g)
              .sort(),
          }),
          inventory: inventory ?? null,
          plan: plan ? planView : null,
          states: states.map((s) => ({ deployment: s.deployment, ...actionView(s) })),
          history: keep === 0 ? [] : history.slice(-keep),
          historyTotal: history.length,
        });
      },
    },
    {
      method: 'POST',
      path: '/v1/hosts/:host/reset',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/empty', limit: '64kb', optional: true },
      async handle({ res, params, now }) {
        const result = await store.resetHost(params['host']!, now);
        if ('error' in result) throw notFound(`no host ${params['host']}`);
        forgetHost(result.host.host);
        deps.logger.info({ host: result.host.host }, 'host credential reset by admin');
        res.json({ host: result.host });
      },
    },
    {
      method: 'POST',
      path: '/v1/tokens',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/token-create', limit: '64kb', optional: true },
      async handle({ res, body, now }) {
        const ttl = (body as { ttl?: string | number }).ttl;
        const ttlMs = ttl === undefined ? defaultTokenTtlMs : typeof ttl === 'number' ? ttl : parseDuration(ttl);
        if (ttlMs === undefined || ttlMs < 1000 || ttlMs > 365 * 86_400_000) {
          throw new ApiError(400, 'invalid-body', 'ttl must be between 1s and 365d', [{ path: '/ttl', message: 'out of range' }]);
        }
        const created = await store.createToken({ ttlMs, now });
        res.status(201).json(created);
      },
    },
    {
      method: 'GET',
      path: '/v1/tokens',
      auth: 'admin',
      body: { kind: 'none' },
      async handle({ res, now }) {
        const at = now.toISOString();
        const tokens = (await store.listTokens()).map((t) => ({ ...t, state: t.revokedAt !== undefined ? 'revoked' : t.expiresAt <= at ? 'expired' : 'valid' }));
        res.json({ tokens });
      },
    },
    {
      method: 'POST',
      path: '/v1/tokens/:token/revoke',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/empty', limit: '64kb', optional: true },
      async handle({ res, params, now }) {
        const result = await store.revokeToken(params['token']!, now);
        if ('error' in result && result.error === 'ambiguous') {
          throw new ApiError(409, 'ambiguous-token', `more than one token starts with ${params['token']}; give more of its id (\`ferry token list\`)`);
        }
        if ('error' in result) throw notFound(`no enrollment token ${params['token']} (\`ferry token list\` shows their ids)`);
        deps.logger.info({ token: result.token.id }, 'enrollment token revoked by admin');
        res.json({ token: { ...result.token, state: 'revoked' } });
      },
    },
    {
      method: 'POST',
      path: '/v1/source/refresh',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/empty', limit: '64kb', optional: true },
      async handle({ res }) {
        await deps.source.refresh();
        const fetch = deps.source.status() as { source?: { error?: { message?: string } } } | undefined;
        const source = { ...(await store.getSourceStatus()), fetch: fetch ?? null };
        // The fetch this refresh waited for failed: say so with an error status, not a 200.
        const failed = fetch?.source?.error?.message;
        if (failed !== undefined) throw new ApiError(502, 'source-fetch-failed', `fetching the source failed: ${failed}`, { source });
        res.json({ source });
      },
    },
    {
      method: 'POST',
      path: '/v1/source/webhook',
      auth: 'signed',
      body: { kind: 'raw', limit: '1mb' },
      handle({ req, res, body }) {
        if (deps.webhookSecret === undefined) throw notFound('the webhook is not configured (start the controller with --webhook-secret-file)');
        const header = req.headers['x-hub-signature-256'];
        if (!verifyHubSignature(deps.webhookSecret, body as Buffer, typeof header === 'string' ? header : undefined)) {
          throw new ApiError(401, 'bad-signature', 'X-Hub-Signature-256 does not match the body under the webhook secret');
        }
        deps.source.refresh().catch((err: unknown) => deps.logger.warn({ err }, 'refresh after webhook failed'));
        res.status(202).json({ refreshing: true });
      },
    },
  ];
}
