/**
 * The hot path of a fleet: agents polling `GET /v1/hosts/{host}/plan` with `If-None-Match`.
 * A plain `node:http` handler that runs before express (see `createApi`): a poll whose credential
 * and ETag are known is answered from memory with no promise, no router and no database read.
 * Anything unusual (no or unknown credential, another host, no plan, a query string) goes to
 * `fallback`, the express app, whose full route gives the proper answer or error.
 *
 * What is kept in memory, and how fresh it is:
 * - Credentials: sha256 → host for `credentialTtlMs`. A reset through this process forgets the
 *   host at once; another replica (PostgreSQL) honours a reset within the TTL.
 * - Plans: host → ETag only (never the document: a 200 reads it from the store).
 *   Entries do not expire one by one; instead the store's `plansVersion()` is read at most once
 *   per `freshnessMs` and any change drops every entry. So a plan saved by this or any other
 *   replica sharing the database is served at most `freshnessMs` (plus one read) later, for the
 *   cost of one small query per interval whatever the fleet size; after a change each host's
 *   next poll reads its own row once. `freshnessMs: 0` reads the store on every poll.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, sha256Hex } from './auth.js';
import { noneMatch } from './http.js';
import type { SeenRecorder } from './seen.js';
import type { ApiStore } from './store-port.js';
import type { Metrics, PlanOutcome } from '../metrics/metrics.js';
import type { Clock } from '../../lib/clock.js';

const planPath = /^\/v1\/hosts\/([a-z0-9](?:[-a-z0-9.]{0,61}[a-z0-9])?)\/plan$/;
const route = '/v1/hosts/:host/plan';

export interface PlanPollerOptions {
  /** How long a credential → host answer is reused; default 60 s. */
  readonly credentialTtlMs?: number;
  /** How often the store's plans version is re-read (the staleness bound across replicas); default 1 s, 0: every poll reads the store. */
  readonly freshnessMs?: number;
  /** Bound of each in-memory map (credentials, ETags); a full map starts over. */
  readonly maxEntries?: number;
}

export class PlanPoller {
  private readonly credentials = new Map<string, { readonly host: string; readonly until: number }>();
  /** Host → the quoted strong ETag of its signed plan (the document's sha256). */
  private readonly plans = new Map<string, string>();
  private readonly credentialTtlMs: number;
  private readonly freshnessMs: number;
  private readonly maxEntries: number;
  /** The store's plans version the map agrees with, when it was read, and a read under way. */
  private version: string | undefined;
  private versionReadAt = Number.NEGATIVE_INFINITY;
  private versionRead: Promise<void> | undefined;
  /** Bumped whenever the plan map is dropped: a read begun before that must not refill it. */
  private epoch = 0;
  private readonly observers = new Map<string, { observe(seconds: number): void }>();

  constructor(
    private readonly store: ApiStore,
    private readonly metrics: Metrics,
    private readonly seen: SeenRecorder,
    private readonly clock: Clock,
    options: PlanPollerOptions = {},
  ) {
    this.credentialTtlMs = options.credentialTtlMs ?? 60_000;
    this.freshnessMs = options.freshnessMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 200_000;
  }

  /** Forgets a host's cached credential and plan (after a reset, or a plan change seen here). */
  forgetHost(host: string): void {
    this.plans.delete(host);
    for (const [hash, entry] of this.credentials) if (entry.host === host) this.credentials.delete(hash);
  }

  /** Answers a host's own plan poll, or hands the request to `fallback` untouched. */
  handle(req: IncomingMessage, res: ServerResponse, fallback: () => void): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return fallback();
    const m = planPath.exec(req.url ?? '');
    const token = m ? bearerToken(req.headers) : undefined;
    if (!m || token === undefined) return fallback();
    const start = performance.now();
    const host = m[1]!;
    const hash = sha256Hex(token);
    const now = this.clock.now();
    const caller = this.credentials.get(hash);
    if (caller !== undefined && caller.until > now) {
      if (caller.host !== host) return fallback();
      const etag = this.freshnessMs > 0 && now - this.versionReadAt < this.freshnessMs ? this.plans.get(host) : undefined;
      if (etag !== undefined && noneMatch(req.headers['if-none-match'], etag) && !this.seen.due(host, now)) {
        this.reply304(req, res, etag, start);
        return;
      }
    }
    this.slowPath(req, res, fallback, host, hash, now, start).catch(fallback);
  }

  /** Every miss: a credential, a version check, a plan row, a "last seen" write or a 200 to send. */
  private async slowPath(req: IncomingMessage, res: ServerResponse, fallback: () => void, host: string, hash: string, now: number, start: number): Promise<void> {
    if ((await this.hostOf(hash, now)) !== host) return fallback();
    const seen = this.seen.record(host, new Date(now));
    if (seen) await seen;
    if (this.freshnessMs > 0 && now - this.versionReadAt >= this.freshnessMs) await this.checkVersion();
    const known = this.freshnessMs > 0 ? this.plans.get(host) : undefined;
    if (known !== undefined && noneMatch(req.headers['if-none-match'], known)) return this.reply304(req, res, known, start);
    const epoch = this.epoch;
    const plan = await this.store.getSignedPlan(host);
    if (!plan) return fallback();
    const etag = `"${plan.sha256}"`;
    if (this.freshnessMs > 0 && epoch === this.epoch) {
      if (this.plans.size >= this.maxEntries) this.plans.clear();
      this.plans.set(host, etag);
    }
    if (noneMatch(req.headers['if-none-match'], etag)) return this.reply304(req, res, etag, start);
    res.writeHead(200, ['ETag', etag, 'Cache-Control', 'private, no-cache', 'Content-Type', 'application/json; charset=utf-8']);
    res.end(req.method === 'HEAD' ? undefined : plan.signed);
    this.record(req, '200', start);
  }

  private reply304(req: IncomingMessage, res: ServerResponse, etag: string, start: number): void {
    res.writeHead(304, ['ETag', etag, 'Cache-Control', 'private, no-cache']);
    res.end();
    this.record(req, '304', start);
  }

  private record(req: IncomingMessage, outcome: PlanOutcome, start: number): void {
    this.metrics.planServed(outcome);
    const key = `${req.method} ${outcome}`;
    let observer = this.observers.get(key);
    if (!observer) {
      observer = this.metrics.httpDuration.labels({ method: req.method!, route, status: outcome });
      this.observers.set(key, observer);
    }
    observer.observe((performance.now() - start) / 1000);
  }

  private async hostOf(hash: string, now: number): Promise<string | undefined> {
    const cached = this.credentials.get(hash);
    if (cached && cached.until > now) return cached.host;
    const found = await this.store.findHostByCredentialHash(hash);
    if (!found || found.credentialHash.length !== hash.length) return undefined;
    if (!timingSafeEqual(Buffer.from(found.credentialHash), Buffer.from(hash))) return undefined;
    if (this.credentials.size >= this.maxEntries) this.credentials.clear();
    this.credentials.set(hash, { host: found.host, until: now + this.credentialTtlMs });
    return found.host;
  }

  /** Re-reads the store's plans version (one read at a time) and drops every ETag when it moved. */
  private checkVersion(): Promise<void> {
    this.versionRead ??= (async () => {
      const readAt = this.clock.now();
      try {
        const version = await this.store.plansVersion();
        if (version !== this.version) {
          this.plans.clear();
          this.epoch++;
          this.version = version;
        }
        this.versionReadAt = readAt;
      } finally {
        this.versionRead = undefined;
      }
    })();
    return this.versionRead;
  }
}
