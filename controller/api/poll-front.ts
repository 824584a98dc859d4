/**
 * Plan polls answered below node:http (issue 14). A 304 from memory costs Ferry's own code a few
 * µs, and node:http several times that around it: the C++ parser calling back into JavaScript for
 * the header block, an IncomingMessage and a ServerResponse with their streams, the header
 * block composed again, the connection tracked in and out of the server's lists, and a tick or
 * two after the write. nginx serving the same documents as files spends far less.
 *
 * `ApiServer` is the API's node:http server with a front on its connections. The front reads each
 * connection's bytes first:
 * - a request of the one shape an agent's poll has (below) is answered here, with the bytes
 *   node:http would have written (only the `Date` differs by the second it is read): from memory
 *   (`PlanPoller.fromMemory`), else once the store was read (`fromStore`: a new plan, the first
 *   poll after a restart), the connection's reading paused meanwhile;
 * - at the first request that is anything else, or whose answer is an error (an unknown
 *   credential, no plan yet, the store down), the connection (that request's bytes and all after
 *   them) is handed to node:http for the rest of its life, as if node:http had just accepted it:
 *   the server's own `connection` listener. The front never reads it again.
 *
 * Only a strict subset of HTTP/1.1 is answered here, and node:http judges every request outside it
 * (parse errors, 400, 431 and timeouts are node:http's). The subset, `parsePollHead`:
 * - the request line `GET` or `HEAD` `/v1/hosts/{name}/plan HTTP/1.1`, with no query;
 * - header lines `name: value` only: token names, values of visible ASCII, spaces and tabs; no
 *   obs-fold, no bare CR or LF, no other byte;
 * - exactly one `Host`, at most one `Authorization` (a bearer token) and one `If-None-Match`;
 * - no `Content-Length`, `Transfer-Encoding`, `Expect` or `Upgrade`; `Connection` only as
 *   `keep-alive`; the header block within 8 KiB, and within two reads (a head cut by the end of a
 *   read waits for the next one, no longer: a trickled head is node:http's, under its
 *   `headersTimeout`).
 * Such a request has no body, so the front and node:http cannot disagree on where it ends.
 *
 * Responses go out in the order the requests came (a handed-over request's answer is node:http's,
 * after every answer the front already wrote). A client that does not read its answers pauses the
 * front's reading, as node:http pauses its parser. Idle connections close after the server's
 * `keepAliveTimeout`; `closeIdleConnections` and `closeAllConnections` close the front's too (the
 * first sparing a poll that waits for the store: that connection ends once it is answered).
 */
