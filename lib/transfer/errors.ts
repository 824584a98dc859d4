/** Why one request to one source failed; `retryable` follows retry-policy.ts. */
export class TransferError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly details: {
      readonly status?: number;
      readonly retryAfterMs?: number;
      /** The partial file cannot be trusted for this content any more: start again from byte 0. */
      readonly discardPartial?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'TransferError';
  }
}

/** Writing the partial file failed (disk full, I/O error): no source can help. */
export class LocalWriteError extends Error {
  constructor(override readonly cause: unknown) {
    super(`cannot write the partial file: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'LocalWriteError';
  }
}

/** What a transfer stopped by `signal` rejects with. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}
