/**
 * The agent's write calls on raw `node:http`, before express (see `createApi`): `POST /v1/enroll`,
 * `PUT /v1/hosts/{host}/inventory` and `POST /v1/hosts/{host}/reports` with the same
 * authentication, body limits, media-type checks, schema validation and error shape as their
 * express routes (routes-agent.ts), and the same handlers (agent-calls.ts). A fleet enrolling or
 * reporting spends its controller time here, so this path has no router, no middleware chain and
 * no credential read for a host the controller already knows.
 *
 * Anything it does not handle exactly as express would goes to `fallback` before a byte of the
 * body is read: another path or method, a query string, the admin token, a compressed body, a
 * charset other than UTF-8.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { Clock } from '../../lib/clock.js';
import type { AgentCalls, Answer, EnrollBody, InventoryBody, ReportsBody } from './agent-calls.js';
import { timingSafeEqual } from 'node:crypto';
import { bearerToken, sha256Hex, unauthenticated } from './auth.js';
import { ApiError, answerFor, type ErrorBody } from './errors.js';
import type { StorageHealth } from './storage-health.js';
import type { SchemaSet } from './validate.js';

const hostPath = /^\/v1\/hosts\/([a-z0-9][-a-z0-9.]*)\/(inventory|reports)$/;
const ENROLL_LIMIT = 1024 ** 2;
const HOST_BODY_LIMIT = 4 * 1024 ** 2;

/** Resolves a credential's sha256 to its host (memory first; see fast-plan.ts). */
export interface CredentialResolver {
  hostOf(hash: string): Promise<string | undefined>;
}

interface Call {
  readonly route: string;
  readonly schema: string;
  readonly limit: number;
  /** The path's host for host routes. */
  readonly host?: string;
  run(body: unknown, now: Date, req: IncomingMessage): Promise<Answer>;
}

export class LeanAgentPath {
  private readonly observers = new Map<string, { observe(seconds: number): void }>();
  private readonly adminTokenDigest: Buffer;

  constructor(
    private readonly calls: AgentCalls,
    private readonly credentials: CredentialResolver,
    private readonly schemas: SchemaSet,
    adminToken: string,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly storage?: StorageHealth,
  ) {
    this.adminTokenDigest = Buffer.from(sha256Hex(adminToken), 'hex');
  }

  /** Handles one of the three calls, or hands the request to `fallback` untouched. */
  handle(req: IncomingMessage, res: ServerResponse, fallback: () => void): void {
    const call = this.match(req);
    if (!call || !plainJsonBody(req)) return fallback();
    let hash: string | undefined;
    if (call.host !== undefined) {
      const token = bearerToken(req.headers);
      hash = token === undefined ? undefined : sha256Hex(token);
      // The admin acting for a host: compared as sha256 digests, in constant time.
      if (hash !== undefined && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminTokenDigest)) return fallback();
    }
    const start = performance.now();
    this.serve(req, res, call, hash, fallback)
      .catch((err: unknown) => this.fail(req, res, err))
      .finally(() => this.observe(req, res, call.route, start));
  }

  private match(req: IncomingMessage): Call | undefined {
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/v1/enroll') {
      return {
        route: '/v1/enroll',
        schema: 'api/enroll',
        limit: ENROLL_LIMIT,
        run: (body, now, r) => this.calls.enroll(r.socket.remoteAddress ?? 'unknown', body as EnrollBody, now),
      };
    }
    const m = hostPath.exec(url);
    if (!m) return undefined;
    const host = m[1]!;
    if (m[2] === 'inventory' && req.method === 'PUT') {
      return {
        route: '/v1/hosts/:host/inventory',
        schema: 'api/inventory-body',
        limit: HOST_BODY_LIMIT,
        host,
        run: (body, now) => this.calls.putInventory(host, body as InventoryBody, now),
      };
    }
    if (m[2] === 'reports' && req.method === 'POST') {
      return {
        route: '/v1/hosts/:host/reports',
        schema: 'api/reports-body',
        limit: HOST_BODY_LIMIT,
        host,
        run: (body, now) => this.calls.ingest(host, body as ReportsBody, now),
      };
    }
    return undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, call: Call, hash: string | undefined, fallback: () => void): Promise<void> {
    if (call.host !== undefined) {
      if (hash === undefined) throw unauthenticated();
      const caller = await this.credentials.hostOf(hash);
      if (caller === undefined) throw unauthenticated();
      // Another host's credential: express decides (a relay's credential for a host it serves; else 404), body unread.
      if (caller !== call.host) return fallback();
    }
    if (hasBody(req) && !isJsonType(req)) throw new ApiError(415, 'unsupported-media-type', 'send the body as JSON with `Content-Type: application/json`');
    const raw = hasBody(req) ? await readJson(req, call.limit) : undefined;
    if (call.host !== undefined) this.schemas.check('api/params', 'params', { host: call.host });
    const body = this.schemas.check(call.schema, 'body', raw);
    const answer = await call.run(body, new Date(this.clock.now()), req);
    send(res, answer.status, answer.body);
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const e = answerFor(err, req, res, this.logger, this.storage);
    if (e === undefined) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [name, value] of Object.entries(e.headers ?? {})) res.setHeader(name, value);
    // A body not read to its end cannot be followed by another request on this connection.
    if (!req.complete) res.setHeader('Connection', 'close');
    const body: ErrorBody = { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } };
    send(res, e.status, body);
    if (!req.complete) req.resume();
  }

  private observe(req: IncomingMessage, res: ServerResponse, route: string, start: number): void {
    const key = `${req.method} ${route} ${res.statusCode}`;
    let observer = this.observers.get(key);
    if (!observer) {
      observer = this.metrics.httpDuration.labels({ method: req.method!, route, status: String(res.statusCode) });
      this.observers.set(key, observer);
    }
    observer.observe((performance.now() - start) / 1000);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

function isJsonType(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** No content encoding and no charset but UTF-8: what this path reads itself. */
function plainJsonBody(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

/** Reads and parses a JSON object or array body of at most `limit` bytes (as express.json with `strict`). */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(tooLarge(limit));
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => {
      const text = (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).toString('utf8');
      if (text.length === 0) return resolve({});
      const first = /\S/.exec(text)?.[0];
      if (first !== '{' && first !== '[') return reject(badJson(`Unexpected token ${first ?? 'end'} at the start of the body`));
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(badJson((e as Error).message));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', () => reject(new ApiError(400, 'aborted', 'the request was aborted by the client')));
  });
}

const tooLarge = (limit: number) => new ApiError(413, 'body-too-large', `the request body is larger than the limit of ${limit} bytes`);
const badJson = (why: string) => new ApiError(400, 'bad-json', `the request body is not valid JSON: ${why}`.trim());
