/**
 * Content by sha256 (DESIGN §4, §6). Reading needs a host credential or the admin token
 * (artifacts may be licensed software); responses are immutable and marked `public`, so a
 * shared cache in front of the controller may keep them. A replica lacking an artifact fetches
 * it from a peer replica first (content/peer-content-store.ts). Uploads are admin-only, streamed
 * and verified while written: a mismatch stores nothing.
 */
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { ApiError, notFound } from './errors.js';
import { httpDate, ifMatchPasses, ifRangeMatches, noneMatch, notModifiedSince } from './http.js';
import type { ApiDeps } from './deps.js';
import type { RouteSpec } from './route.js';
import { checkContentAccess } from './content-access.js';
import { PEER_HEADER } from '../content/peer-content-store.js';

const defaultMaxContentBytes = 16 * 1024 ** 3;
/** Content never changes under its sha256; errors (412, 416) are not marked so a cache does not keep them. */
const immutable = 'public, max-age=31536000, immutable';

type RangeChoice = { readonly kind: 'full' } | { readonly kind: 'partial'; readonly start: number; readonly end: number } | { readonly kind: 'unsatisfiable' };

/**
 * One byte range or the whole content; several ranges or a malformed header get the whole
 * content (a 200, which RFC 9110 §14.2 allows), as does an `If-Range` that does not match.
 */
function chooseRange(req: Request, size: number, etag: string, storedAt: Date): RangeChoice {
  const header = req.headers.range;
  if (header === undefined) return { kind: 'full' };
  const ifRange = req.headers['if-range'];
  if (!ifRangeMatches(Array.isArray(ifRange) ? ifRange.join(', ') : ifRange, etag, storedAt)) return { kind: 'full' };
  const ranges = req.range(size, { combine: true });
  if (ranges === -1) return { kind: 'unsatisfiable' };
  if (ranges === -2 || ranges === undefined || ranges.type !== 'bytes' || ranges.length !== 1) return { kind: 'full' };
  const [r] = ranges;
  return { kind: 'partial', start: r!.start, end: r!.end };
}

async function serve(content: ApiDeps['content'], req: Request, res: Response, sha256: string): Promise<void> {
  const info = await content.stat(sha256);
  if (!info) throw notFound(`no content ${sha256}; push it with \`ferry package push FILE\``);
  const etag = `"${sha256}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', httpDate(info.storedAt));
  // Preconditions in RFC 9110 §13.2.2's order; only a success is cacheable for long.
  if (!ifMatchPasses(req.headers['if-match'], etag)) {
    throw new ApiError(412, 'precondition-failed', `If-Match does not name this content; its entity tag is ${etag}`, undefined, { 'Cache-Control': 'no-store' });
  }
  const unchanged = req.headers['if-none-match'] !== undefined ? noneMatch(req.headers['if-none-match'], etag) : notModifiedSince(req.headers['if-modified-since'], info.storedAt);
  if (unchanged) {
    res.setHeader('Cache-Control', immutable);
    res.status(304).end();
    return;
  }
  const choice = chooseRange(req, info.size, etag, info.storedAt);
  if (choice.kind === 'unsatisfiable') {
    throw new ApiError(
      416,
      'range-not-satisfiable',
      `the content has ${info.size} bytes`,
      { size: info.size },
      {
        'Content-Range': `bytes */${info.size}`,
        'Cache-Control': 'no-store',
      },
    );
  }
  res.setHeader('Cache-Control', immutable);
  res.setHeader('Content-Type', 'application/octet-stream');
  let range: { start: number; end: number } | undefined;
  if (choice.kind === 'partial') {
    range = { start: choice.start, end: choice.end };
    res.status(206);
    res.setHeader('Content-Range', `bytes ${choice.start}-${choice.end}/${info.size}`);
    res.setHeader('Content-Length', String(choice.end - choice.start + 1));
  } else {
    res.status(200);
    res.setHeader('Content-Length', String(info.size));
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = await content.open(sha256, range);
  if (!stream) throw notFound(`no content ${sha256}`);
  try {
    await pipeline(stream, res);
  } catch (err) {
    // The client went away or the file vanished mid-way; the response is already under way.
    stream.destroy();
    if (!res.writableEnded) res.destroy(err as Error);
  }
}

export function contentRoutes(deps: ApiDeps): RouteSpec[] {
  const maxBytes = deps.maxContentBytes ?? defaultMaxContentBytes;
  return [
    {
      method: 'GET',
      path: '/v1/content/:sha256',
      auth: 'any',
      body: { kind: 'none' },
      async handle({ req, res, params, caller }) {
        await checkContentAccess(deps, caller, params['sha256']!);
        // A peer replica fetching what it lacks is answered from this replica's own disk (never from its peers: no loops).
        const peer = caller?.kind === 'admin' && req.headers[PEER_HEADER] !== undefined;
        await serve(peer ? (deps.localContent ?? deps.content) : deps.content, req, res, params['sha256']!);
      },
    },
    {
      method: 'PUT',
      path: '/v1/content/:sha256',
      auth: 'admin',
      body: { kind: 'stream' },
      async handle({ req, res, params }) {
        const sha256 = params['sha256']!;
        const declared = req.headers['content-length'];
        if (declared === undefined || !/^\d{1,16}$/.test(declared)) {
          throw new ApiError(411, 'length-required', 'send the artifact with a Content-Length header');
        }
        const size = Number(declared);
        if (size > maxBytes) {
          res.setHeader('Connection', 'close');
          throw new ApiError(413, 'body-too-large', `the artifact is larger than the limit of ${maxBytes} bytes`);
        }
        const result = await deps.content.put(req, sha256, { expectedSize: size });
        if (!result.ok) {
          res.setHeader('Connection', 'close');
          const message =
            result.error === 'sha256-mismatch'
              ? `the uploaded bytes have sha256 ${result.actualSha256 ?? '?'}, not ${sha256}; nothing was stored`
              : `the upload had ${result.size} bytes, not the ${result.expectedSize ?? '?'} announced; nothing was stored`;
          throw new ApiError(422, result.error, message, result);
        }
        deps.logger.info({ sha256, size: result.size, existed: result.existed }, 'content stored');
        if (!result.existed) deps.reconciler.contentChanged?.(sha256);
        res.status(result.existed ? 200 : 201).json({ sha256, size: result.size, existed: result.existed });
      },
    },
  ];
}
