import type { Readable } from 'node:stream';
import { GitMirror, normaliseRepoPath } from './git-mirror.js';
import { PollingSource, type Fetched, type PollingSourceOptions } from './polling-source.js';
import { repoFilePath, type SourceStatus } from './source.js';

export interface GitSourceOptions extends PollingSourceOptions {
  /** A git URL or a local repository path. */
  readonly repo: string;
  readonly branch: string;
  /** Manifest folder inside the repository; default the root. */
  readonly path?: string;
  /** Where the bare copy lives (`DATA/source`). */
  readonly workDir: string;
}

/** Follows one branch of a git repository; each new commit is a snapshot `BRANCH@sha1:<commit>`. */
export class GitSource extends PollingSource {
  private readonly mirror: GitMirror;
  private readonly path: string;

  constructor(private readonly git: GitSourceOptions) {
    super(git);
    this.path = normaliseRepoPath(git.path);
    this.mirror = new GitMirror(git.workDir, git.repo, git.branch);
  }

  protected override open(): Promise<void> {
    return this.mirror.open();
  }

  protected override async fetch(): Promise<Fetched> {
    const commit = await this.mirror.fetch();
    return {
      revision: `${this.git.branch}@sha1:${commit}`,
      files: () => this.mirror.readManifests(commit, this.path),
    };
  }

  /** The file at the commit of `revision` (`BRANCH@sha1:<commit>`), path relative to the repository root. */
  override async readFile(revision: string, path: string): Promise<Readable | undefined> {
    const commit = /@sha1:([0-9a-f]{40,64})$/.exec(revision)?.[1];
    if (commit === undefined) throw new Error(`'${revision}' is not a revision of this git source`);
    return this.mirror.readBlob(commit, repoFilePath(path));
  }

  protected override describe(): Pick<SourceStatus, 'kind' | 'url' | 'branch' | 'path'> {
    return { kind: 'git', url: this.git.repo, branch: this.git.branch, ...(this.path ? { path: this.path } : {}) };
  }
}
