/** Small fakes of the executor's seams: no processes, no network, no sleeps. */
import type { CommandSpec } from '../../../core/manifest/types.js';
import type { Artifact, ContentState, DownloadOutcome, DownloadRequest, Downloader } from '../../../agent/runner/downloader.js';
import type { CommandOutcome, Installer, RunRequest } from '../../../agent/runner/installer.js';
import type { FolderState, PackageRef, UnpackOutcome, Unpacker } from '../../../agent/runner/unpacker.js';

/** Content "fetched" in segments of `segment` bytes; `plan(sha)` scripts what the next download does. */
export class FakeDownloader implements Downloader {
  readonly kept_ = new Map<string, ContentState>();
  readonly partial = new Map<string, number>();
  /** The next downloads' failures, per sha256, used up in order; none left: the download succeeds. */
  readonly failures = new Map<string, string[]>();
  readonly calls: { sha256: string; from: number }[] = [];
  /** Called at every segment boundary, after `shouldPause` said go on. */
  onSegment: (bytesDone: number) => void = () => undefined;
  constructor(readonly segment = 100) {}

  async kept(artifact: Artifact) {
    return { content: this.kept_.get(artifact.sha256) ?? 'missing', partialBytes: this.partial.get(artifact.sha256) ?? 0 };
  }

  async verify(artifact: Artifact) {
    const state = this.kept_.get(artifact.sha256);
    if (state === undefined || state === 'missing') return 'missing' as const;
    this.kept_.set(artifact.sha256, 'verified');
    return 'verified' as const;
  }

  async download(r: DownloadRequest): Promise<DownloadOutcome> {
    const sha = r.artifact.sha256;
    let done = this.partial.get(sha) ?? 0;
    this.calls.push({ sha256: sha, from: done });
    const failure = this.failures.get(sha)?.shift();
    if (failure) return { kind: 'failed', local: false, message: failure, bytesDone: done, problems: [] };
    while (done < r.artifact.size) {
      if (r.shouldPause()) return { kind: 'paused', bytesDone: done, problems: [] };
      done = Math.min(done + this.segment, r.artifact.size);
      this.partial.set(sha, done);
      r.onProgress(done, r.artifact.size);
      this.onSegment(done);
    }
    this.partial.delete(sha);
    this.kept_.set(sha, 'verified');
    return { kind: 'verified', source: 'controller', bytesFetched: r.artifact.size, problems: [] };
  }
}

export class FakeUnpacker implements Unpacker {
  readonly fresh = new Set<string>();
  async unpacked(ref: PackageRef) {
    const dir = dirOf(ref);
    return this.fresh.has(dir) ? dir : undefined;
  }
  async folder(dir: string): Promise<FolderState> {
    return this.fresh.has(dir) ? 'fresh' : 'missing';
  }
  async unpack(ref: PackageRef): Promise<UnpackOutcome> {
    const dir = dirOf(ref);
    this.fresh.add(dir);
    return { ok: true, dir };
  }
}

export const dirOf = (ref: PackageRef) => `/data/packages/${ref.package}/${ref.version}`;

/** Runs nothing: answers from `answer` (default exit 0) and remembers every run. */
export class FakeInstaller implements Installer {
  readonly runs: { command: string; dir: string }[] = [];
  answer: (spec: CommandSpec) => Promise<CommandOutcome> | CommandOutcome = () => exited(0);
  nextPid = 4242;

  async run(spec: CommandSpec, request: RunRequest): Promise<CommandOutcome> {
    this.runs.push({ command: spec.command.join(' '), dir: request.dir });
    request.onSpawn?.(this.nextPid++);
    return this.answer(spec);
  }
}

export function exited(code: number, output = ''): CommandOutcome {
  return code === 0 ? { kind: 'succeeded', exitCode: 0, output, durationMs: 1 } : { kind: 'failed', exitCode: code, output, durationMs: 1, reason: `exited with code ${code}` };
}
