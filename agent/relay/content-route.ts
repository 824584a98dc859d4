/**
 * `GET|HEAD /v1/content/{sha256}` on the relay: the controller's contract (DESIGN §4: one byte
 * range → 206, unsatisfiable → 416, immutable cache headers, 404 for unknown content), answered
 * from the cache, from the partial file while the one upstream transfer is under way, or by
 * starting that transfer.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheEntry, ContentCache } from './content-cache.js';
import type { CredentialCheck } from './credential-check.js';
import { sendError } from './http-util.js';
import type { RelayMetrics } from './metrics.js';
import type { RelayStore } from './relay-store.js';
import type { ChunkPool } from './chunk-pool.js';

const CHUNK = 1 << 20;

export interface ContentDeps {
  readonly cache: ContentCache;
  readonly credentials: CredentialCheck;
  readonly metrics: RelayMetrics;
  /** Whose credential this is, and the plans the relay forwarded: content not in the asking host's plan is refused. */
  readonly store: RelayStore;
  /** `Bearer <the relay's own credential>` for upstream transfers; undefined: the asking host's. */
  readonly relayAuthorization: () => Promise<string | undefined>;
  /** Chunks shared by the responses reading the same artifact at once. */
  readonly chunks: ChunkPool;
}

type Range = { readonly start: number; readonly end: number } | 'full' | 'unsatisfiable';

