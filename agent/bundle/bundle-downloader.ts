/**
 * The Downloader of `ferry bundle apply`: content comes from the bundle's staged artifacts
 * instead of HTTP, copied into `DATA/content/` and verified by sha256 like any download.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Artifact, ContentState, DownloadOutcome, DownloadRequest, Downloader } from '../runner/downloader.js';
import { contentPath } from '../runner/layout.js';
import { checkContent, markVerified, verifiedThisBoot } from '../runner/transfer.js';

export class BundleDownloader implements Downloader {
  /** `staged`: sha256 → the staged file of the bundle. */
  constructor(
    private readonly dataDir: string,
    private readonly staged: ReadonlyMap<string, string>,
  ) {}

  async kept(artifact: Artifact): Promise<{ content: ContentState; partialBytes: number }> {
    const path = contentPath(this.dataDir, artifact);
    const file = await stat(path).catch(() => undefined);
    const content: ContentState = !file?.isFile() ? 'missing' : file.size === artifact.size && (await verifiedThisBoot(path)) ? 'verified' : 'unverified';
    return { content, partialBytes: 0 };
  }

  async verify(artifact: Artifact): Promise<'verified' | 'corrupt' | 'missing'> {
    const check = await checkContent(contentPath(this.dataDir, artifact), artifact.sha256, artifact.size);
    return check === 'trusted' || check === 'reverified' ? 'verified' : check;
  }

  async download(r: DownloadRequest): Promise<DownloadOutcome> {
    const sha = r.artifact.sha256.toLowerCase();
    const from = this.staged.get(sha);
    if (!from) return { kind: 'failed', local: false, message: `the bundle has no artifact ${sha}`, bytesDone: 0, problems: [] };
    const dest = contentPath(this.dataDir, r.artifact);
    const part = `${dest}.part`;
    await mkdir(dirname(dest), { recursive: true });
    const hash = createHash('sha256');
    let done = 0;
    try {
      await pipeline(
        createReadStream(from, { highWaterMark: 1 << 20 }),
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            done += chunk.length;
            r.onProgress(done, r.artifact.size);
            cb(null, chunk);
          },
        }),
        createWriteStream(part),
      );
      const got = hash.digest('hex');
      if (got !== sha || done !== r.artifact.size) {
        return { kind: 'failed', local: false, message: `the bundle's copy of ${sha} does not match (sha256 ${got}, ${done} bytes)`, bytesDone: 0, problems: [] };
      }
      await rename(part, dest);
      await markVerified(dest);
      return { kind: 'verified', source: 'bundle', bytesFetched: done, problems: [] };
    } catch (e) {
      return { kind: 'failed', local: true, message: (e as Error).message, bytesDone: 0, problems: [] };
    } finally {
      await rm(part, { force: true });
    }
  }
}
