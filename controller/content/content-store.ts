/**
 * Content-addressed storage of artifacts (DESIGN §6): a blob is stored under its sha256 and never
 * changes, so it may be served with immutable cache headers and from any cache.
 */
import type { Readable } from 'node:stream';

/** What `put` stored. `existed`: the content was already there (the upload was verified and dropped). */
export interface StoredContent {
  readonly ok: true;
  readonly sha256: string;
  readonly size: number;
  readonly existed: boolean;
}

/** The bytes did not match what the caller promised; nothing was stored. */
export interface ContentMismatch {
  readonly ok: false;
  readonly error: 'sha256-mismatch' | 'size-mismatch';
  readonly expectedSha256: string;
  /** sha256 of the bytes received (absent when the upload stopped early at `expectedSize`). */
  readonly actualSha256?: string;
  readonly expectedSize?: number;
  /** Bytes received (at least `expectedSize + 1` when it stopped early). */
  readonly size: number;
}

export type PutResult = StoredContent | ContentMismatch;

export interface ContentInfo {
  readonly sha256: string;
  readonly size: number;
  /** When it was stored (content never changes after): HTTP's `Last-Modified`. */
  readonly storedAt: Date;
}

/** A byte range, both ends inclusive as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start?: number;
  readonly end?: number;
}

export interface ContentStore {
  /**
   * Streams `source` into the store, hashing as it writes. The content becomes visible (atomically,
   * by rename, after fsync) only if its sha256 equals `expectedSha256` (and its size `expectedSize`
   * when given); otherwise nothing is left behind and the mismatch is returned.
   * A failing source stream rejects, also leaving nothing behind.
   */
  put(source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expectedSha256: string, options?: { readonly expectedSize?: number }): Promise<PutResult>;
  has(sha256: string): Promise<boolean>;
  /** Size of stored content, or undefined when absent. */
  stat(sha256: string): Promise<ContentInfo | undefined>;
  /** A read stream of the content (or of one range of it), or undefined when absent. Throws RangeError for a range outside it. */
  open(sha256: string, range?: ByteRange): Promise<Readable | undefined>;
  /** Where the content is (or would be) stored: `ROOT/ab/abcdef…`. */
  path(sha256: string): string;
}

/** A digest that is not 64 lowercase hex characters: refused before it touches a path. */
export class InvalidSha256Error extends TypeError {
  override readonly name = 'InvalidSha256Error';
  constructor(readonly value: string) {
    super(`not a sha256 digest (64 lowercase hex characters): ${JSON.stringify(value.slice(0, 80))}`);
  }
}

const digest = /^[0-9a-f]{64}$/;

/** True for 64 lowercase hex characters. */
export function isSha256(value: string): boolean {
  return digest.test(value);
}

/** Returns `value` when it is a sha256 digest; throws InvalidSha256Error otherwise. */
export function checkSha256(value: string): string {
  if (typeof value !== 'string' || !digest.test(value)) throw new InvalidSha256Error(String(value));
  return value;
}
