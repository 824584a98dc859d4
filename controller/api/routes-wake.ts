/**
 * Wake-on-LAN routes (admin): `POST /v1/hosts/{host}/wake` and `POST /v1/groups/{name}/wake`.
 * The controller sends the magic packet to its `--wake-broadcast` address (controller/wake/).
 */
import type { WakeResult } from '../wake/wake-service.js';
import type { ApiDeps } from './deps.js';
import { ApiError, notFound } from './errors.js';
import type { RouteSpec } from './route.js';

/** What the routes need from controller/wake/: absent, they answer 409 wake-unavailable. */
export interface ApiWake {
  wake(host: string, why?: string): Promise<WakeResult>;
}

const unavailable = () => new ApiError(409, 'wake-unavailable', 'this controller does not send Wake-on-LAN packets (no wake sender configured)');

export function wakeRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/v1/hosts/:host/wake',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/empty', limit: '64kb', optional: true },
      async handle({ res, params }) {
        if (!deps.wake) throw unavailable();
        const result = await deps.wake.wake(params['host']!);
        if (!result.ok) {
          if (result.error === 'unknown-host') throw notFound(result.message);
          if (result.error === 'send-failed') throw new ApiError(502, 'wake-send-failed', result.message);
          throw new ApiError(409, result.error, result.message);
        }
        deps.logger.info({ host: result.host, mac: result.mac, to: result.to }, 'host woken by operator');
        res.status(200).json(result);
      },
    },
    {
      method: 'POST',
      path: '/v1/groups/:name/wake',
      auth: 'admin',
      body: { kind: 'json', schema: 'api/empty', limit: '64kb', optional: true },
      async handle({ res, params }) {
        if (!deps.wake) throw unavailable();
        const name = params['name']!;
        const groups = deps.desired?.groups?.();
        if (!groups)
          throw new ApiError(
            409,
            'groups-unknown',
            'group membership is not known to this controller yet (a follower replica, or no revision applied): wake hosts by name, or ask the leader',
          );
        const members = groups.get(name);
        if (!members) throw notFound(`no group ${name} in the applied revision`);
        const results: WakeResult[] = [];
        for (const host of [...members].sort()) results.push(await deps.wake.wake(host));
        deps.logger.info({ group: name, woken: results.filter((r) => r.ok).length, of: results.length }, 'group woken by operator');
        res.status(200).json({ group: name, results });
      },
    },
  ];
}
