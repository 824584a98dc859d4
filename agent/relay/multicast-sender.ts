/**
 * The relay's multicast sender (docs/multicast.md): `POST /v1/multicast/{sha256}/join` from a
 * host whose plan announces this relay's session opens or joins it (the artifact comes from the
 * relay's cache, fetched once if it is not there yet); `POST /v1/multicast/{sha256}/done` says
 * the host needs no more rounds. Both need the host's credential, checked like content.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import { MulticastSessions, parseJoin } from '../../lib/multicast/sessions.js';
import { DEFAULT_RATE, DEFAULT_ROUNDS } from '../../lib/multicast/session.js';
import type { EventSink } from '../log/events.js';
import type { ContentCache } from './content-cache.js';
import type { CredentialCheck } from './credential-check.js';
import { readBody, sendError } from './http-util.js';

export interface RelayMulticastOptions {
  readonly cache: ContentCache;
  readonly credentials: CredentialCheck;
  readonly registry: Registry;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** `--multicast-interface`. */
  readonly interface?: string;
  /** Time from the first join to the first block (default 3 s). */
  readonly joinWaitMs?: number;
}

export class RelayMulticast {
  private readonly sessions: MulticastSessions;
  private readonly bytesSent: Counter;

  constructor(private readonly o: RelayMulticastOptions) {
    this.bytesSent = new Counter({ name: 'ferry_relay_multicast_bytes_sent_total', help: 'multicast datagram bytes sent (headers included)', registers: [o.registry] });
    const sessionsEnded = new Counter({ name: 'ferry_relay_multicast_sessions_total', help: 'multicast sessions ended', registers: [o.registry] });
    this.sessions = new MulticastSessions({
      ...(o.interface ? { interface: o.interface } : {}),
      joinWaitMs: o.joinWaitMs ?? 3000,
      lingerMs: 2000,
      rounds: DEFAULT_ROUNDS,
      defaultRate: DEFAULT_RATE,
      clock: o.clock,
      signal: o.signal,
      fileOf: (sha, size) => this.fileOf(sha, size),
      onEnded: (sha256, result, receivers, done) => {
        sessionsEnded.inc();
        if ('error' in result) {
          o.events.emit({ event: 'multicast-failed', level: 'warn', sha256, message: `multicast session of ${sha256} failed: ${result.error}` });
          return;
        }
        this.bytesSent.inc(result.bytesSent);
        o.events.emit({
          event: 'multicast-sent',
          sha256,
          ...result,
          receivers,
          done,
          message: `multicast of ${sha256}: ${result.rounds} round(s), ${result.bytesSent} bytes, ${done}/${receivers} receivers done`,
        });
      },
    });
  }

  /** `/v1/multicast/{sha256}/join|done`: the route's match, or undefined for other paths. */
  static route(path: string): { readonly sha256: string; readonly verb: 'join' | 'done' } | undefined {
    const m = /^\/v1\/multicast\/([0-9a-fA-F]{64})\/(join|done)$/.exec(path);
    return m ? { sha256: m[1]!.toLowerCase(), verb: m[2] as 'join' | 'done' } : undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse, route: { readonly sha256: string; readonly verb: 'join' | 'done' }): Promise<void> {
    if (req.method !== 'POST') return sendError(res, 405, 'method-not-allowed', 'POST to join a multicast session or say it is done');
    const authorization = req.headers.authorization;
    const receiver = createHash('sha256')
      .update(authorization ?? '')
      .digest('hex')
      .slice(0, 16);
    if (route.verb === 'done') {
      const auth = await this.o.credentials.check(authorization, route.sha256);
      if (auth.kind !== 'ok') return sendError(res, 401, 'unauthenticated', 'send the host credential');
      const known = this.sessions.done(route.sha256, receiver);
      res.writeHead(known ? 204 : 404).end();
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, 4096)).toString('utf8'));
    } catch {
      return sendError(res, 400, 'bad-request', 'send a JSON body {size, group, port, blockSize, ttl?, rate?}');
    }
    const join = parseJoin(body);
    if (typeof join === 'string') return sendError(res, 400, 'bad-request', join);
    const auth = await this.o.credentials.check(authorization, route.sha256, true);
    if (auth.kind === 'unreachable') return sendError(res, 503, 'upstream-unreachable', `${auth.message}; download by unicast`);
    if (auth.kind !== 'ok') return void res.writeHead(auth.status, auth.headers).end(auth.body);
    if (auth.size !== join.size) return sendError(res, 409, 'size-mismatch', `the artifact has ${auth.size} bytes upstream, not ${join.size}`);
    // The artifact comes into the cache (once) with the first joiner's credential, as for content requests.
    const cached = await this.o.cache.lookup(route.sha256);
    if (!cached || cached.state === 'failed') {
      const started = this.o.cache.start(route.sha256, join.size, authorization ? [authorization] : []);
      if (started.kind === 'full') return sendError(res, 503, 'relay-cache-full', `${started.message}; download by unicast`);
    }
    const state = this.sessions.join(route.sha256, join.size, join, receiver);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ state: state.state, startsAt: new Date(state.startsAt).toISOString() }));
  }

  private async fileOf(sha256: string, size: number): Promise<string> {
    const entry = await this.o.cache.lookup(sha256);
    if (!entry) throw new Error(`${sha256} is not in the relay cache`);
    await entry.readable(size - 1);
    return entry.path;
  }
}
