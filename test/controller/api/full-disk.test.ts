/**
 * A full disk (issue 15 item 6): a real controller whose data directory is a small tmpfs (root
 * only: mount). Every request is answered, writes with 503 `insufficient-storage`, /readyz is not
 * ready while the store cannot write, and all of it recovers without a restart when space returns.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningController } from '../../../controller/controller.js';
import { DirectoryContentStore } from '../../../controller/content/index.js';
import { startTestController } from '../../support/controller.js';
import { eventually } from '../../support/eventually.js';

interface Answer {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A request that must be answered: a hang fails the test (the signal), it is not a timing assertion. */
async function ask(url: string, method: string, token: string | undefined, body?: unknown, raw?: Buffer): Promise<Answer> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (raw !== undefined) headers['content-type'] = 'application/octet-stream';
  const res = await fetch(url, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Writes zeros to `file` until the file system is full. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

describe('a full data directory', function () {
  this.timeout(120_000);
  let mnt: string;
  let c: RunningController | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs needs root
    mnt = await mkdtemp(join(tmpdir(), 'ferry-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt]);
  });
  after(async () => {
    await c?.stop();
    if (mnt === undefined) return;
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it('answers every request, writes with 503 insufficient-storage, /readyz not ready; recovers when space returns', async () => {
    await cp(new URL('../../fixtures/controller/valid', import.meta.url), join(mnt, 'manifests'), { recursive: true });
    const data = join(mnt, 'data');
    c = await startTestController({ repo: join(mnt, 'manifests'), data });
    const url = c.url;
    const admin = (await readFile(join(data, 'admin.token'), 'utf8')).trim();
    const token = (await ask(`${url}/v1/tokens`, 'POST', admin, {})).body.token as string;
    const cred = (await ask(`${url}/v1/enroll`, 'POST', undefined, { token, host: 'h1' })).body.credential as string;
    // A second host that has not polled yet: its first poll is answered from memory (last seen is flushed later, in batches).
    const cred2 = (await ask(`${url}/v1/enroll`, 'POST', undefined, { token, host: 'h2' })).body.credential as string;
    const inventory = { facts: { os: { platform: 'linux' } }, labels: {}, software: [] };
    expect((await ask(`${url}/v1/hosts/h1/inventory`, 'PUT', cred, inventory)).status).to.equal(200);
    expect((await ask(`${url}/readyz`, 'GET', undefined)).status).to.equal(200);

    fill(join(mnt, 'filler'));
    const results = Array.from({ length: 40 }, (_, i) => ({
      id: `r${i}`,
      actionId: 'hello-lab/hello@1.0.0/install',
      serial: 1,
      state: 'failed',
      at: new Date().toISOString(),
      reason: 'x'.repeat(2000),
    }));
    const artifact = randomBytes(256 * 1024);
    const sha = createHash('sha256').update(artifact).digest('hex');
    const writes = [
      await ask(`${url}/v1/hosts/h1/reports`, 'POST', cred, { results }),
      await ask(`${url}/v1/hosts/h1/inventory`, 'PUT', cred, {
        ...inventory,
        software: Array.from({ length: 200 }, (_, i) => ({ name: `package-${i}`, version: `1.${i}.0`, source: 'dpkg' })),
      }),
      await ask(`${url}/v1/tokens`, 'POST', admin, {}),
      await ask(`${url}/v1/content/${sha}`, 'PUT', admin, undefined, artifact),
    ];
    expect(writes.map((w) => [w.status, w.body?.error?.code])).to.deep.equal(Array.from({ length: 4 }, () => [503, 'insufficient-storage']));
    expect((await ask(`${url}/v1/hosts/h2/plan`, 'GET', cred2)).status).to.equal(200);
    const ready = await ask(`${url}/readyz`, 'GET', undefined);
    expect({ status: ready.status, reason: ready.body.reason }).to.deep.equal({ status: 503, reason: 'insufficient-storage' });
    // Reads still work.
    expect((await ask(`${url}/v1/status`, 'GET', admin)).status).to.equal(200);

    await rm(join(mnt, 'filler'));
    await eventually(async () => (await ask(`${url}/readyz`, 'GET', undefined)).status === 200, '/readyz to recover');
    expect(await ask(`${url}/v1/hosts/h1/reports`, 'POST', cred, { results })).to.deep.equal({ status: 200, body: { accepted: 40, duplicates: 0 } });
  });

  it('the content store says "no space left on device while writing …"', async () => {
    const store = new DirectoryContentStore(join(mnt, 'content-only'));
    fill(join(mnt, 'filler'));
    try {
      const bytes = randomBytes(512 * 1024);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const err = await store.put([bytes], sha).then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect({ message: err?.message, code: err?.code }).to.deep.equal({ message: `no space left on device while writing ${store.path(sha)}`, code: 'ENOSPC' });
    } finally {
      await rm(join(mnt, 'filler'));
    }
  });
});
