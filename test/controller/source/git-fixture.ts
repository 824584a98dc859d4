/** Real git repositories in a temp dir for source tests: a bare "origin" and a working clone that pushes to it. */
import { mkdtemp, mkdir, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

export interface GitFixture {
  readonly root: string;
  /** The bare repository the controller follows. */
  readonly origin: string;
  /** A clone where the test commits. */
  readonly work: string;
  readonly git: SimpleGit;
  /** Writes files (path → text) in the clone, commits them all and pushes the current branch; returns the commit. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
  /** Copies a fixture folder into the clone at `to` (default the root). */
  copy(fixture: string, to?: string): Promise<void>;
  cleanup(): Promise<void>;
}

const identity = ['-c', 'user.name=Ferry Test', '-c', 'user.email=test@ferry.invalid', '-c', 'commit.gpgsign=false'];

export async function makeGitFixture(branch = 'main'): Promise<GitFixture> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-git-'));
  const origin = join(root, 'origin.git');
  const work = join(root, 'work');
  await mkdir(origin);
  await simpleGit(origin).raw(['init', '--bare', '--quiet', `--initial-branch=${branch}`]);
  await mkdir(work);
  const git = simpleGit(work);
  await git.raw(['init', '--quiet', `--initial-branch=${branch}`]);
  await git.raw(['remote', 'add', 'origin', origin]);

  const fixture: GitFixture = {
    root,
    origin,
    work,
    git,
    async commit(files, message = 'change manifests') {
      for (const [path, text] of Object.entries(files)) {
        const file = join(work, path);
        if (text === null) {
          await rm(file, { force: true });
        } else {
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, text);
        }
      }
      await git.raw(['add', '-A']);
      await git.raw([...identity, 'commit', '--quiet', '--allow-empty', '-m', message]);
      const current = (await git.raw(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
      await git.raw(['push', '--quiet', 'origin', `HEAD:refs/heads/${current}`]);
      return (await git.raw(['rev-parse', 'HEAD'])).trim();
    },
    async copy(name, to = '.') {
      await cp(fixturePath(name), join(work, to), { recursive: true });
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  return fixture;
}

/** Runs git with a test identity in the clone (branch, merge, …). */
export function gitIn(fixture: GitFixture, args: string[]): Promise<string> {
  return fixture.git.raw([...identity, ...args]);
}

export function fixturePath(name: string): string {
  return new URL(`../../fixtures/controller/${name}`, import.meta.url).pathname;
}

/** The suite's one polling wait (kept here for the tests that import it from this fixture). */
export { eventually } from '../../support/eventually.js';
