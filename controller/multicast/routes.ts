/**
 * `POST /v1/multicast/{sha256}/join` and `…/done` (host credential): a host joins the
 * controller's multicast session of an artifact, or says it needs no more rounds.
 */
import { parseJoin } from '../../lib/multicast/sessions.js';
import type { ApiDeps } from '../api/deps.js';
import { ApiError, notFound } from '../api/errors.js';
import type { RouteSpec } from '../api/route.js';

const unavailable = () => new ApiError(409, 'multicast-unavailable', 'this controller does not send multicast (no --multicast GROUP:PORT); download by unicast');

export function multicastRoutes(deps: ApiDeps): RouteSpec[] {
  const hostOf = (caller: { kind: string; host?: string } | undefined) => (caller?.kind === 'host' ? caller.host! : 'admin');
  return [
    {
      method: 'POST',
      path: '/v1/multicast/:sha256/join',
      auth: 'any',
      body: { kind: 'raw', limit: '4kb' },
      async handle({ res, params, body, caller }) {
        if (!deps.multicast) throw unavailable();
        let parsed: unknown;
        try {
          parsed = JSON.parse((body as Buffer).toString('utf8'));
        } catch {
          throw new ApiError(400, 'bad-request', 'send a JSON body {size, group, port, blockSize, ttl?, rate?}');
        }
        const j = parseJoin(parsed);
        if (typeof j === 'string') throw new ApiError(400, 'bad-request', j);
        const sha256 = params['sha256']!.toLowerCase();
        const joined = await deps.multicast.join(sha256, j, hostOf(caller));
        if (joined.kind === 'unknown-content') throw notFound(`no content ${sha256}`);
        if (joined.kind === 'refused') throw new ApiError(409, 'multicast-refused', joined.message);
        res.status(200).json({ state: joined.state, startsAt: new Date(joined.startsAt).toISOString() });
      },
    },
    {
      method: 'POST',
      path: '/v1/multicast/:sha256/done',
      auth: 'any',
      body: { kind: 'none' },
      async handle({ res, params, caller }) {
        if (!deps.multicast) throw unavailable();
        res.status(deps.multicast.done(params['sha256']!.toLowerCase(), hostOf(caller)) ? 204 : 404).end();
      },
    },
  ];
}
