/** The agent side of the API (DESIGN §4) as express routes: enroll, inventory, plan, reports. */
import { ApiError } from './errors.js';
import { noneMatch } from './http.js';
import type { ApiDeps } from './deps.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RouteSpec } from './route.js';
import type { AgentCalls, EnrollBody, InventoryBody, ReportsBody } from './agent-calls.js';
import type { SeenRecorder } from './seen.js';

/** `calls` is shared with the raw fast path (lean-agent.ts), so both batch into the same writers. */
export function agentRoutes(deps: ApiDeps, metrics: Metrics, seen: SeenRecorder, calls: AgentCalls): RouteSpec[] {
  const { store } = deps;
  return [
    {
      method: 'POST',
      path: '/v1/enroll',
      auth: 'none',
      body: { kind: 'json', schema: 'api/enroll', limit: '1mb' },
      async handle({ req, res, body, now }) {
        const answer = await calls.enroll(req.socket.remoteAddress ?? 'unknown', body as EnrollBody, now);
        res.status(answer.status).json(answer.body);
      },
    },
    {
      method: 'PUT',
      path: '/v1/hosts/:host/inventory',
      auth: 'host',
      body: { kind: 'json', schema: 'api/inventory-body', limit: '4mb' },
      async handle({ res, params, body, now }) {
        const answer = await calls.putInventory(params['host']!, body as InventoryBody, now);
        res.status(answer.status).json(answer.body);
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
        if (caller?.kind === 'host') seen.note(host, now.getTime());
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
        const answer = await calls.ingest(params['host']!, body as ReportsBody, now);
        res.status(answer.status).json(answer.body);
      },
    },
  ];
}
