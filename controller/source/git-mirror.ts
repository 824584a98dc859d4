/**
 * A bare local copy of one branch of a remote repository, and reading manifest files
 * straight from a commit's tree (never from a checkout that could be half-updated).
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { ManifestFile } from '../../core/manifest/types.js';
import { BlobReader } from './cat-file.js';
import { linkMode, listManifestBlobs, parseTreeEntry, readManifestBlobs, treeAt, type TreeEntry } from './git-tree.js';

const fetchTimeoutMs = 120_000;

/** True for `scheme://…` and scp-like `user@host:path`; anything else is a local path. */
export function isRemoteUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\\]+@[^/\\]+:/.test(repo);
}

/** A branch name git accepts and that cannot be mistaken for an option. */
export function checkBranchName(branch: string): void {
  const ok =
    /^[A-Za-z0-9._/-]+$/.test(branch) &&
    !branch.startsWith('-') &&
    !branch.startsWith('/') &&
    !branch.endsWith('/') &&
    !branch.endsWith('.lock') &&
    !branch.includes('..') &&
    !branch.includes('//');
  if (!ok) throw new Error(`'${branch}' is not a valid branch name`);
}

/** Normalises a manifest folder inside the repository: `` for the root, else `a/b`. */
export function normaliseRepoPath(path: string | undefined): string {
  const parts = (path ?? '').split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new Error(`--path '${path}' must stay inside the repository`);
  return parts.join('/');
}

export class GitMirror {
  private gitClient: SimpleGit | undefined;
  private blobs: BlobReader | undefined;
  /** The tree of the last commit read from. */
  private tree: { readonly commit: string; readonly entries: Promise<ReadonlyMap<string, TreeEntry>> } | undefined;
  private readonly remote: string;
  private readonly ref: string;
  /** The commit the last fetch by this process brought; a later fetch whose remote head is still it is skipped. */
  private fetched: string | undefined;

  /** `dir` holds the bare copy; `repo` is a URL or a local path (made absolute). */
  constructor(
    readonly dir: string,
    repo: string,
    readonly branch: string,
  ) {
    checkBranchName(branch);
    this.remote = isRemoteUrl(repo) ? repo : resolve(repo);
    this.ref = `refs/ferry/${branch}`;
  }

  private get git(): SimpleGit {
    this.gitClient ??= simpleGit({ baseDir: this.dir, timeout: { block: fetchTimeoutMs }, allowEnvironment: ['GIT_TERMINAL_PROMPT', 'GIT_SSH_COMMAND'] }).env(gitEnvironment());
    return this.gitClient;
  }

  /** Creates the bare copy if needed and points it at the remote. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const isRepo = await stat(join(this.dir, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (!isRepo) await this.git.raw(['init', '--bare', '--quiet']);
    const remotes = await this.git.getRemotes(true);
    const origin = remotes.find((r) => r.name === 'origin');
    if (!origin) await this.git.raw(['remote', 'add', 'origin', '--', this.remote]);
    else if (origin.refs.fetch !== this.remote) await this.git.raw(['remote', 'set-url', 'origin', '--', this.remote]);
  }

  /**
   * Fetches the branch and returns the commit it points at. The remote's branch head is asked
   * first (`git ls-remote`: one round trip, no pack negotiation, no ref or FETCH_HEAD written):
   * when it is the commit this mirror fetched last, there is nothing to fetch.
   */
  async fetch(): Promise<string> {
    if (this.fetched !== undefined && (await this.remoteHead()) === this.fetched) return this.fetched;
    try {
      await this.git.raw(['fetch', '--quiet', '--no-tags', '--force', 'origin', `+refs/heads/${this.branch}:${this.ref}`]);
    } catch (err) {
      const message = err instanceof Error ? err.message.trim() : String(err);
      if (/couldn't find remote ref/i.test(message)) {
        const branches = await this.remoteBranches().catch(() => undefined);
        const has = branches === undefined ? '' : branches.length === 0 ? '; the repository has no branches yet' : `; the repository has: ${branches.join(', ')} (use --branch)`;
        throw new Error(`no branch ${this.branch} in ${this.remote}${has}`);
      }
      throw new Error(`cannot fetch ${this.remote}: ${lastLines(message)}`);
    }
    this.fetched = (await this.git.raw(['rev-parse', '--verify', '--quiet', `${this.ref}^{commit}`])).trim();
    return this.fetched;
  }

