/** The agent side of the API (DESIGN §4): enroll, inventory, plan, reports. */
import type { ActionReport, Facts, Inventory, SoftwareItem } from '../../core/plan/types.js';
import { ApiError } from './errors.js';
import { newCredential, sha256Hex } from './auth.js';
import { noneMatch } from './http.js';
import { RateLimiter } from './rate-limit.js';
import { SeenRecorder } from './seen.js';
import type { ApiDeps } from './deps.js';
import type { EnrollAttempt } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RouteSpec } from './route.js';
import { WriteBatcher } from './write-batcher.js';

interface EnrollBody {
  readonly token: string;
  readonly host: string;
  readonly facts?: Facts;
  readonly labels?: Record<string, string>;
}

interface InventoryBody {
  readonly host?: string;
  readonly facts: Facts;
  readonly labels: Record<string, string>;
  readonly software: SoftwareItem[];
}

interface ReportsBody {
  readonly results: ActionReport[];
}

/** `seen` is shared with the plan fast path, so a host's polls write "last seen" once a minute either way. */
export function agentRoutes(deps: ApiDeps, metrics: Metrics, seen: SeenRecorder = new SeenRecorder(deps.store)): RouteSpec[] {
  const { store, reconciler, clock } = deps;
  const limiter = new RateLimiter(deps.enrollRateLimit?.perMinute ?? 10, deps.enrollRateLimit?.burst ?? 10);
  const enrollments = new WriteBatcher((attempts: readonly EnrollAttempt[]) => store.enrollHosts(attempts));
  const inventories = new WriteBatcher((items: readonly { readonly inventory: Inventory; readonly now: Date }[]) => store.putInventories(items));
  const markSeen = async (host: string, now: Date, force: boolean): Promise<void> => {
    await seen.record(host, now, force);
  };

  return [
    {
      method: 'POST',
      path: '/v1/enroll',
      auth: 'none',
      body: { kind: 'json', schema: 'api/enroll', limit: '1mb' },
      async handle({ req, res, body, now }) {
        const wait = limiter.take(req.socket.remoteAddress ?? 'unknown', clock.now());
        if (wait > 0) {
          throw new ApiError(429, 'rate-limited', `too many enrollments from this address; try again in ${wait} s`, undefined, {
            'Retry-After': String(wait),
          });
        }
        const b = body as EnrollBody;
        const credential = newCredential();
        const enrolled = await enrollments.submit({
          token: b.token,
          host: b.host,
          credentialHash: sha256Hex(credential),
          facts: b.facts ?? {},
          labels: b.labels ?? {},
          now,
        });
        if ('error' in enrolled && enrolled.error !== 'host-exists') {
          const why = enrolled.error === 'expired' ? 'has expired' : 'is not known';
          throw new ApiError(401, 'bad-token', `the enrollment token ${why}; ask an admin for a new one (\`ferry token create\`)`);
        }
        if ('error' in enrolled) {
          throw new ApiError(409, 'host-exists', `host ${b.host} is already enrolled; ask an admin to reset it (POST /v1/hosts/${b.host}/reset) if this machine replaces it`);
        }
        deps.logger.info({ host: b.host }, 'host enrolled');
        reconciler.inventoryChanged(b.host);
        res.status(201).json({ host: b.host, credential, controllerKey: deps.keys.enrollmentKeyPem ?? deps.keys.publicKeyPem });
      },
    },
    {
      method: 'PUT',
      path: '/v1/hosts/:host/inventory',
      auth: 'host',
      body: { kind: 'json', schema: 'api/inventory-body', limit: '4mb' },
      async handle({ res, params, body, now }) {
        const host = params['host']!;
        const b = body as InventoryBody;
        if (b.host !== undefined && b.host !== host) {
          throw new ApiError(400, 'host-mismatch', `the body is for host ${b.host} but the path names ${host}`);
        }
        const inventory: Inventory = { host, facts: b.facts, labels: b.labels, software: b.software };
        const result = await inventories.submit({ inventory, now }); // also marks the host seen
        seen.noteWritten(host, now);
        if (result.changed) reconciler.inventoryChanged(host);
        res.status(200).json({ host, hash: result.hash, changed: result.changed });
      },
    },
    {
      method: 'GET',
      path: '/v1/hosts/:host/plan',
      auth: 'host',
      body: { kind: 'none' },
      async handle({ req, res, params, caller, now }) {
        const host = params['host']!;
        const plan = await store.getSignedPlan(host);
        if (!plan) {
          throw new ApiError(404, 'no-plan-yet', `no plan for ${host} yet; the controller plans a host after its first inventory`);
        }
        if (caller?.kind === 'host') await markSeen(host, now, false);
        const etag = `"${plan.sha256}"`;
        res.setHeader('ETag', etag);
        res.setHeader('Cache-Control', 'private, no-cache');
        if (noneMatch(req.headers['if-none-match'], etag)) {
          metrics.planServed('304');
          res.status(304).end();
          return;
        }
        metrics.planServed('200');
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.status(200).end(req.method === 'HEAD' ? undefined : plan.signed);
      },
    },
    {
      method: 'POST',
      path: '/v1/hosts/:host/reports',
      auth: 'host',
      body: { kind: 'json', schema: 'api/reports-body', limit: '4mb' },
      async handle({ res, params, body, now }) {
        const host = params['host']!;
        const { results } = body as ReportsBody;
        const ingested = await store.ingestReports(host, results, now);
        await markSeen(host, now, true);
        if (ingested.accepted > 0) metrics.reportsIngested.inc({ result: 'accepted' }, ingested.accepted);
        if (ingested.duplicates > 0) metrics.reportsIngested.inc({ result: 'duplicate' }, ingested.duplicates);
        if (ingested.advanced.length > 0 || ingested.accepted > 0) reconciler.reportsIngested(host);
        res.status(200).json({ accepted: ingested.accepted, duplicates: ingested.duplicates });
      },
    },
  ];
}
