/**
 * The web dashboard (DESIGN §4): static assets served without authentication at `/`;
 * the page itself asks for the admin token and calls the admin API with it.
 * The assets are plain ES modules under `static/` (no build step), found from this
 * module both in the sources and in `dist/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { statusStateOrder } from '../../core/plan/action-states.js';

/** Where the page may load from: itself only; no inline script, no framing. */
const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * `/assets/states.js`: the one order of states (core/plan/action-states.ts) as an ES module, so
 * the page never keeps a second copy of it.
 */
const statesModule = `// Served by the controller from core/plan/action-states.ts.\nexport const states = Object.freeze(${JSON.stringify(statusStateOrder)});\n`;
const statesEtag = `"${createHash('sha256').update(statesModule).digest('base64url').slice(0, 27)}"`;

/** The checkout's `controller/dashboard/static/` folder. */
export function dashboardAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'controller', 'dashboard', 'static');
    if (existsSync(join(candidate, 'index.html')) && existsSync(join(dir, 'package.json'))) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find controller/dashboard/static/ of the ferry checkout');
    dir = up;
  }
}

export interface DashboardOptions {
  /** Folder of the assets; default `dashboardAssetsDir()`. */
  readonly assetsDir?: string;
}

/**
 * An express router answering `GET /` (the page) and `GET /assets/*` (its scripts and styles).
 * Anything else falls through, so mount it after the API routes and before the 404 handler.
 */
export function createDashboardRouter(options: DashboardOptions = {}): Router {
  const assets = options.assetsDir ?? dashboardAssetsDir();
  const router = express.Router();
  const headers = (res: Response): void => {
    for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
  };
  router.get(['/', '/index.html'], (_req: Request, res: Response, next: NextFunction) => {
    headers(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(assets, 'index.html'), (err?: Error) => {
      if (err) next(err);
    });
  });
  router.use(
    '/assets',
    (req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        next();
        return;
      }
      headers(res);
      next();
    },
    (req: Request, res: Response, next: NextFunction) => {
      if (req.path !== '/states.js' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        next();
        return;
      }
      res.setHeader('Cache-Control', 'public, max-age=0');
      res.setHeader('ETag', statesEtag);
      res.type('text/javascript').send(statesModule);
    },
    // Revalidated on every load (ETag): a new controller version never runs an old script.
    express.static(assets, { index: false, redirect: false, dotfiles: 'ignore', etag: true, lastModified: true, cacheControl: true, maxAge: 0 }),
  );
  return router;
}
