/**
 * Offline bundles (DESIGN §3, §4): `GET /v1/bundles?host=H|group=G[&valid=30d]` streams a bundle
 * (a tar; its id and the controller key's fingerprint in `X-Ferry-Bundle-Id` and
 * `X-Ferry-Controller-Fingerprint`), `POST /v1/results` imports a results file. Admin only.
 */
import { pipeline } from 'node:stream/promises';
import type { ResultsFile } from '../../core/bundle/format.js';
import { parseDuration } from '../../core/units/duration.js';
import type { PlanRecord } from '../store/store.js';
import { buildBundle } from '../bundle/build-bundle.js';
import { importResults } from '../bundle/import-results.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';
import type { RouteSpec } from './route.js';

/** Default `--valid`: media travel slowly. */
export const defaultBundleValid = '30d';

export function bundleRoutes(deps: ApiDeps): RouteSpec[] {
  const signingKey = (): string => {
    const key = deps.keys.privateKeyPem;
    if (!key) throw new ApiError(501, 'not-configured', 'this controller was started without its signing key for bundles');
    return key;
  };
  return [
    {
      method: 'GET',
      path: '/v1/bundles',
      auth: 'admin',
      body: { kind: 'none' },
      query: 'api/bundles-query',
      async handle({ res, query, now }) {
        const q = query as { host?: string; group?: string; valid?: string };
        if ((q.host === undefined) === (q.group === undefined)) throw new ApiError(400, 'bad-request', 'give exactly one of host=H or group=G');
        const validMs = parseDuration(q.valid ?? defaultBundleValid);
        if (validMs === undefined || validMs <= 0) throw new ApiError(400, 'bad-request', `valid=${q.valid} is not a duration; use e.g. 30d or 72h`);
        const hosts = q.host !== undefined ? [q.host] : groupHosts(deps, q.group!);
        const plans: PlanRecord[] = [];
        for (const h of hosts) {
          const plan = await deps.store.getPlan(h);
          if (plan) plans.push(plan);
          else if (q.host !== undefined) {
            throw new ApiError(404, 'not-found', `no plan for host ${h}: name it in a Host manifest or a group's hosts (or let it enroll), and wait for the controller to plan it`);
          }
        }
        if (plans.length === 0) throw new ApiError(404, 'not-found', `no host of group ${q.group} has a plan yet`);
        const built = await buildBundle({ plans, now, validMs }, { privateKeyPem: signingKey(), publicKeyPem: deps.keys.publicKeyPem }, deps.content);
        if (!built.ok) throw new ApiError(409, 'content-missing', built.reason);
        try {
          res.setHeader('Content-Type', 'application/x-tar');
          res.setHeader('X-Ferry-Bundle-Id', built.index.id);
          res.setHeader('X-Ferry-Controller-Fingerprint', built.index.fingerprint);
          res.setHeader('X-Ferry-Bundle-Hosts', built.index.hosts.map((h) => h.host).join(','));
          await pipeline(built.stream, res);
        } finally {
          await built.cleanup();
        }
      },
    },
    {
      method: 'POST',
      path: '/v1/results',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/results-import', limit: '64mb' },
      async handle({ res, body, now }) {
        const file = body as ResultsFile;
        const outcome = await importResults(deps.store, file, signingKey(), now);
        if (!outcome.ok) throw new ApiError(422, 'results-refused', outcome.reason);
        if (outcome.result.accepted > 0) deps.reconciler.reportsIngested(outcome.host);
        res.json({
          host: outcome.host,
          bundleId: outcome.bundleId,
          appliedAt: outcome.appliedAt,
          accepted: outcome.result.accepted,
          duplicates: outcome.result.duplicates,
          advanced: outcome.result.advanced,
        });
      },
    },
  ];
}

function groupHosts(deps: ApiDeps, group: string): string[] {
  const groups = deps.desired?.groups?.();
  if (!groups) throw new ApiError(503, 'not-ready', 'group membership is not known yet (ask the leading controller once it applied a revision)');
  const members = groups.get(group);
  if (!members) throw new ApiError(404, 'not-found', `no group ${group} in the applied revision`);
  return [...members].sort();
}
