/**
 * The agent's disk full during a download: `DATA/content` is a small tmpfs the test mounts (as
 * root), smaller than the artifact. The agent fails the download with a clear reason (no space
 * left), reports it, and keeps no complete artifact (a partial file keeps what was written, an
 * empty one is dropped); once the tmpfs is grown ("space returns") the
 * next cycle downloads again (a failed download is retried on the next pass) and installs once.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from '../../agent/agent.js';
import { MemorySink } from '../../agent/log/events.js';
import { action, packageFiles, startController, type TestController } from '../agent/runtime/fixture.js';

const run = promisify(execFile);

describe('fault: the agent disk full during a download', function () {
  this.timeout(60_000);
  let ctl: TestController;
  let work: string;
  let mounted: string | undefined;

  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs needs root
  });
  beforeEach(async () => {
    ctl = await startController();
    work = await mkdtemp(join(tmpdir(), 'ferry-fault-disk-'));
  });
  afterEach(async () => {
    if (mounted) await run('umount', [mounted]);
    mounted = undefined;
    await ctl?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function once(token: string): Promise<{ code: number; events: MemorySink }> {
    const events = new MemorySink();
    const agent = await Agent.open({
      server: ctl.url,
      dataDir: join(work, 'data'),
      installRoot: join(work, 'root'),
      name: 'disk-1',
      labels: {},
      facts: [],
      enrollToken: token,
      intervalMs: 1000,
      shutdownCommand: ['true'],
      osPackages: false,
      events,
    });
    try {
      return { code: await agent.runOnce(), events };
    } finally {
      await agent.close();
    }
  }

  it('fails clearly with no space left, and downloads and installs on the next cycle once space returns', async () => {
    const p = await ctl.pushPackage('big', '1.0.0', packageFiles('big', '1.0.0', 3_000_000));
    const content = join(work, 'data', 'content');
    await mkdir(content, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', content]);
    mounted = content;
    const id = 'dep/big@1.0.0/install';
    await ctl.setPlan('disk-1', [action(p)]);
    const token = await ctl.token();

    const full = await once(token);
    expect(full.code).to.equal(1);
    const failed = (await ctl.store.currentStates({ host: 'disk-1' })).find((s) => s.actionId === id)?.report;
    expect(failed?.state).to.equal('failed');
    expect(failed?.reason).to.match(/ENOSPC|no space left on device/i);
    // No artifact is kept as complete: at most the partial file, with what was written before the
    // disk filled (an empty one is dropped), which the next cycle resumes from.
    expect(readdirSync(content).filter((f) => !f.endsWith('.part'))).to.deep.equal([]);

    await run('mount', ['-o', 'remount,size=8m', content]);
    const again = await once(token);
    expect(again.code).to.equal(0);
    const gets = ctl.content.filter((c) => c.status < 300);
    expect(gets.length).to.equal(2);
    expect((await ctl.store.currentStates({ host: 'disk-1' })).find((s) => s.actionId === id)?.state).to.equal('installed');
    expect((await readFile(join(work, 'root', 'big.runs'), 'utf8')).trim()).to.equal('1.0.0');
  });
});
