/**
 * The API's one error shape (DESIGN §4): every refusal is a 4xx with
 * `{error: {code, message, details}}`; anything unexpected is a 500 without internals.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { isStorageFull } from '../../lib/storage-full.js';
import type { StorageHealth } from './storage-health.js';

/** A refusal the client can act on; `code` is stable, `message` says what to do next. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
}

/** Writes an error response (no body for HEAD, as HTTP requires). */
export function sendError(res: Response, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
  const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
  res.status(err.status).json(body);
}

export const notFound = (what = 'no such resource'): ApiError => new ApiError(404, 'not-found', what);

/** body-parser's error types mapped to ours; the rest of its errors are client errors too. */
function fromBodyParser(err: { type?: string; status?: number; message?: string; limit?: number }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'bad-json', `the request body is not valid JSON: ${err.message ?? ''}`.trim());
    case 'entity.too.large':
      return new ApiError(413, 'body-too-large', `the request body is larger than the limit of ${err.limit ?? '?'} bytes`);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError(415, 'unsupported-encoding', err.message ?? 'unsupported content encoding or charset');
    case 'request.aborted':
      return new ApiError(400, 'aborted', 'the request was aborted by the client');
    case 'request.size.invalid':
    case 'stream.encoding.set':
    case 'stream.not.readable':
    case 'parameters.too.many':
      return new ApiError(400, 'bad-request', err.message ?? 'bad request');
    default:
      return undefined;
  }
}

/** What a request that needed to write gets while the data directory (or the database's disk) is full. */
export const insufficientStorage = (): ApiError =>
  new ApiError(
    503,
    'insufficient-storage',
    'the controller cannot write: no space left on device for its data (or its database); nothing was stored, send it again later',
    undefined,
    { 'Retry-After': '30' },
  );

/**
 * What to answer for an error thrown while serving `req`: client errors as 4xx, a full disk as 503
 * `insufficient-storage` (noted in `storage`, so /readyz says not ready), everything else a logged
 * 500 that reveals nothing; undefined when the client went away and nobody is left to answer.
 * Shared by express's error handler and the raw agent path (lean-agent.ts).
 */
export function answerFor(err: unknown, req: IncomingMessage, res: ServerResponse, logger: Logger, storage?: StorageHealth): ApiError | undefined {
  if (err instanceof ApiError) return err;
  const e = (err ?? {}) as { type?: string; status?: number; statusCode?: number; message?: string; limit?: number };
  const parsed = fromBodyParser(e);
  if (parsed) return parsed;
  const status = e.status ?? e.statusCode;
  // Errors from express itself (e.g. a malformed URI component) are the client's.
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, status === 404 ? 'not-found' : 'bad-request', e.message ?? 'bad request');
  // `req.destroyed` is also true once a body has been read in full, or a handler stopped reading
  // it: only a closed connection or response means the client went away.
  const socket = res.socket ?? req.socket;
  if (res.destroyed || !socket || socket.destroyed) {
    logger.debug({ err, method: req.method, url: req.url }, 'request aborted by the client');
    return undefined;
  }
  if (isStorageFull(err)) {
    storage?.noteFull(err);
    logger.error({ err, method: req.method, url: req.url }, 'request failed: no space left for the controller to write');
    // An upload cut short: answer, then close, rather than read the rest of its body.
    if (!req.complete) res.setHeader('Connection', 'close');
    return insufficientStorage();
  }
  logger.error({ err, method: req.method, url: req.url }, 'request failed');
  return new ApiError(500, 'internal', 'internal error; the controller log has the details');
}

/** The final error handler of the express app (see `answerFor`). */
export function errorHandler(logger: Logger, storage?: StorageHealth): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const answer = answerFor(err, req, res, logger, storage);
    if (answer) sendError(res, answer);
  };
}
