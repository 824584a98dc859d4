/**
 * Proxies from the environment, read the way curl reads them: `http_proxy` for http:// URLs,
 * `https_proxy` for https:// URLs (each lower case first, then upper case; `HTTP_PROXY` is read
 * too, which curl refuses only to guard CGI scripts), and `no_proxy`/`NO_PROXY` for the hosts
 * that are reached directly. Only http:// proxies are spoken to: an http:// URL goes to the proxy
 * as an absolute-form request, an https:// URL through a CONNECT tunnel, so TLS stays end to end.
 */
import net from 'node:net';
import { abortError, TransferError } from './errors.js';
import { isRetryableStatus } from './retry-policy.js';

/** The environment the proxy variables are read from. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** An http:// proxy server. */
export interface HttpProxy {
  readonly host: string;
  readonly port: number;
  /** `Proxy-Authorization` value when the proxy URL holds a user name. */
  readonly authorization?: string;
  /** How messages name it: the variable and the proxy without credentials, e.g. `HTTPS_PROXY=http://proxy:3128`. */
  readonly label: string;
}

/** What the environment says; `undefined` from `proxySettings` when it names no proxy at all. */
export interface ProxySettings {
  readonly http?: HttpProxy | { readonly error: string };
  readonly https?: HttpProxy | { readonly error: string };
  readonly noProxy: NoProxy;
}

/** A parsed NO_PROXY list. */
export interface NoProxy {
  /** `*`: no host uses a proxy. */
  readonly all: boolean;
  readonly entries: readonly NoProxyEntry[];
}

type NoProxyEntry =
  | { readonly kind: 'host'; readonly name: string; readonly port?: number }
  | { readonly kind: 'ip'; readonly family: 'ipv4' | 'ipv6'; readonly block: net.BlockList; readonly port?: number };

/** Reads the proxy variables once; undefined when neither http nor https has a proxy (every request goes direct). */
export function proxySettings(env: ProxyEnv): ProxySettings | undefined {
  const http = variable(env, 'http_proxy');
  const https = variable(env, 'https_proxy');
  if (http === undefined && https === undefined) return undefined;
  const noProxy = variable(env, 'no_proxy');
  return {
    ...(http ? { http: parseProxy(http.name, http.value) } : {}),
    ...(https ? { https: parseProxy(https.name, https.value) } : {}),
    noProxy: parseNoProxy(noProxy?.value ?? ''),
  };
}

/**
 * The proxy for `target`, or undefined to connect directly (no proxy for its scheme, or NO_PROXY
 * names its host). Throws a non-retryable TransferError when the variable that applies is unusable.
 */
export function proxyFor(target: URL, settings: ProxySettings): HttpProxy | undefined {
  const proxy = target.protocol === 'https:' ? settings.https : settings.http;
  if (proxy === undefined) return undefined;
  if (bypasses(settings.noProxy, target)) return undefined;
  if ('error' in proxy) throw new TransferError(proxy.error, false);
  return proxy;
}

/** The lower-case variable if it is set (even empty), else the upper-case one; undefined when empty or unset. */
function variable(env: ProxyEnv, lower: string): { name: string; value: string } | undefined {
  const name = env[lower] !== undefined ? lower : lower.toUpperCase();
  const value = env[name]?.trim();
  return value ? { name, value } : undefined;
}

function parseProxy(name: string, value: string): HttpProxy | { error: string } {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    // The value is not repeated: it may hold a password.
    return { error: `${name} is not a proxy URL (expected http://HOST:PORT)` };
  }
  if (url.protocol !== 'http:') return { error: `${name}: ${url.protocol}// proxies are not supported; use an http:// proxy` };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port) || 80,
    ...(user || password ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {}),
    label: `${name}=http://${url.host}`,
  };
}

/**
 * Parses NO_PROXY as curl does: entries separated by commas or blanks; `*` alone turns proxies
 * off; a name matches itself and its subdomains (a leading `.` or `*.` and trailing dots are
 * ignored, case is ignored); an IP address or CIDR block (`10.0.0.0/8`, `::1`, `[::1]`) matches
 * hosts given as IP addresses. Beyond curl, an entry may end in `:PORT`, then it matches that
 * port only (curl never matches such an entry); without one it matches every port, as in curl.
 */
