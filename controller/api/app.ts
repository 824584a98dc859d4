/**
 * `createApi(deps)`: the controller's HTTP API (DESIGN §4): an express app behind one request
 * listener. Serve `api.createServer()`: that listener behind the poll front (poll-front.ts), which
 * answers plan polls from memory below node:http; tests do the same on port 0.
 * Contract: every client error is a 4xx `{error: {code, message, details}}`;
 * no request can crash the process or leave partial state behind a refusal.
 */
import type { RequestListener, Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { ApiError, errorHandler } from './errors.js';
import { StorageHealth } from './storage-health.js';
import { mountRoutes, type RouteSpec } from './route.js';
import { loadSchemas, type SchemaSet } from './validate.js';
import { agentRoutes } from './routes-agent.js';
import { adminRoutes } from './routes-admin.js';
import { contentRoutes } from './routes-content.js';
import { opsRoutes } from './routes-ops.js';
import { schemaRoutes } from './routes-schemas.js';
import { wakeRoutes } from './routes-wake.js';
import { bundleRoutes } from './routes-bundles.js';
import { relayRoutes } from './routes-relays.js';
import { RelayRegistry } from './relay-registry.js';
import { multicastRoutes } from '../multicast/routes.js';
import { PlanPoller } from './fast-plan.js';
import { ApiServer } from './poll-front.js';
import { SeenRecorder } from './seen.js';
import { AgentCalls } from './agent-calls.js';
import { LeanAgentPath } from './lean-agent.js';
import type { ApiDeps } from './deps.js';
import { createDashboardRouter } from '../dashboard/index.js';

export interface Api {
  /** The express app: every route. Serving it alone is correct, but skips the plan-poll fast path. */
  readonly app: Express;
  /**
   * The request listener to serve the API with. Contract: a plan poll (`GET`/`HEAD
   * /v1/hosts/{host}/plan` with a bearer credential) goes first to the fast path (fast-plan.ts),
   * which answers it from memory when it can; an agent's enroll, inventory or reports call goes to
   * the raw path (lean-agent.ts), same contract as its express route; every other request, and
   * every one those paths do not take, is handed to `app` untouched (nothing read from its body,
   * no header written).
   */
  readonly listener: RequestListener;
  /** A new node:http server for the API: `listener` behind the poll front (poll-front.ts). What the controller serves. */
  createServer(): Server;
  /** The registry the API records into (the one in deps, or a new one). */
  readonly metrics: Metrics;
  /** Every route, for documentation and the fuzz test. */
  readonly routes: readonly Pick<RouteSpec, 'method' | 'path' | 'auth'>[];
  /** Stops the API's timers and writes what it holds in memory (hosts' last seen); call before closing the store. */
  close(): Promise<void>;
  /** This process stored new plans for `hosts`: their next poll reads the new plan at once, not after the next sync. */
  plansRaised(hosts: readonly string[]): void;
}

let cachedSchemas: SchemaSet | undefined;

/** Builds the API. Schemas are read from `schemas/` once per process. */
export function createApi(deps: ApiDeps): Api {
  const metrics = deps.metrics ?? createMetrics();
  metrics.countHostsWith(async () => {
    const [enrolled, reset] = await Promise.all([deps.store.listHosts({ limit: 1, state: 'enrolled' }), deps.store.listHosts({ limit: 1, state: 'reset' })]);
    return { enrolled: enrolled.total, reset: reset.total };
  });
  const schemas = (cachedSchemas ??= loadSchemas());

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // A write that failed for want of space makes /readyz not ready until a probe write succeeds.
  const storage = new StorageHealth(() => deps.store.setMeta('health.write-probe', new Date(deps.clock.now()).toISOString()), deps.clock);
  const seen = new SeenRecorder(deps.store);
  const poller = new PlanPoller(deps.store, metrics, seen, deps.clock, { freshnessMs: deps.planCacheMs ?? 1000 });
  const calls = new AgentCalls(deps, metrics, seen, poller);
  const lean = new LeanAgentPath(calls, poller, schemas, deps.keys.adminToken, deps.clock, metrics, deps.logger, storage);
  const listener: RequestListener = (req, res) => {
    const toExpress = () => app(req, res);
    if (req.method === 'GET' || req.method === 'HEAD') poller.handle(req, res, toExpress);
    else lean.handle(req, res, toExpress);
  };

  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    next();
  });

  const table: RouteSpec[] = [
    ...opsRoutes(deps, metrics, storage),
    ...schemaRoutes(),
    ...agentRoutes(deps, metrics, seen, calls),
    ...contentRoutes(deps),
    ...adminRoutes(deps, (host) => poller.forgetHost(host)),
    ...wakeRoutes(deps),
    ...bundleRoutes(deps),
    ...relayRoutes(deps, deps.relayRegistry ?? new RelayRegistry(deps.clock)),
    ...multicastRoutes(deps),
  ];
  mountRoutes(app, table, { deps, schemas, metrics });

  // Dashboard hook (controller/dashboard/): the web page at `/` and its `/assets/`, unauthenticated;
  // its data calls go to the admin API above with the admin token.
  app.use(createDashboardRouter());

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new ApiError(404, 'not-found', `no endpoint ${req.method} ${req.path}; the API is under /v1 (DESIGN §4)`));
  });
  app.use(errorHandler(deps.logger, storage));

  return {
    app,
    listener,
    createServer: () => new ApiServer(listener, poller),
    metrics,
    routes: table.map(({ method, path, auth }) => ({ method, path, auth })),
    async close() {
      poller.close();
      await seen.close();
    },
    plansRaised(hosts) {
      poller.dropPlans(hosts);
    },
  };
}
