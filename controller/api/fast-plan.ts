/**
 * The hot path of a fleet: agents polling `GET /v1/hosts/{host}/plan` with `If-None-Match` every
 * 60 s ±20%. A poll whose credential and ETag are known is answered from memory (`fromMemory`) with
 * no promise, no router and no store call, however long ago the host last polled. It is asked
 * twice over: first by the poll front (poll-front.ts), below node:http, for a poll of the one shape
 * agents send; then by `handle`, a plain `node:http` handler that runs before express (see
 * `createApi`), for a poll node:http parsed. Anything unusual (no or unknown credential, another
 * host, no plan, a query string) goes to `fallback`, the express app, whose full route gives the
 * proper answer or error.
 *
 * What is kept in memory, and how it is kept true (one record per host, reached from the
 * credential's sha256, so a poll answered from memory makes one map lookup):
 * - Credentials: sha256 → host, for as long as the host holds it. A reset through this process
 *   forgets the host at once; a reset through another replica moves the store's
 *   `credentialsVersion()`, and the next sync forgets the hosts reset since (`resetSince`).
 * - Plans: host → ETag, serial and the signed document (documents up to `maxBodyBytes` in all; past
 *   that a 200 reads its document from the store).
 * - Last seen: noted in memory, written in batches (seen.ts).
 *
 * A sync every `freshnessMs` (a timer, not a poll) reads the store's versions — one small query
 * whatever the fleet size — and, when plans changed, which hosts' serials rose since the last
 * sync (`plansChangedSince`, which also lists plans re-signed with the same serial): only those
 * hosts' entries are dropped, and each host's next poll reads its own row once. A version change
 * that no listed plan explains drops every ETag. So a plan saved by this or any other replica sharing the
 * database is served at most `freshnessMs` (plus one sync) later. While the store cannot be read,
 * known hosts keep being answered from memory. `freshnessMs: 0` reads the store on every poll.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, sha256Hex } from './auth.js';
import { noneMatch } from './http.js';
import type { SeenRecorder } from './seen.js';
import type { ApiStore } from './store-port.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Clock } from '../../lib/clock.js';

/** A host name in a poll's path (the poll front, poll-front.ts, reads the same). */
export const HOST_NAME = '[a-z0-9](?:[-a-z0-9.]{0,61}[a-z0-9])?';
const planPath = new RegExp(`^/v1/hosts/${HOST_NAME}/plan$`);
const prefix = '/v1/hosts/';
const suffix = '/plan';
export const cacheControl = 'private, no-cache';
export const contentType = 'application/json; charset=utf-8';
/** How far back a sync looks for raised serials beyond the previous sync: clock skew between replicas. */
const SKEW_MS = 60_000;

export interface PlanPollerOptions {
  /** How often the store's versions are read (the staleness bound across replicas); default 1 s, 0: every poll reads the store. */
  readonly freshnessMs?: number;
  /** Bound of each in-memory map (credentials, ETags); a full map starts over. */
  readonly maxEntries?: number;
  /** Bytes of signed documents kept with their ETags, so a 200 needs no store read; default 128 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * How long an ETag is trusted without a store read, whatever the syncs said; default 1 h. Bounds
   * what a sync could miss (a replica's clock further off than the sync's look-back).
   */
  readonly planEntryTtlMs?: number;
}

export interface PlanEntry {
  /** The quoted strong ETag of the signed plan (the document's sha256). */
  readonly etag: string;
  readonly serial: number;
  /** The row's generatedAt (ms): moves when the document is re-signed with the same serial. */
  readonly generatedAt: number;
  /** When it was read from the store (ms). */
  readonly at: number;
  /** The signed document, when kept in memory (within `maxBodyBytes`). */
  readonly body: Buffer | undefined;
}

/** What is kept of one host: a record with a credential or a plan is in `hosts`, one with a credential also in `credentials`. */
interface Known {
  readonly host: string;
  /** The sha256 of the credential the host holds, while remembered. */
  hash: string | undefined;
  plan: PlanEntry | undefined;
}

/**
 * `text` as UTF-8 in a buffer of its own. `Buffer.from` puts a short text in a slice of a shared
 * 8 KiB pool, and a slice kept for long (a document kept for its host's next poll) keeps the whole
 * pool alive, with whatever short-lived buffers were cut from it: 100,000 kept documents of
 * 600 bytes (58 MB), each made between two short-lived buffers, held 174 MB of pools (process RSS
 * 269 MiB); in buffers of their own, 58 MB (RSS 177 MiB).
 */
function ownBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 0, 'utf8');
  return bytes;
}

export class PlanPoller {
  /** Credential sha256 → its host's record. */
  private readonly credentials = new Map<string, Known>();
  /** Host → its record (a reset or a new plan finds the host's entries without a scan). */
  private readonly hosts = new Map<string, Known>();
  /** Records holding a plan. */
  private planCount = 0;
  private readonly freshnessMs: number;
  private readonly maxEntries: number;
  private readonly maxBodyBytes: number;
  private bodyBytes = 0;
  private readonly planEntryTtlMs: number;
  /** The versions the maps agree with, and the time of the last sync that read them. */
  private plansVersion: string | undefined;
  private credentialsVersion: string | undefined;
  private syncedAt: number | undefined;
  private syncing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Bumped whenever plan entries are dropped: a read begun before that must not refill the map. */
  private epoch = 0;

