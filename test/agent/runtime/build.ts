/** Builds `dist/` (the `ferry` command tests run) when the sources (agent, controller, lib, core, cli) are newer than it. */
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../../support/ferry.js';

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

async function builtAt(): Promise<number> {
  const files = ['dist/cli/agent.js', 'dist/agent/agent.js', 'dist/agent/runner/executor.js'];
  const times = await Promise.all(
    files.map((f) =>
      stat(join(repoRoot, f)).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return Math.min(...times);
}

/** Runs `tsc -p .` (it emits even when someone else's file has a type error) if dist is stale. */
export async function ensureBuilt(): Promise<void> {
  const dirs = ['agent', 'lib', 'controller', 'core', 'cli'];
  const sources = Math.max(...(await Promise.all(dirs.map((d) => newestSource(join(repoRoot, d))))));
  if ((await builtAt()) >= sources) return;
  await new Promise<void>((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', repoRoot], { cwd: repoRoot }, () => resolve());
  });
  if ((await builtAt()) < sources) throw new Error(`could not build ${relative(process.cwd(), join(repoRoot, 'dist'))}; run \`npx tsc -p .\``);
}
