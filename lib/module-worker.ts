/**
 * Starts a worker thread on a TypeScript module of this project. Built (dist/, the published
 * package), the module is its `.js` beside the caller. Run from the .ts sources through tsx (the
 * tests: mocha --import=tsx), there is no .js, and on Node 20 tsx does not register itself in
 * worker threads (neither from the parent's hooks nor from an execArgv `--import tsx`); so the
 * worker starts from a one-line bootstrap that loads the .ts module through tsx's require API
 * inside the worker. Chosen over pointing the tests at dist/: they always run the current source,
 * with no build to forget and no stale dist/ when one test file is run alone. tsx is resolved from
 * the caller, not from the working directory, with require's resolver: tsx may run the caller as
 * CommonJS, where `import.meta.resolve` does not exist.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker running `name` (`'./file-worker'`, no extension) beside the module at `callerUrl` (its import.meta.url). */
export function startModuleWorker(callerUrl: string, name: string, options?: WorkerOptions): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`${name}.js`, callerUrl), options);
  const tsx = createRequire(callerUrl).resolve('tsx/cjs/api');
  const worker = fileURLToPath(new URL(`${name}.ts`, callerUrl));
  const load = `createRequire(${JSON.stringify(callerUrl)})(${JSON.stringify(tsx)}).require(${JSON.stringify(worker)}, ${JSON.stringify(callerUrl)});`;
  const bootstrap = `import { createRequire } from 'node:module'; ${load}`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}