  constructor(
    private readonly store: ApiStore,
    private readonly metrics: Metrics,
    private readonly seen: SeenRecorder,
    private readonly clock: Clock,
    options: PlanPollerOptions = {},
  ) {
    this.freshnessMs = options.freshnessMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 2_000_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 128 * 1024 ** 2;
    this.planEntryTtlMs = options.planEntryTtlMs ?? 3_600_000;
  }

  /** Forgets a host's cached credential and plan (after a reset through this process). */
  forgetHost(host: string): void {
    this.dropPlan(host);
    const known = this.hosts.get(host);
    if (known?.hash !== undefined) {
      this.credentials.delete(known.hash);
      known.hash = undefined;
      this.prune(known);
    }
    this.epoch++;
  }

  /** Forgets the cached plans of hosts whose plan this process just raised (credentials stay). */
  dropPlans(hosts: readonly string[]): void {
    for (const host of hosts) this.dropPlan(host);
    this.epoch++;
  }

  /** The host holding this credential sha256 when it is known in memory (the agent routes share it). */
  knownHost(hash: string): string | undefined {
    return this.credentials.get(hash)?.host;
  }

  /** The host holding this credential sha256: from memory, else from the store (then remembered). */
  async hostOf(hash: string): Promise<string | undefined> {
    const cached = this.credentials.get(hash);
    if (cached !== undefined) return cached.host;
    const epoch = this.epoch;
    const found = await this.store.findHostByCredentialHash(hash);
    if (!found || found.credentialHash.length !== hash.length) return undefined;
    if (!timingSafeEqual(Buffer.from(found.credentialHash), Buffer.from(hash))) return undefined;
    if (epoch === this.epoch) this.remember(hash, found.host);
    return found.host;
  }

  /** Remembers a credential just issued (enrollment), so the host's first calls need no lookup. */
  remember(hash: string, host: string): void {
    if (this.credentials.size >= this.maxEntries) this.forgetCredentials();
    const known = this.record(host);
    if (known.hash !== undefined) this.credentials.delete(known.hash);
    known.hash = hash;
    this.credentials.set(hash, known);
  }

  private forgetCredentials(): void {
    for (const known of this.credentials.values()) {
      known.hash = undefined;
      this.prune(known);
    }
    this.credentials.clear();
  }

  /** The host's record, made if it has none. */
  private record(host: string): Known {
    let known = this.hosts.get(host);
    if (known === undefined) {
      known = { host, hash: undefined, plan: undefined };
      this.hosts.set(host, known);
    }
    return known;
  }

  /** Removes a record that holds nothing any more. */
  private prune(known: Known): void {
    if (known.hash === undefined && known.plan === undefined) this.hosts.delete(known.host);
  }

