/**
 * The admin commands' HTTP client: where the controller is (`--server`, `FERRY_SERVER`,
 * default http://127.0.0.1:8470) and the admin token (`--token`, `FERRY_TOKEN`, or
 * `./ferry-data/admin.token`). Cannot connect or not authorized → exit 3 with what to do.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { alignColumns } from '../core/plan-diff/columns.js';
import { ExitCode, UserError } from './errors.js';

export const defaultServer = 'http://127.0.0.1:8470';
export const defaultTokenFile = 'ferry-data/admin.token';

/** Options every admin command takes. */
export interface ClientOptions {
  readonly server?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Adds `--server`, `--token` (and `--json` when `reading`) to a command. */
export function addClientOptions(cmd: Command, reading: boolean): Command {
  cmd
    .option('--server <URL>', `controller URL (env FERRY_SERVER, default ${defaultServer})`)
    .option('--token <TOKEN>', `admin token (env FERRY_TOKEN, default: ./${defaultTokenFile})`);
  if (reading) cmd.option('--json', 'print JSON instead of text');
  return cmd;
}

export interface AdminClient {
  readonly server: string;
  /** Sends a request; resolves to the parsed JSON of a 2xx answer, throws UserError otherwise. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Streams `source` (of `size` bytes) as the request body. */
  upload<T>(method: string, path: string, source: Readable, size: number): Promise<T>;
  /** GETs `path` and resolves to the 2xx response to stream (its body not read yet); throws UserError otherwise. */
  stream(path: string): Promise<IncomingMessage>;
}

function resolveToken(opts: ClientOptions): string {
  const given = opts.token ?? process.env['FERRY_TOKEN'];
  if (given !== undefined && given !== '') return given.trim();
  try {
    return readFileSync(defaultTokenFile, 'utf8').trim();
  } catch {
    throw new UserError(
      `no admin token: pass --token, set FERRY_TOKEN, or run from the folder holding ${defaultTokenFile} (the controller writes DATA/admin.token on first start)`,
      ExitCode.unreachable,
    );
  }
}

function resolveServer(opts: ClientOptions): URL {
  const env = process.env['FERRY_SERVER'];
  const raw = opts.server ?? (env !== undefined && env !== '' ? env : defaultServer);
  // Name where the bad value came from: the flag, or the environment variable.
  const from = opts.server !== undefined ? `--server ${raw}` : `FERRY_SERVER=${raw} (environment variable)`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`${from} is not a URL; use e.g. ${defaultServer}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`${from} must be an http:// or https:// URL`);
  return url;
}

interface RawReply {
  readonly status: number;
  readonly text: string;
}

function readReply(res: IncomingMessage): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', reject);
  });
}

function explain(server: string, method: string, path: string, reply: RawReply): UserError {
  let code = '';
  let message = reply.text.slice(0, 500);
  try {
    const parsed = JSON.parse(reply.text) as { error?: { code?: string; message?: string; details?: unknown } };
    if (parsed.error?.message) {
      code = parsed.error.code ?? '';
      message = parsed.error.message;
      const details = parsed.error.details;
      if (Array.isArray(details)) {
        message += details
          .slice(0, 20)
          .map((d: { path?: string; message?: string }) => `\n  ${d.path ?? ''}: ${d.message ?? JSON.stringify(d)}`)
          .join('');
      }
    }
  } catch {
    // not JSON: show the text
  }
  if (reply.status === 401 || reply.status === 403) {
    return new UserError(`${server} refused the admin token (${code || reply.status}): check --token, FERRY_TOKEN or ./${defaultTokenFile}`, ExitCode.unreachable);
  }
  const exit = reply.status === 400 || reply.status === 422 ? ExitCode.usage : reply.status >= 500 ? ExitCode.unreachable : ExitCode.notOk;
  return new UserError(`${method} ${path} failed (${reply.status}${code ? ` ${code}` : ''}): ${message}`, exit);
}

/** Makes a client from the command's options; throws UserError (exit 3) when no token can be found. */
export function adminClient(opts: ClientOptions): AdminClient {
  const base = resolveServer(opts);
  const token = resolveToken(opts);
  const server = base.origin + base.pathname.replace(/\/$/, '');

  const send = (method: string, path: string, headers: Record<string, string>, write: (req: import('node:http').ClientRequest) => void): Promise<RawReply> =>
    new Promise((resolve, reject) => {
      const url = new URL(server + path);
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method, headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...headers } },
        (res) => readReply(res).then(resolve, reject),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'unknown host' : (err.code ?? err.message);
        reject(new UserError(`cannot reach the controller at ${server} (${why}); is \`ferry controller\` running? (--server / FERRY_SERVER)`, ExitCode.unreachable));
      });
      write(req);
    });

  const finish = <T>(method: string, path: string, reply: RawReply): T => {
    if (reply.status < 200 || reply.status >= 300) throw explain(server, method, path, reply);
    if (reply.text === '') return undefined as T;
    try {
      return JSON.parse(reply.text) as T;
    } catch {
      throw new UserError(`${server} answered ${method} ${path} with something that is not JSON; is --server a Ferry controller?`, ExitCode.unreachable);
    }
  };

  return {
    server,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string> = payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {};
      const reply = await send(method, path, headers, (req) => req.end(payload));
      return finish<T>(method, path, reply);
    },
    stream(path: string): Promise<IncomingMessage> {
      return new Promise((resolve, reject) => {
        const url = new URL(server + path);
        const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'GET', headers: { authorization: `Bearer ${token}` } }, (res) => {
          if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) resolve(res);
          else readReply(res).then((reply) => reject(explain(server, 'GET', path, reply)), reject);
        });
        req.on('error', (err: NodeJS.ErrnoException) => {
          reject(
            new UserError(
              `cannot reach the controller at ${server} (${err.code ?? err.message}); is \`ferry controller\` running? (--server / FERRY_SERVER)`,
              ExitCode.unreachable,
            ),
          );
        });
        req.end();
      });
    },
    async upload<T>(method: string, path: string, source: Readable, size: number): Promise<T> {
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
      const reply = await send(method, path, headers, (req) => {
        source.on('error', (err) => req.destroy(err));
        source.pipe(req);
      });
      return finish<T>(method, path, reply);
    },
  };
}

/** Rows (a header and rows of as many cells) as aligned columns, one line each. */
export function table(rows: readonly (readonly string[])[]): string {
  return `${alignColumns(rows).join('\n')}\n`;
}

/** `{installed: 3, failed: 1}` → `installed 3, failed 1`. */
export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  return entries.length === 0 ? '-' : entries.map(([s, n]) => `${s} ${n}`).join(', ');
}

/**
 * The end of an installer's output, indented under its action: at most `lines` lines, so a
 * failure's cause is on screen without `--json` (the controller keeps the last 4 KiB).
 */
export function outputTail(output: string | undefined, lines = 10, indent = '    | '): string[] {
  if (output === undefined || output.trim() === '') return [];
  const all = output.replace(/\s+$/, '').split(/\r?\n/);
  const shown = all.slice(-lines);
  const head = all.length > shown.length ? [`${indent}… (${all.length - shown.length} earlier lines; --json has all the controller keeps)`] : [];
  return [...head, ...shown.map((l) => `${indent}${l}`)];
}