/** One `bytes=` range (`a-b`, `a-`, `-n`); several ranges or a malformed header get the whole content. */
export function parseRange(header: string | undefined, size: number): Range {
  if (header === undefined) return 'full';
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'full';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return 'full';
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * 403 `content-not-in-plan` when the credential is a host's whose last plan the relay forwarded
 * and that plan does not name `sha256` (the controller answers the same for hosts it planned).
 */
function notInPlan(deps: ContentDeps, res: ServerResponse, authorization: string | undefined, sha256: string): boolean {
  const host = deps.store.hostOf(authorization);
  const content = host === undefined ? undefined : deps.store.planContent(host);
  if (!content || content.has(sha256)) return false;
  sendError(
    res,
    403,
    'content-not-in-plan',
    `content ${sha256} is not in the current plan of ${host}; a host reads only the content its plan names (poll the plan again if it just changed)`,
  );
  return true;
}

export async function serveContent(deps: ContentDeps, req: IncomingMessage, res: ServerResponse, sha256: string): Promise<void> {
  const authorization = req.headers.authorization;
  if (notInPlan(deps, res, authorization, sha256)) return;
  let entry = await deps.cache.lookup(sha256);
  if (entry) {
    const auth = await deps.credentials.check(authorization, sha256);
    if (auth.kind !== 'ok') return refuse(res, auth);
    if (entry.state === 'complete') deps.metrics.cacheHits.inc();
    else deps.metrics.coalesced.inc();
  } else {
    const head = await deps.credentials.check(authorization, sha256, true);
    if (head.kind !== 'ok') return refuse(res, head);
    const own = await deps.relayAuthorization();
    const started = deps.cache.start(sha256, head.size!, [...new Set([own, authorization].filter((a): a is string => a !== undefined))]);
    if (started.kind === 'full') return sendError(res, 503, 'relay-cache-full', started.message);
    entry = started.entry;
    if (started.fresh) deps.metrics.cacheMisses.inc();
    else deps.metrics.coalesced.inc();
  }
  await respond(deps, req, res, entry);
}

function refuse(
  res: ServerResponse,
  answer: { kind: 'refused'; status: number; body: string; headers: Readonly<Record<string, string>> } | { kind: 'unreachable'; message: string },
): void {
  if (answer.kind === 'unreachable') return sendError(res, 503, 'upstream-unreachable', `${answer.message}; try the next content source`, { 'retry-after': '10' });
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

async function respond(deps: ContentDeps, req: IncomingMessage, res: ServerResponse, entry: CacheEntry): Promise<void> {
  const size = entry.size;
  const etag = `"${entry.sha256}"`;
  const base = { 'accept-ranges': 'bytes', 'cache-control': 'public, max-age=31536000, immutable', etag };
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))) {
    res.writeHead(304, base).end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const range = ifRange !== undefined && ifRange !== etag ? 'full' : parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    return sendError(res, 416, 'range-not-satisfiable', `the content has ${size} bytes`, { ...base, 'content-range': `bytes */${size}` });
  }
  const { start, end } = range === 'full' ? { start: 0, end: size - 1 } : range;
  const headers = { ...base, 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1) };
  if (range === 'full') res.writeHead(200, headers);
  else res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}` });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  entry.readers++;
  try {
    await streamEntry(deps, res, entry, start, end);
  } catch (e) {
    // Mid-response: the only honest thing left is to break the connection (never a clean end).
    if (!res.writableEnded || !res.writableFinished) res.destroy(e as Error);
  } finally {
    entry.readers--;
  }
}

const entryIds = new WeakMap<CacheEntry, number>();
let nextEntryId = 0;
const idOf = (entry: CacheEntry): number => {
  let id = entryIds.get(entry);
  if (id === undefined) entryIds.set(entry, (id = nextEntryId++));
  return id;
};

/**
 * Serves `start..end` of an entry, complete or still being fetched (waiting, on events, for bytes
 * not yet fetched). Whole CHUNK-aligned chunks come from the shared pool, each served once the
 * transfer has all of it; only a range ending inside a chunk still being fetched is read for this
 * response alone.
 */
async function streamEntry(deps: ContentDeps, res: ServerResponse, entry: CacheEntry, start: number, end: number): Promise<void> {
  const generation = entry.generation;
  let file: FileHandle | undefined;
  let pos = start;
  const gone = new Promise<never>((_, reject) => res.once('close', () => reject(new Error('client went away'))));
  gone.catch(() => undefined);
  const readInto = async (chunk: Buffer, at: number): Promise<void> => {
    file ??= await openEntry(entry);
    const { bytesRead } = await file.read(chunk, 0, chunk.length, at);
    if (bytesRead !== chunk.length || entry.generation !== generation) throw new Error(`the partial file changed under the reader at byte ${at}`);
  };
  try {
    while (pos <= end) {
      const index = Math.floor(pos / CHUNK);
      const chunkStart = index * CHUNK;
      const chunkEnd = Math.min(chunkStart + CHUNK, entry.size);
      // Wait for the whole of this response's part of the chunk: hosts keeping up with the
      // transfer then read the shared chunk once, not each its own copy of every slice the
      // transfer appended (a chunk's wait is a fraction of a second at upstream speed).
      const need = Math.min(end + 1, chunkEnd);
      if (entry.readableEnd() < need) await Promise.race([entry.readable(need - 1), gone]);
      if (entry.generation !== generation) throw new Error('the upstream transfer restarted from byte 0');
      let piece: Buffer;
      let release = (): void => undefined;
      if (entry.readableEnd() >= chunkEnd) {
        const whole = await deps.chunks.get(`${idOf(entry)}:${generation}:${index}`, chunkEnd - chunkStart, (into) => readInto(into, chunkStart));
        piece = whole.bytes.subarray(pos - chunkStart, need - chunkStart);
        release = whole.release;
      } else {
        // A range ending inside a chunk the transfer has not finished: read for this response alone.
        piece = Buffer.allocUnsafe(need - pos);
        await readInto(piece, pos);
      }
      pos += piece.length;
      deps.metrics.bytesServed.inc(piece.length);
      // The chunk's memory is reused once the socket took the bytes (the callback), not before.
      if (!res.write(piece, release)) await Promise.race([new Promise((r) => res.once('drain', r)), gone]);
    }
    await new Promise<void>((resolve) => res.end(resolve));
  } finally {
    await (file as FileHandle | undefined)?.close();
  }
}

/** Opens the partial file, or the final one if the transfer finished (and renamed it) meanwhile. */
async function openEntry(entry: CacheEntry): Promise<FileHandle> {
  try {
    return await open(entry.readPath(), 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return open(entry.path, 'r');
  }
}
