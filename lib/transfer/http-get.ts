/**
 * One GET of (a range of) a content URL, read from the socket straight into large reusable
 * buffers. Node's http client hands a body over in 64 KiB pieces, each a fresh Buffer passed
 * through its stream machinery; at 1 GB/s that costs about as much CPU as sha256 itself
 * (`npm run bench -- download`). Here the socket reads into 1 MiB slabs (`onread`),
 * http-parser-js frames the response, and the body reaches the sink as views of those slabs:
 * no copy and no allocation per piece. One request per connection (`Connection: close`):
 * segments are paced by seconds and retries reconnect anyway. Redirects are followed (at most
 * five; Range kept, credentials dropped when the origin changes), and proxies from the
 * environment are used (proxy.ts); a direct connection pays nothing for either.
 */
import net from 'node:net';
import tls from 'node:tls';
import { HTTPParser } from 'http-parser-js';
import { parseRetryAfter } from '../backoff.js';
import { abortError, TransferError } from './errors.js';
import { openTunnel, proxyFor, viaProxy, type HttpProxy, type ProxySettings } from './proxy.js';
import { ReadBuffers } from './read-buffers.js';
import { isRetryableStatus } from './retry-policy.js';

/** Body bytes gathered before they are handed on, and the longest they wait. */
const FLUSH_BYTES = 1 << 20;
const FLUSH_MS = 20;

/** Redirects followed for one request; one more is a failure (curl and browsers allow more, a content URL needs few). */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Request headers that carry credentials: not sent on to another origin after a redirect. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export interface GetOptions {
  /** `bytes=N-` or `bytes=N-M`; absent: the whole content. */
  readonly range?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Socket inactivity limit, connecting included (not counted while the disk holds the reader back). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly now: () => number;
  /** Proxies from the environment (proxy.ts); absent: every request goes direct. */
  readonly proxy?: ProxySettings;
}

/** The status and headers of a 200 or 206 response. */
export interface ResponseHead {
  readonly statusCode: number;
  /** The first value of a header; `name` in lower case. */
  header(name: string): string | undefined;
}

/** Where a body goes. */
export interface BodySink {
  /** The next body bytes, as views that stay valid until the promise settles; rejecting stops the transfer. */
  append(chunks: Buffer[]): Promise<void>;
}

/**
 * GETs `url`, following redirects; for a 200 or 206, `accept` sees the head and returns the body's
 * sink, or throws to refuse it. Resolves once the whole body is in the sink. Anything else rejects
 * with a TransferError — another status (retryable per retry-policy, with Retry-After), a network
 * error, a connection that ends early, a redirect loop or more than MAX_REDIRECTS redirects (not
 * retryable) — or with what `accept` or the sink threw; always only after every append already
 * made has settled, so the bytes that arrived before a failure are kept.
 */
export async function fetchContent(url: string, options: GetOptions, accept: (head: ResponseHead) => BodySink): Promise<void> {
  let target = httpUrl(url, '');
  let headers = options.headers ?? {};
  const visited = [target.href];
  for (;;) {
    const proxy = options.proxy && proxyFor(target, options.proxy);
    const tunnelled = proxy !== undefined && target.protocol === 'https:';
    const request = requestText(target, headers, options.range, tunnelled ? undefined : proxy);
    const tunnel = tunnelled ? await openTunnel(proxy, target, options.timeoutMs, options.signal) : undefined;
    try {
      return await getOnce(target, request, proxy, tunnel, options, accept);
    } catch (e) {
      if (!(e instanceof Redirect)) throw e;
      const next = httpUrl(e.location, `HTTP ${e.status} from ${target.href} to ${e.location}: `, target);
      if (visited.includes(next.href)) {
        throw new TransferError(`redirect loop: ${[...visited, next.href].join(' -> ')}`, false, { status: e.status });
      }
      if (visited.length > MAX_REDIRECTS) {
        throw new TransferError(`more than ${MAX_REDIRECTS} redirects, from ${visited[0]} to ${next.href}`, false, { status: e.status });
      }
      if (next.origin !== target.origin) headers = withoutCredentials(headers);
      visited.push(next.href);
      target = next;
    }
  }
}

