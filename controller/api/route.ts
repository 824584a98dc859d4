/**
 * The API as a table of routes: each says how it authenticates, what body and query it
 * takes (a schema key under `schemas/`), and its handler. `mountRoutes` turns the table
 * into express routes with auth, body parsing and validation in front of every handler,
 * and answers 405 for a known path with another method.
 */
import type { IncomingMessage } from 'node:http';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, notFound } from './errors.js';
import { adminOnly, identify, mayActFor, relayNotServing, unauthenticated, type Caller } from './auth.js';
import type { ApiDeps } from './deps.js';
import type { SchemaSet } from './validate.js';
import type { Metrics } from '../metrics/metrics.js';

export type Method = 'GET' | 'PUT' | 'POST';

/**
 * `none`: anyone; `admin`: the admin token; `host`: the path's host's credential, the credential of
 * a relay that serves that host (the caller is then `relay`), or the admin;
 * `any`: any enrolled host or the admin; `signed`: the route checks a signature itself.
 */
export type AuthMode = 'none' | 'admin' | 'host' | 'any' | 'signed';

/** How a route reads its body. */
export type BodyMode =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly schema: string; readonly limit: string; readonly optional?: boolean }
  | { readonly kind: 'raw'; readonly limit: string }
  | { readonly kind: 'stream' };

export interface RouteContext {
  readonly req: Request;
  readonly res: Response;
  readonly caller: Caller | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  /** The validated JSON body, or the raw bytes for `raw` routes. */
  readonly body: unknown;
  readonly now: Date;
}

export interface RouteSpec {
  readonly method: Method;
  /** An express 5 path (`/v1/hosts/:host/plan`). */
  readonly path: string;
  readonly auth: AuthMode;
  readonly body: BodyMode;
  /** Schema key of the query; default `api/no-query` (none allowed). */
  readonly query?: string;
  handle(ctx: RouteContext): Promise<void> | void;
}

export interface MountOptions {
  readonly deps: ApiDeps;
  readonly schemas: SchemaSet;
  readonly metrics: Metrics;
}

const isJsonType = (req: IncomingMessage): boolean => {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
};

const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** The admin acts only for hosts that exist (a host's own credential proves that). */
async function ensureHost(deps: ApiDeps, host: string): Promise<void> {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host) || host.length > 63 || !(await deps.store.getHost(host))) throw notFound(`no host ${host}`);
}

/**
 * A host credential used for another host: allowed when it is the credential of a relay that
 * serves that host (caller `relay`), 403 for a relay that does not; for any other host the other
 * host's records do not exist (404, so names do not leak).
 */
function relayActing(deps: ApiDeps, caller: Caller, host: string): Caller {
  const relays = caller.kind === 'host' ? deps.desired?.relays?.() : undefined;
  if (caller.kind !== 'host' || !relays || relays.relaysOn(caller.host).length === 0) throw notFound();
  if (!relays.serves(caller.host, host)) throw relayNotServing(caller.host, host);
  return { kind: 'relay', host: caller.host };
}

function authenticate(route: RouteSpec, deps: ApiDeps): RequestHandler {
  return (req, res, next) => {
    if (route.auth === 'none' || route.auth === 'signed') {
      next();
      return;
    }
    identify(req.headers, deps.keys.adminToken, (hash) => deps.store.findHostByCredentialHash(hash))
      .then((caller) => {
        if (route.auth === 'admin') {
          if (caller?.kind !== 'admin') throw adminOnly();
        } else if (!caller) {
          throw unauthenticated();
        } else if (route.auth === 'host') {
          const host = req.params['host'];
          if (typeof host !== 'string') throw notFound();
          if (!mayActFor(caller, host)) return relayActing(deps, caller, host);
          return caller.kind === 'admin' ? ensureHost(deps, host).then(() => caller) : caller;
        }
        return caller;
      })
      .then((caller) => {
        res.locals['caller'] = caller;
        next();
      }, next);
  };
}

function parseBody(route: RouteSpec): RequestHandler[] {
  const body = route.body;
  switch (body.kind) {
    case 'none':
    case 'stream':
      return [];
    case 'raw':
      return [express.raw({ type: () => true, limit: body.limit })];
    case 'json': {
      const parser = express.json({ limit: body.limit, type: isJsonType, strict: true });
      const check: RequestHandler = (req, _res, next) => {
        if (hasBody(req) && !isJsonType(req)) {
          next(new ApiError(415, 'unsupported-media-type', 'send the body as JSON with `Content-Type: application/json`'));
          return;
        }
        next();
      };
      return [check, parser];
    }
  }
}

/** Registers every route of `table`, then 405 for the known paths and methods they lack. */
export function mountRoutes(app: Express, table: readonly RouteSpec[], options: MountOptions): void {
  const { deps, schemas } = options;
  for (const route of table) {
    const validate = (req: Request, res: Response): RouteContext => {
      const params = schemas.check<Record<string, string>>('api/params', 'params', { ...req.params });
      const query = schemas.check<Record<string, unknown>>(route.query ?? 'api/no-query', 'query', req.query);
      let body: unknown;
      if (route.body.kind === 'json') {
        const raw = req.body as unknown;
        if (raw === undefined && route.body.optional) body = {};
        else body = schemas.check(route.body.schema, 'body', raw);
      } else if (route.body.kind === 'raw') {
        body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      }
      return { req, res, caller: res.locals['caller'] as Caller | undefined, params, query, body, now: new Date(deps.clock.now()) };
    };
    const handler = async (req: Request, res: Response): Promise<void> => {
      await route.handle(validate(req, res));
    };
    const method = route.method.toLowerCase() as 'get' | 'put' | 'post';
    app[method](route.path, authenticate(route, deps), ...parseBody(route), handler);
  }
  const methodsByPath = new Map<string, Set<string>>();
  for (const route of table) {
    const set = methodsByPath.get(route.path) ?? new Set<string>();
    set.add(route.method);
    if (route.method === 'GET') set.add('HEAD');
    methodsByPath.set(route.path, set);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods].sort().join(', ');
    app.all(path, (_req: Request, _res: Response, next: NextFunction) => {
      next(new ApiError(405, 'method-not-allowed', `this path takes ${allow}`, undefined, { Allow: allow }));
    });
  }
}
