/** The controller's log format follows the stream it writes to (stderr), not stdout. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ferryBin, repoRoot } from '../support/ferry.js';

const ptyRun = fileURLToPath(new URL('./support/pty-run.py', import.meta.url));

/** Starts `ferry controller` with `tty` on a terminal and the other stream on a pipe, until it has logged that the source applied. */
function controllerWith(tty: 'stdout' | 'stderr', dir: string): Promise<{ tty: string; pipe: string }> {
  const args = [
    ptyRun,
    tty,
    'revision applied',
    '--',
    process.execPath,
    ferryBin,
    'controller',
    '--repo',
    join(dir, 'manifests'),
    '--data',
    join(dir, `data-${tty}`),
    '--listen',
    '127.0.0.1:0',
  ];
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', args, { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as { tty: string; pipe: string })));
  });
}

describe('ferry controller log format', function () {
  this.timeout(90_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-logfmt-'));
    await cp(join(repoRoot, 'examples', 'manifests'), join(dir, 'manifests'), { recursive: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes JSON lines to stderr on a pipe even when stdout is a terminal', async () => {
    const r = await controllerWith('stdout', dir);
    const lines = r.pipe.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length, r.pipe).to.be.greaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.to.throw();
    expect(r.tty).to.contain('ferry controller listening on');
  });

  it('writes readable lines to stderr on a terminal even when stdout is a pipe', async () => {
    const r = await controllerWith('stderr', dir);
    expect(r.tty).to.match(/INFO.*revision applied/);
    expect(r.tty).not.to.match(/^\{"level"/m);
  });
});
