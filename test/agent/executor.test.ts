import { expect } from 'chai';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandSpec } from '../../core/manifest/types.js';
import { runCommand } from '../../agent/executor/run-command.js';

const spec = (command: string[], timeoutMs = 20_000, env: Record<string, string> = {}): CommandSpec => ({ command, timeoutMs, env });

/** True while `pid` runs (a zombie waiting to be reaped counts as gone). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('agent/executor runCommand', () => {
  let dir: string;
  let options: { cwd: string; env: { FERRY_PACKAGE_DIR: string; FERRY_INSTALL_ROOT: string } };
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ferry-exec-')));
    options = { cwd: dir, env: { FERRY_PACKAGE_DIR: dir, FERRY_INSTALL_ROOT: join(dir, 'root') } };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the exit code and the output of stdout and stderr', async () => {
    const r = await runCommand(spec(['sh', '-c', 'echo out; echo err >&2; exit 3']), options);
    expect(r).to.deep.include({ exitCode: 3, signal: null, timedOut: false, aborted: false, reason: 'exited with code 3' });
    expect(r.output.split('\n').sort()).to.deep.equal(['', 'err', 'out']);
  });

  it('succeeds without a reason, in the given working directory, with stdin closed', async () => {
    const r = await runCommand(spec(['sh', '-c', 'pwd; cat; echo done']), options);
    expect(r).to.deep.include({ exitCode: 0, signal: null, timedOut: false, output: `${dir}\ndone\n` });
    expect(r).to.not.have.property('reason');
  });

  it('keeps only the last 4 KiB of a long output', async () => {
    const r = await runCommand(spec(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done; echo END']), options);
    expect(r.exitCode).to.equal(0);
    expect(Buffer.byteLength(r.output)).to.equal(4096);
    expect(r.output.endsWith('line-2999\nEND\n')).to.equal(true);
  });

  it('runs argv without a shell', async () => {
    const r = await runCommand(spec(['echo', '$HOME; echo injected']), options);
    expect(r.output).to.equal('$HOME; echo injected\n');
  });

  it('gives a minimal environment: Ferry variables and the spec env, not the agent’s secrets', async () => {
    process.env.FERRY_TEST_SECRET = 'hunter2';
    try {
      const r = await runCommand(spec(['env'], 20_000, { MODE: 'quiet', FERRY_PACKAGE_DIR: '/spoofed' }), options);
      const vars = Object.fromEntries(
        r.output
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(Object.keys(vars).sort()).to.deep.equal(['FERRY_INSTALL_ROOT', 'FERRY_PACKAGE_DIR', 'HOME', 'LANG', 'MODE', 'PATH']);
      expect(vars).to.include({ FERRY_PACKAGE_DIR: dir, FERRY_INSTALL_ROOT: join(dir, 'root'), MODE: 'quiet' });
    } finally {
      delete process.env.FERRY_TEST_SECRET;
    }
  });

  it('reports a missing program as exit 127, not a throw', async () => {
    const r = await runCommand(spec(['ferry-no-such-program']), options);
    expect(r).to.deep.include({ exitCode: 127, signal: null, timedOut: false, output: '', reason: 'command not found: ferry-no-such-program' });
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    let leader = 0;
    const r = await runCommand(spec(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; echo started; wait`], 500), {
      ...options,
      killGraceMs: 1000,
      onSpawn: (pid) => (leader = pid),
    });
    expect(r).to.deep.include({ exitCode: null, signal: 'SIGTERM', timedOut: true, reason: 'timed out after 500 ms', output: 'started\n' });
    expect(r.durationMs).to.be.at.least(500);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    const deadline = Date.now() + 5000;
    while ((isAlive(grandchild) || isAlive(leader)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(isAlive(grandchild), 'grandchild sleep still running').to.equal(false);
    expect(isAlive(leader)).to.equal(false);
  });

  it('escalates to SIGKILL when the program ignores SIGTERM', async () => {
    const r = await runCommand(spec(['sh', '-c', "trap '' TERM; echo ready; while true; do sleep 0.05; done"], 300), {
      ...options,
      killGraceMs: 300,
    });
    expect(r).to.deep.include({ exitCode: null, signal: 'SIGKILL', timedOut: true });
  });

  it('kills the group when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const r = await runCommand(spec(['sleep', '30']), { ...options, signal: controller.signal });
    expect(r).to.deep.include({ exitCode: null, signal: 'SIGTERM', timedOut: false, aborted: true, reason: 'aborted' });
  });
});
