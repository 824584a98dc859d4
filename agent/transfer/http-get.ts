/** One GET of (a range of) a content URL with node:http, failures turned into TransferErrors. */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { TransferError } from './errors.js';
import { isRetryableStatus, parseRetryAfter } from './retry-policy.js';

export interface GetOptions {
  /** `bytes=N-` or `bytes=N-M`; absent: the whole content. */
  readonly range?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Socket inactivity limit, connecting included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly agents: { readonly http: http.Agent; readonly https: https.Agent };
  readonly now: () => number;
}

/** Resolves with a 200 or 206 response whose body is still to be read; anything else rejects with a TransferError. */
export function getContent(url: string, options: GetOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return reject(new TransferError(`invalid URL ${url}`, false));
    }
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      return reject(new TransferError(`unsupported protocol ${target.protocol}`, false));
    }
    const headers: Record<string, string> = { ...options.headers, 'accept-encoding': 'identity' };
    if (options.range) headers.range = options.range;
    const request = (secure ? https : http).get(target, {
      headers,
      signal: options.signal,
      agent: secure ? options.agents.https : options.agents.http,
    });
    request.setTimeout(options.timeoutMs, () => {
      request.destroy(new TransferError(`no data for ${options.timeoutMs} ms`, true));
    });
    request.on('error', (e) => reject(asTransferError(e)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status === 200 || status === 206) return resolve(response);
      response.resume();
      const retryAfterMs = parseRetryAfter(header(response, 'retry-after'), options.now());
      reject(
        new TransferError(`HTTP ${status} ${response.statusMessage ?? ''}`.trim(), isRetryableStatus(status), {
          status,
          retryAfterMs,
          discardPartial: status === 416,
        }),
      );
    });
  });
}

/** A single header value. */
export function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Network-level failures are retryable; a TransferError keeps its own verdict. */
export function asTransferError(error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ? `${e.code}: ` : '';
  return new TransferError(`network error: ${code}${e?.message ?? String(error)}`, true);
}
