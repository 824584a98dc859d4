/**
 * Enrollment, inventory, plans and reports for hosts that reach only the relay (issue 11 §3–§4).
 * A request goes upstream as it came, with the host's own Authorization header, whenever upstream
 * answers: plans stay signed by the controller and agents verify them, so a relay can neither
 * forge nor roll back a plan, nor act for a host whose credential it never saw.
 *
 * Store and forward: while upstream cannot be reached (network error, 502/503/504), a poll is
 * answered with the last signed plan upstream gave that host (ETag/304 as upstream does), and a
 * report or inventory is queued on disk and answered 202 — only when upstream accepted that very
 * credential for that very host before. The queue keeps the host's name, not its credential, and
 * drains oldest first with the relay's own credential (which covers only the hosts it serves,
 * DESIGN §4) as soon as upstream answers again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Backoff, parseRetryAfter } from '../../lib/backoff.js';
import type { EventSink } from '../log/events.js';
import { BodyTooLarge, readBody, sendError } from './http-util.js';
import type { RelayMetrics } from './metrics.js';
import type { QueuedKind, RelayStore } from './relay-store.js';
import type { Clock } from '../../lib/clock.js';

export type AgentRoute =
  | { readonly kind: 'enroll' }
  | { readonly kind: 'plan'; readonly host: string }
  | { readonly kind: 'inventory'; readonly host: string }
  | { readonly kind: 'reports'; readonly host: string };

const bodyLimit = 4 * 1024 * 1024;
const requestHeaders = ['authorization', 'content-type', 'if-none-match', 'accept'];
const responseHeaders = ['content-type', 'etag', 'cache-control', 'retry-after', 'www-authenticate'];

type UpstreamAnswer =
  | { readonly kind: 'answer'; readonly status: number; readonly headers: Record<string, string>; readonly body: Buffer }
  | { readonly kind: 'unreachable'; readonly message: string; readonly retryAfterMs?: number };

export interface ForwarderOptions {
  readonly upstream: string;
  readonly store: RelayStore;
  readonly metrics: RelayMetrics;
  readonly events: EventSink;
  readonly timeoutMs?: number;
  readonly clock: Clock;
  /** Called when upstream accepted a host's credential (the content check may skip asking). */
  readonly onCredentialAccepted?: (authorization: string) => void;
  /** `Bearer <the relay's own host credential>`; undefined until the relay's agent has enrolled. */
  readonly relayAuthorization: () => Promise<string | undefined>;
  /** Called for every request carried for a host (the figures the relay reports upstream). */
  readonly onCarried?: (host: string) => void;
}