export function parseNoProxy(value: string): NoProxy {
  const tokens = value.split(/[\s,]+/).filter((t) => t !== '');
  if (value.trim() === '*') return { all: true, entries: [] };
  const entries: NoProxyEntry[] = [];
  for (const token of tokens) {
    const entry = parseEntry(token);
    if (entry) entries.push(entry);
  }
  return { all: false, entries };
}

function parseEntry(token: string): NoProxyEntry | undefined {
  let address = token;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(token);
  const hostPort = /^([^:]+):(\d+)$/.exec(token);
  if (bracketed) {
    address = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (hostPort) {
    address = hostPort[1]!;
    port = Number(hostPort[2]);
  }
  const withPort = port === undefined ? {} : { port };
  const [ip, bits] = address.split('/') as [string, string | undefined];
  const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
  if (family) {
    const block = new net.BlockList();
    const prefix = bits === undefined ? undefined : Number(bits);
    if (prefix === undefined) block.addAddress(ip, family);
    else if (Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 'ipv4' ? 32 : 128)) block.addSubnet(ip, prefix, family);
    else return undefined;
    return { kind: 'ip', family, block, ...withPort };
  }
  const name = address
    .toLowerCase()
    .replace(/^\*?\./, '')
    .replace(/\.+$/, '');
  return name === '' ? undefined : { kind: 'host', name, ...withPort };
}

/** True when NO_PROXY says `target` is reached directly. */
export function bypasses(noProxy: NoProxy, target: URL): boolean {
  if (noProxy.all) return true;
  const host = target.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.+$/, '');
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const family = net.isIPv4(host) ? 'ipv4' : net.isIPv6(host) ? 'ipv6' : undefined;
  return noProxy.entries.some((e) => {
    if (e.port !== undefined && e.port !== port) return false;
    if (e.kind === 'ip') return e.family === family && e.block.check(host, family);
    return family === undefined && (host === e.name || host.endsWith(`.${e.name}`));
  });
}

/**
 * Opens a tunnel to `target` through `proxy` with CONNECT; resolves with the raw socket once the
 * proxy answered 200, ready for TLS. A refusal is a TransferError: retryable for the statuses a
 * retry can cure (a 502/503 from the proxy), not for others (407: the proxy wants credentials).
 */
export function openTunnel(proxy: HttpProxy, target: URL, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  const authority = `${target.hostname}:${Number(target.port) || 443}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    let head = Buffer.alloc(0);
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.setTimeout(0);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      // The 'error' listener stays (a no-op once settled): the TLS socket built on this one reports its failures.
      if (error === undefined) return resolve(socket);
      socket.destroy();
      reject(error instanceof TransferError || signal?.aborted ? error : viaProxy(error, proxy));
    };
    const onAbort = () => settle(abortError(signal!));
    const onClose = () => settle(new TransferError(`proxy ${proxy.label} closed the connection before answering CONNECT ${authority}`, true));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 64 * 1024) settle(new TransferError(`proxy ${proxy.label} sent an oversized answer to CONNECT`, false));
        return;
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, end))?.[1] ?? NaN);
      if (status < 200 || status > 299 || Number.isNaN(status)) {
        const line = head.toString('latin1', 0, head.indexOf('\r\n'));
        return settle(
          new TransferError(`proxy ${proxy.label} refused CONNECT ${authority}: ${line}`, !Number.isNaN(status) && isRetryableStatus(status), {
            ...(Number.isNaN(status) ? {} : { status }),
          }),
        );
      }
      // The server speaks only after the TLS handshake began: bytes already here are the proxy's mistake.
      if (head.length > end + 4) return settle(new TransferError(`proxy ${proxy.label} sent data after its answer to CONNECT`, false));
      socket.pause();
      settle();
    };
    if (signal?.aborted) return settle(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => settle(new TransferError(`no answer from proxy ${proxy.label} for ${timeoutMs} ms`, true)));
    socket.on('error', settle);
    socket.on('close', onClose);
    socket.on('data', onData);
    socket.once('connect', () =>
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : ''}\r\n`),
    );
  });
}

/** A network error on the way to or through a proxy, naming the proxy. */
export function viaProxy(error: unknown, proxy: HttpProxy): TransferError {
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ? `${e.code}: ` : '';
  return new TransferError(`network error via proxy ${proxy.label}: ${code}${e?.message ?? String(error)}`, true);
}