/** A 3xx answer with a Location to follow: how getOnce hands a redirect back to fetchContent. */
class Redirect {
  constructor(
    readonly status: number,
    readonly location: string,
  ) {}
}

/** `text` (relative to `base` when given) as an http(s) URL; else a non-retryable TransferError, its message after `context`. */
function httpUrl(text: string, context: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new TransferError(`${context}invalid URL ${text}`, false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TransferError(`${context}unsupported protocol ${url.protocol}`, false);
  url.hash = '';
  return url;
}

function withoutCredentials(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase())));
}

/**
 * Sends `request` for `target`: directly, to `proxy` (http://, the request in absolute form), or
 * over `tunnel`, a CONNECT tunnel through it (https://). Rejects with a Redirect for a 3xx to follow.
 */
function getOnce(
  target: URL,
  request: string,
  proxy: HttpProxy | undefined,
  tunnel: net.Socket | undefined,
  options: GetOptions,
  accept: (head: ResponseHead) => BodySink,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      tunnel?.destroy();
      return reject(abortError(options.signal));
    }

    const buffers = new ReadBuffers();
    const parser = new HTTPParser(HTTPParser.RESPONSE);
    let sink: BodySink | undefined;
    let body: Buffer[] = [];
    let complete = false;
    let failure: unknown;
    let pending = 0;
    let paused = false;
    let settled = false;
    /** Body bytes read but not yet handed to the sink, and the slabs they hold. */
    let unsent: { chunks: Buffer[]; slabs: Buffer[]; bytes: number } = { chunks: [], slabs: [], bytes: 0 };
    let flushTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      if (settled || pending > 0 || (!complete && failure === undefined)) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) reject(failure);
      else resolve();
    };
    const fail = (error: unknown) => {
      failure ??= error;
      flush(); // what arrived before the failure is kept
      socket.destroy();
      finish();
    };
    const onAbort = () => fail(abortError(options.signal!));
    /** Hands the unsent bytes to the sink as one append: per append there is a hash message and a write. */
    const flush = () => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      if (unsent.bytes === 0) return;
      const { chunks, slabs } = unsent;
      unsent = { chunks: [], slabs: [], bytes: 0 };
      pending++;
      const done = () => {
        pending--;
        for (const slab of slabs) buffers.release(slab);
      };
      sink!.append(coalesce(chunks)).then(
        () => {
          done();
          if (paused && !buffers.full && failure === undefined) {
            paused = false;
            socket.setTimeout(options.timeoutMs);
            socket.resume();
          }
          finish();
        },
        (e: unknown) => {
          done();
          fail(e);
        },
      );
    };

    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const headers = new Map<string, string>();
      for (let i = 0; i < info.headers.length; i += 2) {
        const name = info.headers[i]!.toLowerCase();
        if (!headers.has(name)) headers.set(name, info.headers[i + 1]!);
      }
      const status = info.statusCode;
      if (REDIRECT_STATUSES.has(status)) {
        const location = headers.get('location');
        if (location === undefined) throw new TransferError(`HTTP ${status} from ${target.href} without a Location`, false, { status });
        throw new Redirect(status, location);
      }
      if (status !== 200 && status !== 206) {
        const retryAfterMs = parseRetryAfter(headers.get('retry-after'), options.now());
        throw new TransferError(`HTTP ${status} ${info.statusMessage ?? ''}`.trim(), isRetryableStatus(status), {
          status,
          retryAfterMs,
          discardPartial: status === 416,
        });
      }
      sink = accept({ statusCode: status, header: (name) => headers.get(name) });
    };
    parser[HTTPParser.kOnBody] = (chunk) => void (complete || body.push(chunk));
    parser[HTTPParser.kOnMessageComplete] = () => void (complete = true);

    const onRead = (n: number): boolean => {
      const { slab, bytes } = buffers.filled(n);
      try {
        const parsed = parser.execute(bytes);
        // Once the message is complete the parser's verdict on what follows does not matter (its
        // header-size count even includes the body just parsed).
        if (parsed instanceof Error && !complete) throw new TransferError(`invalid HTTP response from ${target.host}: ${parsed.message}`, false);
      } catch (e) {
        fail(e);
        return false;
      }
      if (body.length > 0) {
        buffers.hold(slab);
        unsent.slabs.push(slab);
        for (const c of body) {
          unsent.chunks.push(c);
          unsent.bytes += c.length;
        }
        body = [];
        // Large appends on a fast link; on a slow one, bytes wait at most FLUSH_MS.
        if (unsent.bytes >= FLUSH_BYTES) flush();
        else flushTimer ??= setTimeout(flush, FLUSH_MS);
      }
      if (complete) {
        flush();
        socket.destroy();
        finish();
        return false;
      }
      if (buffers.full) {
        // The disk is behind: stop reading (the kernel's window holds the sender) until a write lands.
        flush();
        paused = true;
        socket.setTimeout(0);
        return false;
      }
      return true;
    };

    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const onread = { buffer: () => buffers.next(), callback: onRead };
    let socket: net.Socket;
    if (tunnel) {
      // TLS over a tunnel ignores `onread`: its bytes are copied into the read slabs.
      socket = tls.connect({ socket: tunnel, host, ...(net.isIP(host) ? {} : { servername: host }) });
      socket.on('data', (chunk: Buffer) => {
        for (let at = 0; at < chunk.length; ) {
          const n = chunk.copy(buffers.next(), 0, at);
          at += n;
          if (!onRead(n) && (complete || failure !== undefined)) return;
        }
        if (paused) socket.pause();
      });
    } else if (proxy) socket = net.connect({ host: proxy.host, port: proxy.port, onread });
    else if (target.protocol === 'https:') socket = tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), onread } as tls.ConnectionOptions);
    else socket = net.connect({ host, port, onread });
    socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.setTimeout(options.timeoutMs, () => fail(new TransferError(`no data for ${options.timeoutMs} ms`, true)));
    socket.on('error', (e) => fail(proxy && !(e instanceof TransferError) && !tlsFailure(e) ? viaProxy(e, proxy) : asTransferError(e)));
    socket.on('close', () => {
      if (!complete && failure === undefined) {
        // A body that runs to the end of the connection (no Content-Length) ends here.
        if (sink !== undefined && parser.finish() === undefined && complete) {
          flush();
          return finish();
        }
        fail(new TransferError('connection closed before the response was complete', true));
      }
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Adjacent views of one buffer (consecutive reads into a slab) as one view. */
function coalesce(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    const last = out.at(-1);
    if (last !== undefined && last.buffer === c.buffer && last.byteOffset + last.length === c.byteOffset) {
      out[out.length - 1] = Buffer.from(c.buffer, last.byteOffset, last.length + c.length);
    } else out.push(c);
  }
  return out;
}

/**
 * The request, refusing header names and values that would break out of their line; in absolute
 * form, with the proxy's credentials, when it goes to an http:// proxy.
 */
function requestText(target: URL, extra: Readonly<Record<string, string>>, range: string | undefined, proxy: HttpProxy | undefined): string {
  const headers: [string, string][] = [
    ['Host', target.host],
    ['Accept-Encoding', 'identity'],
    ['Connection', 'close'],
    ...(range ? [['Range', range] as [string, string]] : []),
    ...(proxy?.authorization ? [['Proxy-Authorization', proxy.authorization] as [string, string]] : []),
    ...Object.entries(extra),
  ];
  const path = `${target.pathname}${target.search}`;
  let text = `GET ${proxy ? `${target.protocol}//${target.host}${path}` : path} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) {
      throw new TransferError(`invalid request header ${JSON.stringify(name)}`, false);
    }
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * Network-level failures are retryable, except a certificate the host does not trust (that takes
 * an admin, not time); a TransferError keeps its own verdict.
 */
export function asTransferError(error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ? `${e.code}: ` : '';
  const certificate = tlsFailure(e);
  return new TransferError(`${certificate ? 'TLS' : 'network'} error: ${code}${e?.message ?? String(error)}`, !certificate);
}

function tlsFailure(e: NodeJS.ErrnoException | undefined): boolean {
  return /CERT|SIGNATURE|SELF_SIGNED/.test(e?.code ?? '');
}