export class Forwarder {
  private draining: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, minMs: 200 });
  private closed = false;

  constructor(private readonly o: ForwarderOptions) {}

  /** Matches the agent API paths the relay forwards. */
  static route(method: string, path: string): AgentRoute | undefined {
    if (method === 'POST' && path === '/v1/enroll') return { kind: 'enroll' };
    const m = /^\/v1\/hosts\/([^/]+)\/(inventory|plan|reports)$/.exec(path);
    if (!m) return undefined;
    const kind = m[2] as 'inventory' | 'plan' | 'reports';
    const expected = kind === 'inventory' ? 'PUT' : kind === 'plan' ? 'GET' : 'POST';
    if (method !== expected && !(kind === 'plan' && method === 'HEAD')) return undefined;
    return { kind, host: decodeURIComponent(m[1]!) };
  }

  async handle(req: IncomingMessage, res: ServerResponse, route: AgentRoute, path: string): Promise<void> {
    let body: Buffer | undefined;
    if (req.method === 'POST' || req.method === 'PUT') {
      try {
        body = await readBody(req, bodyLimit);
      } catch (e) {
        if (e instanceof BodyTooLarge) return sendError(res, 413, 'body-too-large', e.message, { connection: 'close' });
        throw e;
      }
    }
    const authorization = req.headers.authorization;
    if (route.kind !== 'enroll') this.o.onCarried?.(route.host);
    // A host with reports queued keeps queueing behind them, so upstream sees them in order.
    if (route.kind !== 'enroll' && route.kind !== 'plan' && authorization && this.o.store.hasQueued(route.host)) {
      if (this.o.store.hostOf(authorization) !== route.host) {
        return sendError(res, 401, 'unauthenticated', `this relay has not seen upstream accept this credential for ${route.host}; send the host's own credential`, {
          'www-authenticate': 'Bearer realm="ferry"',
        });
      }
      return this.queue(res, route, req.method!, path, body!);
    }
    const headers: Record<string, string> = {};
    for (const h of requestHeaders) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const answer = await this.send(req.method!, path, headers, body);
    if (answer.kind === 'answer') {
      this.o.metrics.forwarded.inc({ outcome: String(answer.status) });
      this.kick();
      if (route.kind !== 'enroll' && authorization) this.learn(route, authorization, answer);
      const out: Record<string, string> = {};
      for (const h of responseHeaders) if (answer.headers[h] !== undefined) out[h] = answer.headers[h]!;
      res.writeHead(answer.status, out).end(req.method === 'HEAD' ? undefined : answer.body);
      return;
    }
    this.o.metrics.forwarded.inc({ outcome: 'unreachable' });
    if (route.kind === 'enroll') return sendError(res, 503, 'upstream-unreachable', `${answer.message}; enrollment needs the controller, try again later`, { 'retry-after': '30' });
    if (!authorization || this.o.store.hostOf(authorization) !== route.host) {
      return sendError(res, 503, 'upstream-unreachable', `${answer.message}, and this relay has not seen upstream accept this credential for ${route.host}; try again later`, {
        'retry-after': '30',
      });
    }
    if (route.kind === 'plan') return this.storedPlan(req, res, route.host, answer.message);
    return this.queue(res, route, req.method!, path, body!);
  }

  /** Delivers queued items now (and keeps retrying with backoff while upstream is down). */
  kick(): void {
    if (this.closed || this.draining || this.o.store.queueDepth() === 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.draining = this.drain().finally(() => (this.draining = undefined));
  }

  /** Stops retrying; resolves once a delivery under way has settled. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.draining;
  }

  /** Resolves once the queue is empty (tests, shutdown). */
  async drained(): Promise<void> {
    while (this.o.store.queueDepth() > 0 || this.draining) {
      this.kick();
      await (this.draining ?? new Promise((r) => setTimeout(r, 100)));
    }
  }

  private learn(route: Exclude<AgentRoute, { kind: 'enroll' }>, authorization: string, answer: Extract<UpstreamAnswer, { kind: 'answer' }>): void {
    if (answer.status === 401 || answer.status === 403) {
      this.o.store.forgetCredential(authorization);
      return;
    }
    if (answer.status >= 300 && answer.status !== 304) return;
    this.o.store.rememberCredential(authorization, route.host);
    this.o.onCredentialAccepted?.(authorization);
    if (route.kind === 'plan' && answer.status === 200) this.o.store.savePlan(route.host, answer.headers['etag'], answer.body.toString('utf8'));
  }

  private storedPlan(req: IncomingMessage, res: ServerResponse, host: string, why: string): void {
    const plan = this.o.store.plan(host);
    if (!plan) return sendError(res, 503, 'upstream-unreachable', `${why}, and this relay holds no plan for ${host} yet; try again later`, { 'retry-after': '30' });
    const headers: Record<string, string> = { 'cache-control': 'private, no-cache', 'x-ferry-relay': 'stored-plan' };
    if (plan.etag) headers['etag'] = plan.etag;
    const inm = req.headers['if-none-match'];
    if (plan.etag && typeof inm === 'string' && inm.split(',').some((t) => t.trim() === plan.etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : plan.body);
  }

  private queue(res: ServerResponse, route: Exclude<AgentRoute, { kind: 'enroll' | 'plan' }>, method: string, path: string, body: Buffer): void {
    const text = body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return sendError(res, 400, 'bad-json', 'the request body is not JSON');
    }
    if (route.kind === 'reports' && !Array.isArray((parsed as { results?: unknown } | null)?.results)) {
      return sendError(res, 400, 'bad-request', 'a reports body is {results: [...]}');
    }
    const kind: QueuedKind = route.kind;
    this.o.store.enqueue({ host: route.host, kind, method, path, body: text });
    this.o.events.emit({ event: 'relay-queued', level: 'debug', host: route.host, kind, depth: this.o.store.queueDepth() });
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ queued: true }));
    this.kick();
  }

  /**
   * Delivers the queue oldest first with the relay's credential. A host whose item upstream does
   * not take from this relay now (401/403/404: the relay's credential does not cover it yet, e.g.
   * before the Relay manifest is applied) keeps its items, in order, and is tried again later;
   * the other hosts' items go on. An item refused for good (a bad body) is dropped and logged.
   */
  private async drain(): Promise<void> {
    const authorization = await this.o.relayAuthorization();
    if (!authorization) return this.retryLater(undefined, 'the relay has not enrolled yet: it delivers queued items with its own credential');
    const blocked = new Map<string, string>();
    let after = 0;
    for (;;) {
      if (this.closed) return;
      const batch = this.o.store.queued(50, after);
      if (batch.length === 0) break;
      for (const item of batch) {
        if (this.closed) return;
        after = item.id;
        if (blocked.has(item.host)) continue;
        const answer = await this.send(item.method, item.path, { authorization, 'content-type': 'application/json' }, Buffer.from(item.body));
        if (answer.kind === 'unreachable') return this.retryLater(answer.retryAfterMs, answer.message);
        if (answer.status === 401 || answer.status === 403 || answer.status === 404) {
          blocked.set(item.host, `${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
          continue;
        }
        if (answer.status >= 300) {
          // Upstream refused it for good (a bad body, a host reset): delivering it again cannot help.
          this.o.events.emit({
            event: 'relay-queued-refused',
            level: 'error',
            host: item.host,
            kind: item.kind,
            status: answer.status,
            message: answer.body.toString('utf8').slice(0, 300),
          });
        }
        this.o.store.dequeue(item.id);
      }
    }
    if (blocked.size > 0) {
      const [host, why] = [...blocked][0]!;
      return this.retryLater(undefined, `upstream does not take queued items of ${[...blocked.keys()].join(', ')} from this relay now (${host}: ${why}); they stay queued`);
    }
    this.backoff.reset();
  }

  private retryLater(retryAfterMs: number | undefined, message: string): void {
    const delay = this.backoff.next(retryAfterMs);
    this.o.events.emit({ event: 'relay-queue-waiting', level: 'warn', depth: this.o.store.queueDepth(), retryInMs: delay, message });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }

  private async send(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<UpstreamAnswer> {
    let res: Response;
    try {
      res = await fetch(`${this.o.upstream.replace(/\/+$/, '')}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      return { kind: 'unreachable', message: `upstream ${this.o.upstream} cannot be reached (${cause?.code ?? (e as Error).message})` };
    }
    const buf = Buffer.from(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after') ?? undefined, this.o.clock.now());
      return { kind: 'unreachable', message: `upstream ${this.o.upstream} answered ${res.status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => (out[k] = v));
    return { kind: 'answer', status: res.status, headers: out, body: buf };
  }
}
