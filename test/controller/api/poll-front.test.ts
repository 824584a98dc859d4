/**
 * The poll front (controller/api/poll-front.ts): plan polls answered below node:http, over real
 * TCP connections to the API's own server. A request answered by node:http raises the server's
 * `request` event; one the front answers does not, so the tests can tell who answered.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { parsePollHead } from '../../../controller/api/poll-front.js';
import { startHarness, type Harness } from './harness.js';

const planHead = (host: string, lines: readonly string[], method = 'GET') => [`${method} /v1/hosts/${host}/plan HTTP/1.1`, ...lines].join('\r\n');

describe('poll front: the heads it answers (parsePollHead)', () => {
  const token = 'A'.repeat(43);
  const accepted: [string, string, object][] = [
    [
      'a poll as agents send it',
      planHead('clt1', ['Host: c', `Authorization: Bearer ${token}`, 'If-None-Match: "abc"']),
      { method: 'GET', host: 'clt1', token, ifNoneMatch: '"abc"' },
    ],
    [
      'HEAD, names in any case, spaces around values',
      planHead('a.b-c', ['hOsT:c', `authorization:  bearer ${token} `, 'connection: Keep-Alive', 'X-Other: 1'], 'HEAD'),
      { method: 'HEAD', host: 'a.b-c', token, ifNoneMatch: undefined },
    ],
  ];
  for (const [what, head, want] of accepted) it(`answers ${what}`, () => expect(parsePollHead(head)).to.deep.equal(want));

  const auth = `Authorization: Bearer ${token}`;
  const refused: [string, string][] = [
    ['another method', planHead('clt1', ['Host: c', auth], 'POST')],
    ['HTTP/1.0', `GET /v1/hosts/clt1/plan HTTP/1.0\r\nHost: c\r\n${auth}`],
    ['a query string', `GET /v1/hosts/clt1/plan?x=1 HTTP/1.1\r\nHost: c\r\n${auth}`],
    ['another path', `GET /v1/hosts/clt1/inventory HTTP/1.1\r\nHost: c\r\n${auth}`],
    ['an upper-case host name', planHead('CLT1', ['Host: c', auth])],
    ['no Host', planHead('clt1', [auth])],
    ['two Hosts', planHead('clt1', ['Host: c', 'Host: d', auth])],
    ['no credential', planHead('clt1', ['Host: c'])],
    ['another scheme', planHead('clt1', ['Host: c', 'Authorization: Basic abc'])],
    ['two credentials', planHead('clt1', ['Host: c', auth, auth])],
    ['two If-None-Match', planHead('clt1', ['Host: c', auth, 'If-None-Match: "a"', 'If-None-Match: "b"'])],
    ['a Content-Length', planHead('clt1', ['Host: c', auth, 'Content-Length: 0'])],
    ['a Transfer-Encoding', planHead('clt1', ['Host: c', auth, 'Transfer-Encoding: chunked'])],
    ['an Expect', planHead('clt1', ['Host: c', auth, 'Expect: 100-continue'])],
    ['an Upgrade', planHead('clt1', ['Host: c', auth, 'Upgrade: websocket'])],
    ['Connection: close', planHead('clt1', ['Host: c', auth, 'Connection: close'])],
    ['a folded header line', planHead('clt1', ['Host: c', auth, 'X-A: 1', ' continued'])],
    ['a bare LF', `GET /v1/hosts/clt1/plan HTTP/1.1\nHost: c\r\n${auth}`],
    ['a space before a colon', planHead('clt1', ['Host : c', auth])],
    ['a byte past ASCII', planHead('clt1', ['Host: c', auth, 'X-A: \u00e9'])],
    ['a control byte', planHead('clt1', ['Host: c', auth, 'X-A: \u0001'])],
  ];
  for (const [what, head] of refused) it(`leaves to node:http: ${what}`, () => expect(parsePollHead(head)).to.equal(undefined));
});

/** One response read off a connection: its head's lines and its body. */
interface Answer {
  readonly status: number;
  readonly head: string[];
  readonly body: string;
}

