/** The demo's manifest repository: a real local git repository with a `main` branch. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const identity = ['-c', 'user.name=Ferry Demo', '-c', 'user.email=demo@ferry.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];

/** Runs `git ARGS` in `dir`; throws with git's stderr when it fails. */
export async function git(dir: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run('git', [...identity, ...args], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('git is not installed; the demo needs it (apt-get install git, or your platform’s package)');
    throw new Error(`git ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** `git init` on `main`. */
export async function initRepo(dir: string): Promise<void> {
  await git(dir, ['init', '--quiet', '--initial-branch=main']);
}

/** Commits everything in the work tree; returns the commit id. */
export async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '--quiet', '-m', message]);
  return (await git(dir, ['rev-parse', 'HEAD'])).trim();
}
