/** Unauthenticated operations endpoints: liveness, readiness, Prometheus metrics. */
import type { ApiDeps } from './deps.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RouteSpec } from './route.js';

export function opsRoutes(deps: ApiDeps, metrics: Metrics): RouteSpec[] {
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
      handle({ res }) {
        let ready = false;
        try {
          ready = deps.ready();
        } catch {
          ready = false;
        }
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready' });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      auth: 'none',
      body: { kind: 'none' },
      async handle({ res }) {
        const { contentType, body } = await metrics.expose();
        res.setHeader('Content-Type', contentType);
        res.end(body);
      },
    },
  ];
}
