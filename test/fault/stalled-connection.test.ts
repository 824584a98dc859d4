/**
 * Connections that stall or drop mid-body, through a TCP proxy the test controls (tcp-proxy.ts),
 * between real agents and a real controller API: a download resumes from the byte it reached, a
 * stalled transfer fails at its timeout and resumes, and reports whose answer was lost or never
 * came are sent again and stored once.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiFailure, ControllerClient } from '../../agent/client/controller-client.js';
import { download } from '../../lib/transfer/download.js';
import { ensureBuilt } from '../agent/runtime/build.js';
import { action, packageFiles, startController, type TestController } from '../agent/runtime/fixture.js';
import { ferryBin } from '../support/ferry.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

describe('fault: connections that stall or drop mid-body', function () {
  this.timeout(120_000);
  let ctl: TestController;
  let proxy: TcpProxy;
  let work: string;

  before(async function () {
    this.timeout(240_000);
    await ensureBuilt();
  });
  beforeEach(async () => {
    ctl = await startController();
    proxy = await startTcpProxy(ctl.url);
    work = await mkdtemp(join(tmpdir(), 'ferry-fault-stall-'));
  });
  afterEach(async () => {
    await proxy.close();
    await ctl.close();
    await rm(work, { recursive: true, force: true });
  });

  function agentOnce(host: string, token: string): Promise<{ code: number | null; stderr: string }> {
    const args = [
      'agent',
      '--server',
      proxy.url,
      '--enroll-token',
      token,
      '--name',
      host,
      '--data',
      join(work, 'data'),
      '--install-root',
      join(work, 'root'),
      '--no-os-packages',
      '--once',
    ];
    const child = spawn(process.execPath, [ferryBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FERRY_CRASH_AT: '' } });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
  }

  it('`ferry agent` download dropped mid-body: resumed with Range from where it broke, installed once', async () => {
    const p = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 1_000_000));
    await ctl.setPlan('drop-1', [action(p)]);
    proxy.faults.push({ kind: 'drop', afterBytes: 300_000 });
    const run = await agentOnce('drop-1', await ctl.token());
    expect(run.code, run.stderr).to.equal(0);
    expect(proxy.fired.map((f) => f.kind)).to.deep.equal(['drop']);
    const gets = ctl.content.filter((c) => c.status < 300);
    expect(gets.length).to.equal(2);
    // Resumed from the bytes that reached the disk: at most what the proxy let through, and the rest only.
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]?.range ?? '')?.[1]);
    expect(from).to.be.within(1, 300_000);
    expect(gets[1]?.bytes).to.equal(p.size - from);
    expect((await readFile(join(work, 'root', 'cad.runs'), 'utf8')).trim()).to.equal('1.0.0');
    expect((await ctl.store.currentStates({ host: 'drop-1' }))[0]?.state).to.equal('installed');
  });

  it('a transfer that stalls mid-body fails at its timeout and resumes from the byte it reached', async () => {
    const p = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', 1_000_000));
    const host = 'stall-1';
    const token = await ctl.token();
    const client = new ControllerClient({ server: ctl.url });
    const enrolled = await client.enroll({ token, host, facts: {}, labels: {} });
    proxy.faults.push({ kind: 'stall', afterBytes: 300_000 });
    const progress: number[] = [];
    const result = await download({
      sources: [{ name: 'controller', url: `${proxy.url}/v1/content/${p.sha256}`, headers: { authorization: `Bearer ${enrolled.credential}` } }],
      sha256: p.sha256,
      size: p.size,
      dest: join(work, 'content', 'cad.tar.gz'),
      timeoutMs: 1000,
      baseDelayMs: 10,
      onProgress: (done) => progress.push(done),
    });
    expect(result.ok, JSON.stringify(result)).to.equal(true);
    expect(proxy.fired).to.deep.equal([{ kind: 'stall', afterBytes: 300_000, forwarded: 300_000 }]);
    if (!result.ok) return;
    expect(result.attempts.map((a) => a.error)).to.deep.equal(['no data for 1000 ms']);
    const ranges = ctl.content.filter((c) => c.status < 300).map((c) => c.range);
    expect(ranges[0]).to.equal(undefined);
    expect(ranges[1]).to.match(/^bytes=[1-9]\d*-$/);
    expect(result.bytesFetched).to.be.lessThan(p.size + 300_000);
  });

  for (const kind of ['drop', 'stall'] as const) {
    it(`reports whose answer is ${kind === 'drop' ? 'cut off' : 'never sent'}: the client fails (at its timeout), sends again, and each is stored once`, async () => {
      const host = `reports-${kind}`;
      const token = await ctl.token();
      const enroller = new ControllerClient({ server: ctl.url });
      const { credential } = await enroller.enroll({ token, host, facts: {}, labels: {} });
      const client = new ControllerClient({ server: proxy.url, timeoutMs: 1000 }, credential);
      const at = new Date().toISOString();
      const reports = [1, 2, 3].map((i) => ({ id: `r-${kind}-${i}`, actionId: `dep/p${i}@1.0.0/install`, serial: 1, state: 'installed' as const, at }));
      proxy.faults.push({ kind, afterBytes: 0 });
      const first = await client.postReports(host, reports).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(first).to.be.instanceOf(ApiFailure);
      expect((first as ApiFailure).retryable).to.equal(true);
      await client.postReports(host, reports);
      const history = await ctl.store.history(host);
      expect(history.map((r) => r.id).sort()).to.deep.equal(reports.map((r) => r.id));
    });
  }
});