/** A raw connection to `url` that reads answers in order; `heads` says which requests were HEAD (no body). */
class Wire {
  private bytes = Buffer.alloc(0);
  readonly answers: Answer[] = [];
  readonly heads: boolean[] = [];
  readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, d]);
      this.parse();
    });
  }

  send(text: string, heads: readonly boolean[] = []): void {
    this.heads.push(...heads);
    this.socket.write(text, 'latin1');
  }

  /** Resolves once `n` answers have arrived in all. */
  async answered(n: number): Promise<Answer[]> {
    while (this.answers.length < n) await once(this.socket, 'data');
    return this.answers;
  }

  private parse(): void {
    for (;;) {
      const end = this.bytes.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.bytes.toString('latin1', 0, end).split('\r\n');
      const length = Number(head.find((l) => /^content-length:/i.test(l))?.split(':')[1] ?? 0);
      const isHead = this.heads[this.answers.length] ?? false;
      const status = Number(head[0]!.split(' ')[1]);
      const bodyLength = isHead || status === 304 ? 0 : length;
      if (this.bytes.length < end + 4 + bodyLength) return;
      this.answers.push({ status, head, body: this.bytes.toString('utf8', end + 4, end + 4 + bodyLength) });
      this.bytes = this.bytes.subarray(end + 4 + bodyLength);
    }
  }
}

const port = (url: string) => Number(new URL(url).port);

