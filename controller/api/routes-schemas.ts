/**
 * The manifest schemas at stable URLs, for editors (docs/manifests.md#editor-support), without
 * authentication: `/schemas/NAME.schema.json` is this controller's current schema (cached for a
 * few minutes, revalidated by ETag), `/schemas/VERSION/NAME.schema.json` the schema of Ferry
 * VERSION, immutable (this controller serves its own version only). Relative `$ref`s between the
 * schemas resolve under either prefix.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Response, Request } from 'express';
import { ferryVersion } from '../../lib/version.js';
import { ApiError, notFound } from './errors.js';
import type { RouteSpec } from './route.js';
import { schemasDir } from './validate.js';

interface Served {
  readonly body: Buffer;
  readonly etag: string;
}

/** The routes serving `dir`'s top-level `*.schema.json` files (default: the checkout's `schemas/`). */
export function schemaRoutes(dir: string = schemasDir(), version: string = ferryVersion): RouteSpec[] {
  const files = new Map<string, Served>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.schema.json'))) {
    const body = readFileSync(join(dir, name));
    files.set(name, { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` });
  }
  const send = (req: Request, res: Response, name: string, cacheControl: string) => {
    const served = files.get(name);
    if (served === undefined) throw notFound(`no schema ${name}; this controller serves ${[...files.keys()].sort().join(', ')}`);
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', served.etag);
    if (req.headers['if-none-match'] === served.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', 'application/schema+json; charset=utf-8');
    res.end(served.body);
  };
  return [
    {
      method: 'GET',
      path: '/schemas/:schema',
      auth: 'none',
      body: { kind: 'none' },
      handle({ req, res, params }) {
        send(req, res, params['schema']!, 'public, max-age=300');
      },
    },
    {
      method: 'GET',
      path: '/schemas/:version/:schema',
      auth: 'none',
      body: { kind: 'none' },
      handle({ req, res, params }) {
        if (params['version'] !== version) {
          throw new ApiError(
            404,
            'not-found',
            `this controller serves the schemas of Ferry ${version}, not ${params['version']}; use /schemas/${version}/… or /schemas/… (current)`,
          );
        }
        send(req, res, params['schema']!, 'public, max-age=31536000, immutable');
      },
    },
  ];
}