  /** The commit the remote's branch points at; undefined when it has no such branch (the fetch then says so). */
  private async remoteHead(): Promise<string | undefined> {
    let listing: string;
    try {
      listing = await this.git.raw(['ls-remote', '--heads', 'origin', `refs/heads/${this.branch}`]);
    } catch (err) {
      throw new Error(`cannot fetch ${this.remote}: ${lastLines(err instanceof Error ? err.message : String(err))}`);
    }
    return /^([0-9a-f]{40,64})\t/.exec(listing)?.[1];
  }

  /** The remote's branch names, sorted (at most 20). */
  private async remoteBranches(): Promise<string[]> {
    const listing = await this.git.raw(['ls-remote', '--heads', 'origin']);
    const names = listing
      .split('\n')
      .map((l) => /\trefs\/heads\/(.+)$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort();
    return names.length > 20 ? [...names.slice(0, 20), `… ${names.length - 20} more`] : names;
  }

  /** Every manifest file under `path` in the tree of `commit`, paths relative to `path`, sorted. */
  async readManifests(commit: string, path: string): Promise<ManifestFile[]> {
    const treeish = treeAt(commit, path);
    let blobs: TreeEntry[];
    try {
      blobs = await listManifestBlobs(this.git, treeish);
    } catch {
      throw new Error(`folder '${path}' does not exist at commit ${commit.slice(0, 12)}`);
    }
    return readManifestBlobs(this.git, blobs);
  }

  /**
   * A stream of the blob at `path` (relative to the repository root, already checked) in the
   * tree of `commit`; undefined when there is no such path. Streamed from `git cat-file --batch`
   * (one process for the many files a revision's ingest reads), so a large artifact is never held
   * in memory. Links and folders are refused.
   */
  async readBlob(commit: string, path: string): Promise<Readable | undefined> {
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`'${commit}' is not a commit id`);
    const entry = (await this.treeOf(commit)).get(path);
    if (!entry) return undefined;
    const { mode, type, oid } = entry;
    if (type !== 'blob') throw new Error(`${path} is a ${type === 'tree' ? 'folder' : type}, not a file`);
    if (mode === linkMode) throw new Error(`${path} is a symbolic link; commit the file itself`);
    this.blobs ??= new BlobReader(this.dir, gitEnvironment());
    return this.blobs.read(oid);
  }

  /** Every entry of the tree of `commit` (folders too) by path from the root: one `git ls-tree` per commit read. */
  private treeOf(commit: string): Promise<ReadonlyMap<string, TreeEntry>> {
    if (this.tree?.commit !== commit) {
      const entries = this.git.raw(['ls-tree', '-r', '-t', '-z', '--full-tree', commit]).then((listing) => {
        const byPath = new Map<string, TreeEntry>();
        for (const record of listing.split('\0')) {
          const entry = parseTreeEntry(record);
          if (entry) byPath.set(entry.path, entry);
        }
        return byPath;
      });
      const tree = { commit, entries };
      // A listing that failed is not kept: the next read lists again.
      entries.catch(() => {
        if (this.tree === tree) this.tree = undefined;
      });
      this.tree = tree;
    }
    return this.tree.entries;
  }
}

/** What git needs from the environment (simple-git refuses editors, pagers and the like); never prompts. */
const passedVariables = [
  'PATH',
  'HOME',
  'USER',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'XDG_CONFIG_HOME',
  'SSH_AUTH_SOCK',
  'GIT_SSH_COMMAND',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];
function gitEnvironment(): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
  for (const name of passedVariables) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function lastLines(message: string): string {
  return message
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-2)
    .join(' ');
}