describe('poll front: plan polls answered below node:http', () => {
  let h: Harness;
  let credential: string;
  let etag: string;
  let viaHttp: number;
  /** Holds the API's store calls while set (a slow store). */
  let hold: ((method: string) => Promise<unknown> | undefined) | undefined;
  const wires: Wire[] = [];
  const wire = (p = port(h.url)) => {
    const w = new Wire(p);
    wires.push(w);
    return w;
  };
  const poll = (o: { etag?: string; method?: string; host?: string; token?: string } = {}) =>
    `${planHead(o.host ?? 'clt1', ['Host: ferry', `Authorization: Bearer ${o.token ?? credential}`, ...(o.etag !== undefined ? [`If-None-Match: ${o.etag}`] : [])], o.method)}\r\n\r\n`;

  beforeEach(async () => {
    hold = undefined;
    h = await startHarness({ planCacheMs: 50, onStoreCall: (method) => hold?.(method) });
    credential = await h.enroll('clt1');
    await h.seedPlan('clt1');
    // The first poll reads the store (node:http's path) and keeps the answer in memory.
    const first = await h.request('GET', '/v1/hosts/clt1/plan', { token: credential });
    expect(first.status).to.equal(200);
    etag = first.headers.get('etag')!;
    viaHttp = 0;
    h.server.on('request', () => viaHttp++);
  });
  afterEach(async () => {
    for (const w of wires.splice(0)) w.socket.destroy();
    await h.close();
  });

  it('answers GET and HEAD, 304 and 200, with the bytes node:http writes (but the Date)', async () => {
    const plain: Server = createServer(h.api.listener);
    plain.keepAliveTimeout = h.server.keepAliveTimeout;
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const requests = poll({ etag }) + poll() + poll({ etag, method: 'HEAD' }) + poll({ method: 'HEAD' });
      const heads = [false, false, true, true];
      const front = wire();
      const reference = wire((plain.address() as AddressInfo).port);
      front.send(requests, heads);
      reference.send(requests, heads);
      const [mine, theirs] = await Promise.all([front.answered(4), reference.answered(4)]);
      const noDate = (answers: Answer[]) => answers.map((a) => ({ ...a, head: a.head.filter((l) => !l.startsWith('Date: ')) }));
      expect(noDate(mine)).to.deep.equal(noDate(theirs));
      expect(mine.map((a) => a.status)).to.deep.equal([304, 200, 304, 200]);
      expect(mine[0]!.head.filter((l) => l.startsWith('Date: '))).to.have.length(1);
      expect(viaHttp, 'answered by the front, not node:http').to.equal(0);
    } finally {
      plain.closeAllConnections();
      plain.close();
    }
  });

  it('a poll memory cannot answer (its plan raised) is read from the store and answered by the front, in order with the next', async () => {
    const newer = await h.seedPlan('clt1', 'main@sha1:2222');
    h.api.plansRaised(['clt1']);
    const w = wire();
    w.send(poll({ etag }) + poll({ etag: '"nope"', method: 'HEAD' }) + poll({ etag }), [false, true, false]);
    const answers = await w.answered(3);
    expect(answers.map((a) => [a.status, a.body])).to.deep.equal([
      [200, newer],
      [200, ''],
      [200, newer],
    ]);
    // The connection reads on once the store answered.
    w.send(poll({ etag: `"${createHash('sha256').update(newer).digest('hex')}"` }));
    expect((await w.answered(4))[3]!.status).to.equal(304);
    expect(viaHttp).to.equal(0);
  });

  it('hands a connection to node:http at its first other request: every answer in order, the rest of the connection read by node:http', async () => {
    const w = wire();
    const body = JSON.stringify({ nonsense: true });
    w.send(
      `${poll({ etag })}${poll()}POST /v1/nowhere HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}${poll({ etag })}`,
    );
    const answers = await w.answered(4);
    expect(answers.map((a) => a.status)).to.deep.equal([304, 200, 404, 304]);
    expect(viaHttp, 'the POST and the poll after it').to.equal(2);
    w.send(poll({ etag }));
    expect((await w.answered(5))[4]!.status).to.equal(304);
    expect(viaHttp).to.equal(3);
  });

  it('a request whose body arrives after the hand-over is read whole by node:http', async () => {
    const connected = once(h.server, 'connection');
    const w = wire();
    const body = 'x'.repeat(10);
    w.send(poll({ etag }));
    const [socket] = (await connected) as [Socket];
    await w.answered(1);
    // The head and half the body, then (once node:http has it) the other half and a poll.
    w.send(`POST /v1/nowhere HTTP/1.1\r\nHost: ferry\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await once(h.server, 'request');
    w.send(body.slice(5) + poll({ etag }));
    const answers = await w.answered(3);
    expect(answers.map((a) => a.status)).to.deep.equal([304, 404, 304]);
    expect(socket.destroyed).to.equal(false);
  });

  /** Holds the API's reads of plan rows until the returned function is called. */
  const holdPlanReads = () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    hold = (method) => (method === 'getSignedPlan' ? released : undefined);
    return release;
  };
  /** A new connection, and the server's side of it once accepted. */
  const accepted = async () => {
    const connected = once(h.server, 'connection');
    const w = wire();
    const [socket] = (await connected) as [Socket];
    return { w, socket };
  };

  /** Sends `text` cut at `cuts`, each piece once the front has read the one before; the answers. */
  const sendInPieces = async (text: string, cuts: readonly number[]) => {
    const connected = once(h.server, 'connection');
    const w = wire();
    const [socket] = (await connected) as [Socket];
    let from = 0;
    for (const cut of [...cuts, text.length]) {
      // The test's own listener runs after the front's: once it fires, the front has read the piece.
      const read = once(socket, 'data');
      w.send(text.slice(from, cut));
      await read;
      if (cut < text.length) expect(w.answers, `after ${cut} of ${text.length} bytes`).to.have.length(0);
      from = cut;
    }
    return (await w.answered(1)).map((a) => a.status);
  };

  it('answers a head cut in two reads (a pipelined batch cut by a read)', async () => {
    const text = poll({ etag });
    expect(await sendInPieces(text, [text.indexOf('Authorization') + 3])).to.deep.equal([304]);
    expect(viaHttp).to.equal(0);
  });

  it('leaves a head trickled over more reads to node:http (and its headersTimeout), which answers it', async () => {
    const text = poll({ etag });
    expect(await sendInPieces(text, [7, text.indexOf('Authorization') + 3, text.length - 2])).to.deep.equal([304]);
    expect(viaHttp).to.equal(1);
  });

  it('a header block past 8 KiB goes to node:http, which answers it and the rest of the connection', async () => {
    const w = wire();
    const padded = `${planHead('clt1', ['Host: ferry', `Authorization: Bearer ${credential}`, `If-None-Match: ${etag}`, `X-Pad: ${'p'.repeat(9000)}`])}\r\n\r\n`;
    w.send(padded + poll({ etag }));
    expect((await w.answered(2)).map((a) => a.status)).to.deep.equal([304, 304]);
    expect(viaHttp).to.equal(2);
  });

  it('leaves node:http to answer what it refuses, what memory cannot answer, and another host', async () => {
    const unknown = wire();
    unknown.send(poll({ token: 'B'.repeat(43) }));
    expect((await unknown.answered(1))[0]!.status).to.equal(401);
    const other = wire();
    const b = await h.enroll('clt2');
    other.send(poll({ host: 'clt1', token: b }));
    // Another host's records do not exist for a host (so names do not leak).
    expect((await other.answered(1))[0]!.status).to.equal(404);
    expect(viaHttp, 'the 401 and the 404 (and the enrollment)').to.equal(3);
    const garbage = wire();
    garbage.send('HELLO\r\n\r\n');
    expect((await garbage.answered(1))[0]!.status).to.equal(400);
    await once(garbage.socket, 'close');
  });

  it('a client that does not read: the front stops reading, then answers every poll in order', async () => {
    const connected = once(h.server, 'connection');
    const w = wire();
    const [socket] = (await connected) as [Socket];
    w.socket.pause();
    const n = 3000;
    // Far more than the sockets buffer (3,000 documents of ~1 KiB): the front pauses its reading.
    w.send(poll().repeat(n));
    while (!socket.isPaused()) await once(socket, 'data');
    w.socket.resume();
    const answers = await w.answered(n);
    expect(answers.every((a) => a.status === 200 && a.body.length > 100)).to.equal(true);
    expect(viaHttp).to.equal(0);
  });

  it('polls sent while one waits for the store are answered after it, in order', async () => {
    await h.enroll('clt2');
    const other = await h.enroll('clt3');
    await h.seedPlan('clt3');
    const etag3 = (await h.request('GET', '/v1/hosts/clt3/plan', { token: other })).headers.get('etag')!;
    h.api.plansRaised(['clt1']);
    const release = holdPlanReads();
    const { w, socket } = await accepted();
    const read = once(socket, 'data');
    w.send(poll({ etag: '"old"' }));
    await read;
    // clt3's poll, answerable from memory, arrives while clt1's waits for the store. The front must
    // not read it then, so there is no event to wait on: once the client's write is done, the loop
    // polls its sockets once more (between two setImmediate turns) before the store is released.
    const before = viaHttp;
    await new Promise((r) => w.socket.write(poll({ host: 'clt3', token: other, etag: etag3 }), () => setImmediate(() => setImmediate(r))));
    release();
    expect((await w.answered(2)).map((a) => a.status)).to.deep.equal([200, 304]);
    expect(viaHttp).to.equal(before);
  });

  it('a client that half-closes while its poll waits for the store gets the answer, then the end', async () => {
    h.api.plansRaised(['clt1']);
    const release = holdPlanReads();
    const { w, socket } = await accepted();
    const ended = once(socket, 'end');
    w.send(poll({ etag: '"old"' }));
    w.socket.end();
    await ended;
    release();
    const closed = once(w.socket, 'close');
    expect((await w.answered(1)).map((a) => a.status)).to.deep.equal([200]);
    await closed;
    expect(viaHttp).to.equal(0);
  });

  it('a server closing closes idle connections at once, and one whose poll waits for the store once it is answered', async () => {
    h.api.plansRaised(['clt1']);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let asked!: () => void;
    const storeAsked = new Promise<void>((r) => (asked = r));
    hold = (method) => {
      if (method !== 'getSignedPlan') return undefined;
      asked();
      return released;
    };
    const busy = wire();
    busy.send(poll({ etag: '"old"' }));
    await storeAsked;
    const accepted = once(h.server, 'connection');
    const idle = wire();
    await accepted;
    const idleClosed = once(idle.socket, 'close');
    const busyClosed = once(busy.socket, 'close');
    h.server.close();
    await idleClosed;
    release();
    expect((await busy.answered(1)).map((a) => a.status)).to.deep.equal([200]);
    await busyClosed;
  });

  it('closes an idle connection after keepAliveTimeout, and every one on closeIdleConnections', async () => {
    h.server.keepAliveTimeout = 100;
    const idle = wire();
    idle.send(poll({ etag }));
    await idle.answered(1);
    expect(idle.answers[0]!.head).to.include('Keep-Alive: timeout=0');
    await once(idle.socket, 'close');
    h.server.keepAliveTimeout = 65_000;
    const open = wire();
    open.send(poll({ etag }));
    expect((await open.answered(1))[0]!.head).to.include('Keep-Alive: timeout=65');
    const closed = once(open.socket, 'close');
    h.server.closeIdleConnections();
    await closed;
  });

  it('a half-closed client gets its answers (one read from the store), then the connection ends', async () => {
    await h.seedPlan('clt1', 'main@sha1:2222');
    h.api.plansRaised(['clt1']);
    const w = wire();
    w.send(poll({ etag }) + poll({ etag }));
    w.socket.end();
    const closed = once(w.socket, 'close');
    expect((await w.answered(2)).map((a) => a.status)).to.deep.equal([200, 200]);
    await closed;
    expect(viaHttp).to.equal(0);
  });
});