import { Server, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { bearerOf } from './auth.js';
import { cacheControl, contentType, HOST_NAME, type PlanEntry } from './fast-plan.js';
import { noneMatch } from './http.js';

/** What answers a poll from memory (the PlanPoller). */
export interface PollAnswers {
  /** The entry that answers `host`'s poll (304 when `ifNoneMatch` matches its ETag, else 200 with its document), or undefined. */
  fromMemory(host: string, token: string, ifNoneMatch: string | undefined): PlanEntry | undefined;
  /** The same once the store was read (the entry then holds its document), or undefined: the poll's answer is an error. */
  fromStore(host: string, token: string, ifNoneMatch: string | undefined): Promise<PlanEntry | undefined>;
  /** Counts an answered poll (`start`: `performance.now()` when its head was read). */
  polled(method: string, notModified: boolean, start: number): void;
}

/** A plan poll's request head, of the one shape the front answers. */
export interface PollHead {
  readonly method: 'GET' | 'HEAD';
  readonly host: string;
  readonly token: string;
  readonly ifNoneMatch: string | undefined;
}

/** The whole head (request line and header lines, without the blank line) of a request the front may answer. */
const SHAPE = new RegExp(`^(?:GET|HEAD) /v1/hosts/${HOST_NAME}/plan HTTP/1\\.1(?:\r\n[-!#$%&'*+.^_\`|~0-9A-Za-z]+:[\t -~]*)+$`);
/** Longest header block the front waits for; past it, node:http reads the request (and answers 431 past its own limit). */
const MAX_HEAD = 8 * 1024;
const HEAD_END = '\r\n\r\n';
const PATH_AT = '/v1/hosts/'.length;
const PATH_TAIL = '/plan HTTP/1.1'.length;

/** The poll `head` asks for, or undefined when it is not of the one shape the front answers (see the module's comment). */
export function parsePollHead(head: string): PollHead | undefined {
  if (!SHAPE.test(head)) return undefined;
  const method = head.charCodeAt(0) === 71 /* G */ ? 'GET' : 'HEAD';
  const line = head.indexOf('\r\n');
  const host = head.slice(method.length + 1 + PATH_AT, line - PATH_TAIL);
  let authorization: string | undefined;
  let ifNoneMatch: string | undefined;
  let hosts = 0;
  for (let at = line + 2; at > 1; ) {
    const next = head.indexOf('\r\n', at);
    const end = next < 0 ? head.length : next;
    const colon = head.indexOf(':', at);
    const length = colon - at;
    // Only names of these lengths matter: host 4, expect 6, upgrade 7, connection 10,
    // authorization and if-none-match 13, content-length 14, transfer-encoding 17.
    if (length === 4 || length === 6 || length === 7 || length === 10 || length === 13 || length === 14 || length === 17) {
      const name = head.slice(at, colon).toLowerCase();
      const value = () => head.slice(colon + 1, end).trim();
      if (name === 'authorization') {
        if (authorization !== undefined) return undefined;
        authorization = value();
      } else if (name === 'if-none-match') {
        if (ifNoneMatch !== undefined) return undefined;
        ifNoneMatch = value();
      } else if (name === 'host') hosts++;
      else if (name === 'connection') {
        if (value().toLowerCase() !== 'keep-alive') return undefined;
      } else if (name === 'content-length' || name === 'transfer-encoding' || name === 'expect' || name === 'upgrade') return undefined;
    }
    at = next + 2;
  }
  const token = bearerOf(authorization);
  if (hosts !== 1 || token === undefined) return undefined;
  return { method, host, token, ifNoneMatch };
}

let dateSecond = -1;
let dateText = '';
/** The `Date` header's value, made once a second. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** The response head node:http writes for the poller's answer (fast-plan.ts `reply`), with `tail` (Date, Connection, Keep-Alive) after it. */
function responseHead(entry: PlanEntry, notModified: boolean, tail: string): string {
  return notModified
    ? `HTTP/1.1 304 Not Modified\r\nETag: ${entry.etag}\r\nCache-Control: ${cacheControl}\r\n${tail}`
    : `HTTP/1.1 200 OK\r\nETag: ${entry.etag}\r\nCache-Control: ${cacheControl}\r\nContent-Type: ${contentType}\r\nContent-Length: ${entry.body!.length}\r\n${tail}`;
}

/** Per answered poll of one read: bit 0 HEAD, bit 1 not modified (reused: reads are handled one at a time). */
const answered: number[] = [];

/** Adds `poll`'s answer to `out` (heads written together are one string; a document is a piece of its own) and to `answered`. */
function answer(out: (string | Buffer)[], poll: PollHead, entry: PlanEntry, tail: string): void {
  const notModified = noneMatch(poll.ifNoneMatch, entry.etag);
  const head = responseHead(entry, notModified, tail);
  const last = out.length - 1;
  if (last >= 0 && typeof out[last] === 'string') out[last] += head;
  else out.push(head);
  if (!notModified && poll.method === 'GET') out.push(entry.body!);
  answered.push((poll.method === 'HEAD' ? 1 : 0) | (notModified ? 2 : 0));
}

class PollFront {
  private readonly sockets = new Set<Socket>();
  /** Those whose poll waits for the store. */
  private readonly waiting = new Set<Socket>();

  constructor(
    private readonly server: Server,
    private readonly answers: PollAnswers,
    /** node:http's own handling of a new connection. */
    private readonly toHttp: (socket: Socket) => void,
  ) {}

  accept(socket: Socket): void {
    const { answers, sockets } = this;
    sockets.add(socket);
    /** The start of a head the last read cut. */
    let pending: Buffer | undefined;
    /** A poll waits for the store: reading stays paused until it is answered. */
    let waiting = false;
    /** The client sent its last byte (`end` comes even while reading is paused): the front ends once it answered. */
    let ended = false;
    const onEnd = () => {
      ended = true;
      if (!waiting) socket.end();
    };
    const onGone = () => socket.destroy();
    const onClose = () => {
      sockets.delete(socket);
      this.waiting.delete(socket);
    };
    const onDrain = () => waiting || socket.resume();
    const write = (out: (string | Buffer)[]) => {
      let more = true;
      if (out.length === 1) more = socket.write(out[0]!, 'latin1');
      else if (out.length > 1) {
        socket.cork();
        for (const piece of out) more = socket.write(piece, 'latin1');
        socket.uncork();
      }
      if (!more) {
        socket.pause();
        socket.once('drain', onDrain);
      }
    };
    const handOff = (rest: Buffer) => {
      socket.off('data', onData).off('end', onEnd).off('timeout', onGone).off('error', onGone).off('close', onClose).off('drain', onDrain);
      sockets.delete(socket);
      socket.setTimeout(0);
      // Paused, the bytes put back stay buffered until node:http listens; resumed, they reach its
      // parser (on the next tick) before anything read later.
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      this.toHttp(socket);
      socket.resume();
    };
    /** Answers the polls in `bytes` from memory, up to the first that memory cannot answer. */
    const serve = (bytes: Buffer, carried: boolean) => {
      const start = performance.now();
      const tail = this.tail();
      const out: (string | Buffer)[] = [];
      answered.length = 0;
      let at = 0;
      let miss: PollHead | undefined;
      while (at < bytes.length) {
        const end = bytes.indexOf(HEAD_END, at, 'latin1');
        // A head begun in this read waits for the next one (a pipelined batch cut by the read);
        // one begun before does not wait again: node:http reads it, under its headersTimeout.
        if (end < 0 && !(at === 0 && carried) && bytes.length - at <= MAX_HEAD) {
          pending = bytes.subarray(at);
          at = bytes.length;
          break;
        }
        if (end < 0 || end - at > MAX_HEAD) break;
        const poll = parsePollHead(bytes.toString('latin1', at, end));
        if (poll === undefined) break;
        const entry = answers.fromMemory(poll.host, poll.token, poll.ifNoneMatch);
        if (entry === undefined) {
          miss = poll;
          break;
        }
        answer(out, poll, entry, tail);
        at = end + HEAD_END.length;
      }
      write(out);
      for (const a of answered) answers.polled(a & 1 ? 'HEAD' : 'GET', (a & 2) !== 0, start);
      if (miss !== undefined) ask(miss, bytes.subarray(at));
      else if (at < bytes.length) handOff(bytes.subarray(at));
    };
    /** A poll memory could not answer (`rest` starts with it): the store answers it, or node:http does. */
    const ask = (poll: PollHead, rest: Buffer) => {
      waiting = true;
      this.waiting.add(socket);
      socket.pause();
      const start = performance.now();
      answers
        .fromStore(poll.host, poll.token, poll.ifNoneMatch)
        .catch(() => undefined)
        .then((entry) => {
          waiting = false;
          this.waiting.delete(socket);
          if (socket.destroyed) return;
          // An error's answer (an unknown credential, no plan yet, the store down) is node:http's.
          if (entry === undefined) return handOff(rest);
          const out: (string | Buffer)[] = [];
          answered.length = 0;
          answer(out, poll, entry, this.tail());
          write(out);
          answers.polled(poll.method, (answered[0]! & 2) !== 0, start);
          if (!socket.writableNeedDrain) socket.resume();
          const next = rest.indexOf(HEAD_END, 0, 'latin1') + HEAD_END.length;
          if (next < rest.length) serve(rest.subarray(next), false);
          // A client done sending, or a server closing (it spared this connection while it waited), ends here.
          if ((ended || !this.server.listening) && !waiting && sockets.has(socket)) socket.end();
        })
        // Nothing above should throw; if it did, the connection ends rather than the process.
        .catch(() => socket.destroy());
    };
    const onData = (chunk: Buffer) => {
      const carried = pending !== undefined;
      const bytes = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      serve(bytes, carried);
    };
    socket.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onClose);
    if (this.server.keepAliveTimeout > 0) socket.setTimeout(this.server.keepAliveTimeout).on('timeout', onGone);
  }

  /** What ends every answer's head: `Date`, `Connection`, `Keep-Alive` (as node:http writes them) and the blank line. */
  private tail(): string {
    const keepAlive = this.server.keepAliveTimeout;
    return `Date: ${httpDate()}\r\nConnection: keep-alive\r\n${keepAlive > 0 ? `Keep-Alive: timeout=${Math.floor(keepAlive / 1000)}\r\n` : ''}\r\n`;
  }

  /** Closes the connections the front holds, but (`idle`) those whose poll waits for the store. */
  close(idle: boolean): void {
    for (const socket of this.sockets) if (!idle || !this.waiting.has(socket)) socket.destroy();
  }
}

/** The API's node:http server: `listener` behind the poll front. */
export class ApiServer extends Server {
  private readonly front: PollFront;

  constructor(listener: RequestListener, answers: PollAnswers) {
    super(listener);
    // node:http's own listener (added by its constructor), called for the connections handed to it.
    const [http] = this.listeners('connection') as ((this: Server, socket: Socket) => void)[];
    this.removeListener('connection', http!);
    this.front = new PollFront(this, answers, (socket) => http!.call(this, socket));
    this.on('connection', (socket: Socket) => this.front.accept(socket));
  }

  override closeIdleConnections(): void {
    this.front.close(true);
    super.closeIdleConnections();
  }

  override closeAllConnections(): void {
    this.front.close(false);
    super.closeAllConnections();
  }
}
