/**
 * Replicas without a shared disk (issue 14): each replica has its own content directory, and one
 * that lacks an artifact fetches it from a peer replica before answering — a host asking a
 * follower for content the leader ingested, or the leader checking content pushed to a follower.
 * The bytes are verified (sha256 and the size the peer announced) while they are stored, as any
 * upload is; nothing unverified is kept. Peers are the replicas that recorded their URL in the
 * shared database lately (controller.ts); they are asked with the admin token all replicas share
 * and the `x-ferry-peer` header, so a peer answers from its own disk and never asks further.
 */
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { Logger } from 'pino';
import type { ByteRange, ContentInfo, ContentStore, PutResult } from './content-store.js';

/** Marks a replica's fetch from a peer: the peer answers from its own content, never from its peers. */
export const PEER_HEADER = 'x-ferry-peer';

export interface PeerContentOptions {
  readonly local: ContentStore;
  /** Base URLs of the other replicas, best first. */
  readonly peers: () => Promise<readonly string[]>;
  /** The admin token every replica shares. */
  readonly adminToken: string;
  readonly logger: Logger;
  /** How long a peer may take to start answering, ms; default 10 s. */
  readonly answerTimeoutMs?: number;
}

export class PeerContentStore implements ContentStore {
  /** Fetches under way by sha256: many hosts asking at once cause one. */
  private readonly fetching = new Map<string, Promise<boolean>>();
  readonly local: ContentStore;

  constructor(private readonly options: PeerContentOptions) {
    this.local = options.local;
  }

  put(source: Parameters<ContentStore['put']>[0], expectedSha256: string, options?: { readonly expectedSize?: number }): Promise<PutResult> {
    return this.local.put(source, expectedSha256, options);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.local.has(sha256)) || (await this.fetch(sha256));
  }

  async stat(sha256: string): Promise<ContentInfo | undefined> {
    return (await this.local.stat(sha256)) ?? ((await this.fetch(sha256)) ? this.local.stat(sha256) : undefined);
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable | undefined> {
    return (await this.local.open(sha256, range)) ?? ((await this.fetch(sha256)) ? this.local.open(sha256, range) : undefined);
  }

  path(sha256: string): string {
    return this.local.path(sha256);
  }

  /** Fetches `sha256` from the first peer that has it and stores it; false when none had it (or every copy failed verification). */
  fetch(sha256: string): Promise<boolean> {
    let f = this.fetching.get(sha256);
    if (!f) {
      f = this.fromPeers(sha256).finally(() => this.fetching.delete(sha256));
      this.fetching.set(sha256, f);
    }
    return f;
  }

  private async fromPeers(sha256: string): Promise<boolean> {
    const { logger } = this.options;
    const peers = await this.options.peers().catch((err: unknown) => {
      logger.warn({ err }, 'content: cannot list the peer replicas');
      return [] as const;
    });
    for (const peer of peers) {
      try {
        const put = await this.fromPeer(peer, sha256);
        if (put === undefined) continue;
        if (put.ok) {
          logger.info({ sha256, size: put.size, peer }, 'content: fetched from a peer replica');
          return true;
        }
        logger.warn({ sha256, peer, error: put.error, size: put.size }, 'content: a peer replica sent bytes that do not match; nothing stored');
      } catch (err) {
        logger.warn({ err, sha256, peer }, 'content: cannot fetch from a peer replica');
      }
    }
    return false;
  }

  /** The peer's copy stored, or undefined when the peer does not have it. */
  private async fromPeer(peer: string, sha256: string): Promise<PutResult | undefined> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.answerTimeoutMs ?? 10_000);
    let res: Response;
    try {
      res = await fetch(`${peer.replace(/\/+$/, '')}/v1/content/${sha256}`, {
        headers: { authorization: `Bearer ${this.options.adminToken}`, [PEER_HEADER]: '1' },
        signal: abort.signal,
      });
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const length = res.headers.get('content-length');
    if (res.status !== 200 || !res.body || length === null || !/^\d{1,16}$/.test(length)) {
      await res.body?.cancel();
      throw new Error(`GET /v1/content/${sha256}: ${res.status}${length === null ? ' without Content-Length' : ''}`);
    }
    return this.local.put(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), sha256, { expectedSize: Number(length) });
  }
}
