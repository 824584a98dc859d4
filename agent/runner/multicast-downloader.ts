/**
 * The multicast-first Downloader (docs/multicast.md): for a `distribute.multicast` action whose
 * sources announce a multicast session, join the group, ask the source to send
 * (`POST URL/v1/multicast/{sha256}/join`), write the blocks into `DATA/content/SHA.tar.gz.mpart`,
 * say when no more rounds are needed, repair the gaps with HTTP Range from the plan's sources and
 * verify the sha256. Whatever goes wrong — no session, a refused join, a silent sender, a file
 * that fails its hash — the ordinary unicast download (`unicast`) takes over.
 */
import { rm } from 'node:fs/promises';
import type { Clock } from '../../lib/clock.js';
import { receiveSession, mapPath } from '../../lib/multicast/receiver.js';
import { repairAndVerify } from '../../lib/multicast/repair.js';
import type { SessionSpec } from '../../lib/multicast/session.js';
import type { ContentSource } from '../../core/plan/types.js';
import type { EventSink } from '../log/events.js';
import { baseUrl, contentSources } from './content-downloader.js';
import type { Artifact, ContentState, DownloadOutcome, DownloadRequest, Downloader } from './downloader.js';
import { contentPath } from './layout.js';
import { markVerified } from './transfer.js';

export interface MulticastOptions {
  /** `--multicast-interface`: the local address whose interface joins groups. */
  readonly interface?: string;
  /** Test aid (`--multicast-test-drop-rate`): drop this share of data datagrams on arrival. */
  readonly dropRate?: number;
  /** How long to wait for the first block after joining (default 60 s: the sender may still be fetching the artifact). */
  readonly firstWaitMs?: number;
  /** A sender silent this long has ended (default 5 s). */
  readonly idleMs?: number;
}

export interface MulticastDownloaderOptions extends MulticastOptions {
  readonly unicast: Downloader;
  readonly dataDir: string;
  readonly server: string;
  readonly credential: string;
  readonly events: EventSink;
  readonly clock: Clock;
}

type Attempt =
  | { readonly kind: 'verified'; readonly source: string; readonly bytesRepaired: number }
  | { readonly kind: 'paused' }
  | { readonly kind: 'fallback'; readonly why: string };

export class MulticastDownloader implements Downloader {
  constructor(private readonly o: MulticastDownloaderOptions) {}

  kept(artifact: Artifact): Promise<{ readonly content: ContentState; readonly partialBytes: number }> {
    return this.o.unicast.kept(artifact);
  }

  verify(artifact: Artifact): Promise<'verified' | 'corrupt' | 'missing'> {
    return this.o.unicast.verify(artifact);
  }

  async download(r: DownloadRequest): Promise<DownloadOutcome> {
    const source = r.multicast ? r.sources.find((s) => s.multicast !== undefined) : undefined;
    // A unicast download under way is resumed as it is.
    if (source === undefined || (await this.o.unicast.kept(r.artifact)).partialBytes > 0) return this.o.unicast.download(r);
    const got = await this.receive(r, source);
    if (got.kind === 'verified') return { kind: 'verified', source: got.source, bytesFetched: got.bytesRepaired, problems: [] };
    if (got.kind === 'paused') return { kind: 'paused', bytesDone: 0, problems: [] };
    this.o.events.emit({
      event: 'multicast-fallback',
      level: 'warn',
      sha256: r.artifact.sha256,
      message: `multicast from ${source.name} did not deliver: ${got.why}; downloading by unicast`,
    });
    return this.o.unicast.download(r);
  }

  private async receive(r: DownloadRequest, source: ContentSource): Promise<Attempt> {
    const { clock, events } = this.o;
    const a = r.artifact;
    const sha = a.sha256.toLowerCase();
    const dest = contentPath(this.o.dataDir, a);
    const partPath = `${dest}.mpart`;
    const m = source.multicast!;
    const session: SessionSpec = { group: m.group, port: m.port, sha256: sha, size: a.size, blockSize: m.blockSize, ...(a.chunks ? { chunks: a.chunks } : {}) };
    const base = `${baseUrl(source, this.o.server)}/v1/multicast/${sha}`;
    const headers = { authorization: `Bearer ${this.o.credential}`, 'content-type': 'application/json' };
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    r.signal?.addEventListener('abort', onAbort, { once: true });
    let refused: string | undefined;
    try {
      const received = await receiveSession({
        session,
        ...(this.o.interface ? { interface: this.o.interface } : {}),
        partPath,
        idleMs: this.o.idleMs ?? 5000,
        firstWaitMs: this.o.firstWaitMs ?? 60_000,
        // Joined the group first, so no block sent after the sender hears of us is missed.
        onJoined: () => {
          const body = JSON.stringify({
            size: a.size,
            group: m.group,
            port: m.port,
            blockSize: m.blockSize,
            ...(m.ttl ? { ttl: m.ttl } : {}),
            ...(m.rate ? { rate: m.rate } : {}),
          });
          fetch(`${base}/join`, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) })
            .then(async (res) => {
              if (res.ok) {
                events.emit({
                  event: 'multicast-joined',
                  sha256: sha,
                  source: source.name,
                  ...((await res.json()) as object),
                  message: `joined the multicast session of ${source.name}`,
                });
                return;
              }
              refused = `${source.name} refused the join: HTTP ${res.status} ${await res.text()}`;
              stop.abort();
            })
            .catch((e: Error) => {
              refused = `${source.name} could not be asked to send: ${e.message}`;
              stop.abort();
            });
        },
        onProgress: (held) => r.onProgress(Math.min(held * m.blockSize, a.size), a.size),
        ...(this.o.dropRate !== undefined ? { dropRate: this.o.dropRate } : {}),
        clock,
        signal: stop.signal,
      });
      if (r.signal?.aborted) return { kind: 'paused' };
      // Needs no more rounds: repairing from here.
      void fetch(`${base}/done`, { method: 'POST', headers, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
      events.emit({
        event: 'multicast-received',
        sha256: sha,
        reason: received.reason,
        blocks: received.gaps.count,
        of: received.gaps.blocks,
        dropped: received.dropped,
        message: `multicast: ${received.gaps.count} of ${received.gaps.blocks} blocks (${received.reason}); repairing ${received.gaps.missingBytes()} bytes`,
      });
      if (refused !== undefined) return await this.discard(partPath, refused);
      const repaired = await repairAndVerify({ session, partPath, dest, sources: contentSources(r.sources, sha, this.o), clock, ...(r.signal ? { signal: r.signal } : {}) });
      if (r.signal?.aborted) return { kind: 'paused' };
      if (repaired.kind === 'verified') {
        await markVerified(dest);
        events.emit({
          event: 'multicast-repaired',
          sha256: sha,
          bytesRepaired: repaired.bytesRepaired,
          chunksDropped: repaired.chunksDropped,
          message: `multicast download verified after repairing ${repaired.bytesRepaired} bytes`,
        });
        return { kind: 'verified', source: `${source.name} (multicast)`, bytesRepaired: repaired.bytesRepaired };
      }
      return await this.discard(partPath, repaired.kind === 'corrupt' ? 'the received file failed its sha256 check' : repaired.message);
    } catch (e) {
      return await this.discard(partPath, (e as Error).message);
    } finally {
      r.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async discard(partPath: string, why: string): Promise<Attempt> {
    await rm(partPath, { force: true });
    await rm(mapPath(partPath), { force: true });
    return { kind: 'fallback', why };
  }
}
