/**
 * The hot path of a fleet: agents polling `GET /v1/hosts/{host}/plan` with `If-None-Match`.
 * Answered before the router with two small caches; anything unusual (no or unknown
 * credential, another host, no plan, a query string) falls through to the full route,
 * which gives the proper error.
 *
 * - Credentials: sha256 → host for `credentialTtlMs`. A reset through this process forgets
 *   the host at once; another replica (PostgreSQL) honours a reset within the TTL.
 * - Plans: the signed document and its ETag per host for `planTtlMs`, so an agent may see a
 *   new plan that much later (it polls every 30 s anyway).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { bearerToken, sha256Hex } from './auth.js';
import { noneMatch } from './http.js';
import type { ApiStore } from './store-port.js';
import type { Metrics } from '../metrics/metrics.js';

const planPath = /^\/v1\/hosts\/([a-z0-9](?:[-a-z0-9.]{0,61}[a-z0-9])?)\/plan$/;

export interface PlanCacheOptions {
  readonly credentialTtlMs?: number;
  readonly planTtlMs?: number;
  readonly maxEntries?: number;
}

interface CachedPlan {
  readonly signed: string;
  readonly etag: string;
  readonly until: number;
}

export class PlanPoller {
  private readonly credentials = new Map<string, { host: string; until: number }>();
  private readonly plans = new Map<string, CachedPlan>();
  private readonly credentialTtlMs: number;
  private readonly planTtlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly store: ApiStore,
    private readonly metrics: Metrics,
    options: PlanCacheOptions = {},
  ) {
    this.credentialTtlMs = options.credentialTtlMs ?? 60_000;
    this.planTtlMs = options.planTtlMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 200_000;
  }

  /** Forgets a host's cached credential and plan (after a reset, or a plan change seen here). */
  forgetHost(host: string): void {
    this.plans.delete(host);
    for (const [hash, entry] of this.credentials) if (entry.host === host) this.credentials.delete(hash);
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

  private async planOf(host: string, now: number): Promise<CachedPlan | undefined> {
    const cached = this.plans.get(host);
    if (cached && cached.until > now) return cached;
    const plan = await this.store.getPlan(host);
    if (!plan || plan.signed === undefined) return undefined;
    const etag = cached?.signed === plan.signed ? cached.etag : `"${createHash('sha256').update(plan.signed, 'utf8').digest('hex')}"`;
    const entry = { signed: plan.signed, etag, until: now + this.planTtlMs };
    if (this.plans.size >= this.maxEntries) this.plans.clear();
    this.plans.set(host, entry);
    return entry;
  }

  /** Express middleware: answers a host's own plan poll, or calls next(). */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const m = planPath.exec(req.url);
    const token = m ? bearerToken(req.headers) : undefined;
    if (!m || token === undefined) return next();
    const start = process.hrtime.bigint();
    const host = m[1]!;
    const now = Date.now();
    this.hostOf(sha256Hex(token), now)
      .then(async (caller) => {
        if (caller !== host) return next();
        const plan = await this.planOf(host, now);
        if (!plan) return next();
        const notModified = noneMatch(req.headers['if-none-match'], plan.etag);
        res.setHeader('ETag', plan.etag);
        res.setHeader('Cache-Control', 'private, no-cache');
        if (notModified) {
          res.statusCode = 304;
          res.end();
        } else {
          res.statusCode = 200;
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.end(req.method === 'HEAD' ? undefined : plan.signed);
        }
        this.metrics.planServed(notModified ? '304' : '200');
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        this.metrics.httpDuration.observe({ method: req.method, route: '/v1/hosts/:host/plan', status: String(res.statusCode) }, seconds);
      })
      .catch(next);
  };
}