  /** Answers a host's own plan poll, or hands the request to `fallback` untouched. */
  handle(req: IncomingMessage, res: ServerResponse, fallback: () => void): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return fallback();
    // `/v1/hosts/{host}/plan` read without a regex: the host is only trusted once the credential's own
    // host equals it (a known, valid name); anything else goes to the express route, which checks it.
    const url = req.url ?? '';
    const token = url.startsWith(prefix) && url.endsWith(suffix) ? bearerToken(req.headers) : undefined;
    if (token === undefined) return fallback();
    const start = performance.now();
    const host = url.slice(prefix.length, url.length - suffix.length);
    const ifNoneMatch = req.headers['if-none-match'];
    const entry = this.fromMemory(host, token, ifNoneMatch);
    if (entry !== undefined) return this.reply(res, method, entry, noneMatch(ifNoneMatch, entry.etag), start);
    if (!planPath.test(url)) return fallback();
    this.fromStore(host, token, ifNoneMatch)
      .then((found) => (found === undefined ? fallback() : this.reply(res, method, found, noneMatch(ifNoneMatch, found.etag), start)))
      .catch(fallback);
  }

  /**
   * The plan entry that answers `host`'s poll from memory alone — a 304 when `ifNoneMatch` matches
   * its ETag, else a 200 with its kept document — or undefined when memory cannot answer (an unknown
   * credential or one of another host, no fresh entry, a 200 whose document is not kept). Notes the
   * host as seen when it answers. Shared by `handle` and the poll front (poll-front.ts); on a miss
   * both ask `fromStore`.
   */
  fromMemory(host: string, token: string, ifNoneMatch: string | undefined): PlanEntry | undefined {
    const caller = this.credentials.get(sha256Hex(token));
    if (caller === undefined || caller.host !== host || this.syncedAt === undefined) return undefined;
    const entry = caller.plan;
    const now = this.clock.now();
    if (entry === undefined || now - entry.at >= this.planEntryTtlMs) return undefined;
    if (entry.body === undefined && !noneMatch(ifNoneMatch, entry.etag)) return undefined;
    // The record's host string, not the path's copy: `note` keeps nothing new.
    this.seen.note(caller.host, now);
    return entry;
  }

  /** Counts a poll answered since `start` (a `performance.now()`). */
  polled(method: string, notModified: boolean, start: number): void {
    this.metrics.planPolled(method, notModified ? '304' : '200', (performance.now() - start) / 1000);
  }

  /**
   * The entry answering `host`'s poll, reading the store for what memory lacks (the credential, the
   * first sync, the plan row, a document not kept); it is kept for the next polls, and always holds
   * its document. Undefined when the poll is not answered with a plan (an unknown credential or
   * another host's, no plan yet): the express route gives that answer.
   */
  async fromStore(path: string, token: string, ifNoneMatch: string | undefined): Promise<PlanEntry | undefined> {
    const now = this.clock.now();
    // From here on the credential's own string (the one the maps keep), not the path's copy.
    const host = await this.hostOf(sha256Hex(token));
    if (host !== path) return undefined;
    this.seen.note(host, now);
    const caching = this.freshnessMs > 0 && !this.closed;
    if (caching && this.syncedAt === undefined) await this.sync();
    const known = caching ? this.hosts.get(host)?.plan : undefined;
    if (known !== undefined && now - known.at < this.planEntryTtlMs && (known.body !== undefined || noneMatch(ifNoneMatch, known.etag))) return known;
    const epoch = this.epoch;
    const plan = await this.store.getSignedPlan(host);
    if (!plan) return undefined;
    const entry: PlanEntry = { etag: `"${plan.sha256}"`, serial: plan.serial, generatedAt: plan.generatedAt.getTime(), at: now, body: ownBytes(plan.signed) };
    if (caching && epoch === this.epoch) this.keep(host, entry);
    return entry;
  }

  /** Keeps a host's entry, its document too while the documents kept stay within `maxBodyBytes`. */
  private keep(host: string, entry: PlanEntry): void {
    if (this.planCount >= this.maxEntries) this.dropAllPlans();
    this.dropPlan(host);
    const kept = entry.body !== undefined && this.bodyBytes + entry.body.length > this.maxBodyBytes ? { ...entry, body: undefined } : entry;
    this.bodyBytes += kept.body?.length ?? 0;
    this.planCount++;
    this.record(host).plan = kept;
  }

  private dropPlan(host: string): void {
    const known = this.hosts.get(host);
    if (known?.plan === undefined) return;
    this.bodyBytes -= known.plan.body?.length ?? 0;
    this.planCount--;
    known.plan = undefined;
    this.prune(known);
  }

  private dropAllPlans(): void {
    for (const known of this.hosts.values()) {
      known.plan = undefined;
      this.prune(known);
    }
    this.planCount = 0;
    this.bodyBytes = 0;
  }

  /** A 304, or a 200 with the entry's document (its headers only for HEAD). */
  private reply(res: ServerResponse, method: string, entry: PlanEntry, notModified: boolean, start: number): void {
    if (notModified) {
      res.writeHead(304, ['ETag', entry.etag, 'Cache-Control', cacheControl]);
      res.end();
    } else {
      const body = entry.body!;
      res.writeHead(200, ['ETag', entry.etag, 'Cache-Control', cacheControl, 'Content-Type', contentType, 'Content-Length', String(body.length)]);
      res.end(method === 'HEAD' ? undefined : body);
    }
    this.polled(method, notModified, start);
  }

  /**
   * Reads the store's versions (one sync at a time) and drops what they say changed: the hosts
   * whose serial rose or whose credential was revoked since the last sync. The first sync only
   * takes the versions as they are (the maps are empty) and starts the timer.
   */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      const readAt = this.clock.now();
      try {
        const [plans, credentials] = await Promise.all([this.store.plansVersion(), this.store.credentialsVersion()]);
        const since = new Date((this.syncedAt ?? readAt) - SKEW_MS);
        if (this.syncedAt !== undefined && credentials !== this.credentialsVersion) {
          const reset = await this.store.resetSince(since);
          if (reset.length === 0) this.forgetCredentials();
          for (const host of reset) this.forgetHost(host);
        }
        if (this.syncedAt !== undefined && plans !== this.plansVersion) {
          const changed = await this.store.plansChangedSince(since);
          // Nothing newer than the look-back: which document changed is not known.
          if (changed.length === 0) this.dropAllPlans();
          for (const { host, serial, generatedAt } of changed) {
            const entry = this.hosts.get(host)?.plan;
            // A serial raised, or the document re-signed with the same serial.
            if (entry !== undefined && (entry.serial !== serial || entry.generatedAt !== generatedAt.getTime())) this.dropPlan(host);
          }
          this.epoch++;
        }
        this.plansVersion = plans;
        this.credentialsVersion = credentials;
        this.syncedAt = readAt;
      } finally {
        this.syncing = undefined;
        this.schedule();
      }
    })();
    return this.syncing;
  }

  private schedule(): void {
    if (this.closed || this.freshnessMs <= 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sync().catch(() => undefined);
    }, this.freshnessMs);
    this.timer.unref();
  }

  /** Stops the sync timer. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
