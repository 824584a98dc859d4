/** Unauthenticated operations endpoints: liveness, readiness, Prometheus metrics. */
import { bearerToken, safeEqual } from './auth.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RouteSpec } from './route.js';
import type { StorageHealth } from './storage-health.js';

export function opsRoutes(deps: ApiDeps, metrics: Metrics, storage?: StorageHealth): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      auth: 'none',
      body: { kind: 'none' },
      handle({ res }) {
        res.json({ status: 'ok' });
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      auth: 'none',
      body: { kind: 'none' },
      async handle({ res }) {
        let ready = false;
        try {
          ready = deps.ready();
        } catch {
          ready = false;
        }
        // Serving needs the store to write too (reports, inventories, enrollments).
        const full = await storage?.check().catch(() => undefined);
        if (full) {
          res.status(503).json({ status: 'not-ready', reason: 'insufficient-storage', message: `the store cannot write since ${full.since}: ${full.message}` });
          return;
        }
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready' });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      auth: 'none',
      body: { kind: 'none' },
      async handle({ req, res }) {
        const { metricsToken } = deps;
        if (metricsToken !== undefined) {
          const given = bearerToken(req.headers);
          if (given === undefined || !(safeEqual(given, metricsToken) || safeEqual(given, deps.keys.adminToken))) {
            throw new ApiError(401, 'unauthenticated', 'this controller was started with --metrics-token-file: send `Authorization: Bearer <that token>`', undefined, {
              'WWW-Authenticate': 'Bearer realm="ferry-metrics"',
            });
          }
        }
        const { contentType, body } = await metrics.expose();
        res.setHeader('Content-Type', contentType);
        res.end(body);
      },
    },
  ];
}
