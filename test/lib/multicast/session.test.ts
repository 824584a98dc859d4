/**
 * A real session on loopback: the pacing sender and receivers with real UDP sockets joined to a
 * group on 127.0.0.1, repair with HTTP Range from a real content server, the whole-file sha256.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../../lib/clock.js';
import { encodeHeader, sessionId } from '../../../lib/multicast/datagram.js';
import { receiveSession } from '../../../lib/multicast/receiver.js';
import { coalesceRanges } from '../../../lib/multicast/gap-list.js';
import { REPAIR_MAX_HOLE, repairAndVerify } from '../../../lib/multicast/repair.js';
import { sendSession } from '../../../lib/multicast/sender.js';
import type { SessionSpec } from '../../../lib/multicast/session.js';
import { type ContentServer, makeContent, sha256, startContentServer } from '../transfer/content-server.js';

const IFACE = '127.0.0.1';

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, IFACE, () => r()));
  const port = s.address().port;
  s.close();
  return port;
}

describe('multicast session on loopback', function () {
  this.timeout(60_000);
  const content = makeContent(3 * 1024 * 1024 + 1234, 7);
  const sha = sha256(content);
  let server: ContentServer;
  let work: string;
  let session: SessionSpec;
  let group = 10;

  beforeEach(async () => {
    server = await startContentServer({ [`/v1/content/${sha}`]: content }, {}, 5000);
    work = await mkdtemp(join(tmpdir(), 'ferry-mcast-'));
    group++;
    session = { group: `239.255.71.${group}`, port: await freeUdpPort(), sha256: sha, size: content.length, blockSize: 1408 };
    await import('node:fs/promises').then((fs) => fs.writeFile(join(work, 'artifact'), content));
  });
  afterEach(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  const sources = () => [{ name: 'relay', url: `${server.url}/v1/content/${sha}` }];

  /** Runs receivers and, once all joined, the sender for one round. */
  async function runSession(receivers: { dropRate?: number; spec?: SessionSpec; beforeSend?: () => Promise<void> }[]) {
    let joined = 0;
    let allJoined!: () => void;
    const ready = new Promise<void>((r) => (allJoined = r));
    const results = receivers.map((r, i) =>
      receiveSession({
        session: r.spec ?? session,
        interface: IFACE,
        partPath: join(work, `r${i}.part`),
        idleMs: 3000,
        firstWaitMs: 20_000,
        onJoined: () => ++joined === receivers.length && allJoined(),
        ...(r.dropRate ? { dropRate: r.dropRate } : {}),
        clock: systemClock,
      }),
    );
    await ready;
    for (const r of receivers) await r.beforeSend?.();
    const sent = await sendSession({
      ...session,
      interface: IFACE,
      file: join(work, 'artifact'),
      rate: 50_000_000,
      rounds: 1,
      finished: () => true,
      lingerMs: 0,
      clock: systemClock,
    });
    return { sent, received: await Promise.all(results) };
  }

  it('one round brings every block to every receiver; nothing to repair', async () => {
    const { sent, received } = await runSession([{}, {}, {}]);
    const blocks = Math.ceil(content.length / 1408);
    expect(sent).to.deep.equal({ rounds: 1, datagrams: blocks + 3, bytesSent: content.length + (blocks + 3) * 24, reason: 'finished' });
    for (const [i, r] of received.entries()) {
      expect({ reason: r.reason, missing: r.gaps.missingBytes() }).to.deep.equal({ reason: 'complete', missing: 0 });
      const done = await repairAndVerify({ session, partPath: join(work, `r${i}.part`), dest: join(work, `r${i}`), sources: sources(), clock: systemClock });
      expect(done).to.deep.equal({ kind: 'verified', bytesRepaired: 0, chunksDropped: 0 });
      expect(
        createHash('sha256')
          .update(await readFile(join(work, `r${i}`)))
          .digest('hex'),
      ).to.equal(sha);
    }
    expect(server.bytesServed).to.equal(0);
  });

  it('with 10% of datagrams dropped, repair fetches the gaps over HTTP Range, close ones in one request, on kept-alive connections', async () => {
    const { received } = await runSession([{ dropRate: 0.1 }]);
    const r = received[0]!;
    expect(r.reason).to.equal('round-end');
    const missing = r.gaps.missingBytes();
    expect(missing).to.be.within(0.05 * content.length, 0.15 * content.length);
    const ranges = coalesceRanges(r.gaps.missing(), REPAIR_MAX_HOLE);
    const asked = ranges.reduce((n, x) => n + x.end - x.start + 1, 0);
    expect(ranges.length).to.be.below(r.gaps.missing().length);
    const done = await repairAndVerify({ session, partPath: join(work, 'r0.part'), dest: join(work, 'r0'), sources: sources(), clock: systemClock });
    expect(done).to.deep.equal({ kind: 'verified', bytesRepaired: asked, chunksDropped: 0 });
    expect(server.bytesServed).to.equal(asked);
    expect(server.requests.map((q) => q.range).sort()).to.deep.equal(ranges.map((x) => `bytes=${x.start}-${x.end}`).sort());
    expect(server.requests.every((q) => q.status === 206)).to.equal(true);
    // Kept alive: the requests share the eight connections of the ranges under way at once.
    expect(server.connections).to.be.at.most(8);
  });

  it('a receiver stopped mid-session and started again keeps its blocks, takes the rest and repairs only the gap', async () => {
    const partPath = join(work, 'r0.part');
    const stop = new AbortController();
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    const first = receiveSession({
      session,
      interface: IFACE,
      partPath,
      idleMs: 3000,
      firstWaitMs: 20_000,
      onJoined: () => joined(),
      clock: systemClock,
      signal: stop.signal,
      onProgress: (held) => held > 500 && stop.abort(),
    });
    await ready;
    const sending = sendSession({ ...session, interface: IFACE, file: join(work, 'artifact'), rate: 4_000_000, rounds: 1, finished: () => true, lingerMs: 0, clock: systemClock });
    const before = await first;
    expect(before.reason).to.equal('aborted');
    const again = receiveSession({ session, interface: IFACE, partPath, idleMs: 3000, firstWaitMs: 20_000, clock: systemClock });
    await sending;
    const after = await again;
    expect(after.gaps.count).to.be.above(before.gaps.count);
    const done = await repairAndVerify({ session, partPath, dest: join(work, 'r0'), sources: sources(), clock: systemClock });
    expect(done).to.deep.equal({ kind: 'verified', bytesRepaired: after.gaps.missingBytes(), chunksDropped: 0 });
  });

  /** A forger's datagram for block 0, sent to the group before the sender starts (the first copy of a block wins). */
  const forge = () => async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, IFACE, () => r()));
    s.setMulticastInterface(IFACE);
    const header = encodeHeader({ type: 'data', rounds: 1, round: 1, session: sessionId(sha), value: 0 });
    await new Promise<void>((r, j) => s.send([header, Buffer.alloc(1408, 0x66)], session.port, session.group, (e) => (e ? j(e) : r())));
    s.close();
  };

  it('a forged block in a chunk that fails its plan hash is dropped at once and repaired', async () => {
    const chunkSize = 100_000;
    const chunks = { size: chunkSize, sha256: [] as string[] };
    for (let at = 0; at < content.length; at += chunkSize) chunks.sha256.push(sha256(content.subarray(at, at + chunkSize)));
    const spec = { ...session, chunks };
    await runSession([{ spec, beforeSend: forge() }]);
    const done = await repairAndVerify({ session: spec, partPath: join(work, 'r0.part'), dest: join(work, 'r0'), sources: sources(), clock: systemClock });
    // Chunk 0 is bytes 0-99999: blocks 0-71 (block 71 ends at 101375) are fetched again.
    expect(done).to.deep.equal({ kind: 'verified', bytesRepaired: 72 * 1408, chunksDropped: 1 });
    expect((await readFile(join(work, 'r0'))).equals(content)).to.equal(true);
  });

  it('without chunk hashes a forged block fails the whole-file sha256: the file is removed, never installed', async () => {
    await runSession([{ beforeSend: forge() }]);
    const done = await repairAndVerify({ session, partPath: join(work, 'r0.part'), dest: join(work, 'r0'), sources: sources(), clock: systemClock });
    expect(done).to.deep.equal({ kind: 'corrupt', bytesRepaired: 0, chunksDropped: 0 });
    for (const f of ['r0', 'r0.part', 'r0.part.map'])
      await stat(join(work, f)).then(
        () => expect.fail(`${f} left behind`),
        () => undefined,
      );
  });
});
