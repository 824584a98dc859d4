/**
 * Blobs of a bare repository read through one `git cat-file --batch` process: a revision's
 * artifacts cost one process, not one per file (spawning forks the controller, whose memory grows
 * with the fleet). Requests are answered in order; each blob is a stream fed straight from git's
 * output with backpressure, so a large artifact is never held in memory. A stream its reader
 * abandons is drained, so the blobs after it still arrive; a stream left unread holds back the
 * blobs after it, so read (or drop) one before waiting for the next. The process ends when nothing
 * is asked of it, and the next request starts another.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

interface Request {
  readonly oid: string;
  readonly resolve: (blob: Readable) => void;
  readonly reject: (err: Error) => void;
}

/** One process and what it has been asked, in order. */
interface Batch {
  readonly child: ChildProcessWithoutNullStreams;
  readonly waiting: Request[];
  /** Output not yet parsed: part of a header line. */
  pending: Buffer;
  /** The blob being copied: its stream (undefined once abandoned) and the bytes left, its final newline included. */
  body: { out: PassThrough | undefined; left: number } | undefined;
  stderr: string;
}

export class BlobReader {
  private batch: Batch | undefined;

  constructor(
    private readonly dir: string,
    private readonly env: Record<string, string>,
  ) {}

  /** The content of blob `oid` (an object id of a blob, as `git ls-tree` lists it). */
  read(oid: string): Promise<Readable> {
    if (!/^[0-9a-f]{40,64}$/.test(oid)) return Promise.reject(new Error(`'${oid}' is not an object id`));
    const batch = this.batch ?? this.start();
    return new Promise((resolve, reject) => {
      batch.waiting.push({ oid, resolve, reject });
      batch.child.stdin.write(`${oid}\n`);
    });
  }

  private start(): Batch {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.dir, env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const batch: Batch = { child, waiting: [], pending: Buffer.alloc(0), body: undefined, stderr: '' };
    this.batch = batch;
    child.stderr.on('data', (chunk: Buffer) => (batch.stderr = (batch.stderr + chunk.toString()).slice(-2000)));
    child.stdout.on('data', (chunk: Buffer) => this.output(batch, chunk));
    const failed = (err: Error) => {
      if (this.batch === batch) this.batch = undefined;
      batch.body?.out?.destroy(err);
      batch.body = undefined;
      for (const r of batch.waiting.splice(0)) r.reject(err);
    };
    child.stdin.on('error', () => undefined);
    child.on('error', failed);
    child.on('close', (code) => failed(new Error(`git cat-file --batch ended (${batch.stderr.trim().split('\n').at(-1) || `exit ${code}`})`)));
    return batch;
  }

  private output(batch: Batch, chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const body = batch.body;
      if (body !== undefined) {
        const n = Math.min(body.left, chunk.length - at);
        // The blob's bytes, without the newline git writes after each one.
        const content = chunk.subarray(at, at + Math.min(n, body.left - 1));
        at += n;
        body.left -= n;
        if (body.out?.destroyed) body.out = undefined;
        const out = body.out;
        if (content.length > 0 && out?.write(content) === false) {
          const stdout = batch.child.stdout;
          stdout.pause();
          const resume = () => {
            out.off('drain', resume);
            out.off('close', resume);
            stdout.resume();
          };
          out.on('drain', resume);
          out.on('close', resume);
        }
        if (body.left === 0) {
          body.out?.end();
          batch.body = undefined;
          this.idle(batch);
        }
        continue;
      }
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        batch.pending = Buffer.concat([batch.pending, chunk.subarray(at)]);
        return;
      }
      const header = Buffer.concat([batch.pending, chunk.subarray(at, nl)]).toString();
      batch.pending = Buffer.alloc(0);
      at = nl + 1;
      this.header(batch, header);
    }
  }

  /** `<oid> blob <size>` starts a blob; anything else (`<oid> missing`, another type) fails that request. */
  private header(batch: Batch, line: string): void {
    const request = batch.waiting.shift();
    const match = /^([0-9a-f]+) (\S+) (\d+)$/.exec(line);
    if (match?.[2] === 'blob') {
      const out = new PassThrough();
      batch.body = { out, left: Number(match[3]) + 1 };
      request?.resolve(out);
      return;
    }
    request?.reject(new Error(match ? `${request.oid} is a ${match[2]}, not a blob` : `git cat-file: ${line}`));
    // A tree, commit or tag is printed too: skip it.
    if (match) batch.body = { out: undefined, left: Number(match[3]) + 1 };
    else this.idle(batch);
  }

  /** Ends the process once nothing more is asked of it. */
  private idle(batch: Batch): void {
    if (batch.waiting.length > 0 || batch.body !== undefined || this.batch !== batch) return;
    this.batch = undefined;
    batch.child.stdin.end();
  }
}
