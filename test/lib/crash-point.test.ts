/** lib/crash-point.ts: inert without FERRY_CRASH_AT; with NAME[:N] a real process SIGKILLs itself at the Nth visit, and not before. */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crashPoints, parseCrashAt } from '../../lib/crash-point.js';
import { repoRoot } from '../support/ferry.js';

/** Runs a node process (TypeScript through tsx) that visits `agent.install.after-exec` three times, printing a line after each. */
function visitThrice(env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const script = [
    "import { crashPoint } from './lib/crash-point.ts';",
    "for (let i = 1; i <= 3; i++) { crashPoint('agent.install.after-exec'); process.stdout.write('visit ' + i + '\\n'); }",
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('crash points (lib/crash-point.ts)', function () {
  this.timeout(60_000);

  const cases: { name: string; value: string | undefined; want: ReturnType<typeof parseCrashAt> }[] = [
    { name: 'unset', value: undefined, want: undefined },
    { name: 'empty', value: '', want: undefined },
    { name: 'a name: the first visit', value: 'agent.install.after-exec', want: { name: 'agent.install.after-exec', at: 1 } },
    { name: 'a name and a count', value: 'controller.reports.stored:12', want: { name: 'controller.reports.stored', at: 12 } },
    {
      name: 'an unknown name is a problem',
      value: 'agent.install.typo',
      want: { problem: 'FERRY_CRASH_AT=agent.install.typo: not a crash point (NAME or NAME:N; names in lib/crash-point.ts); ignored' },
    },
    {
      name: 'a zero count is a problem',
      value: 'agent.install.after-exec:0',
      want: { problem: 'FERRY_CRASH_AT=agent.install.after-exec:0: not a crash point (NAME or NAME:N; names in lib/crash-point.ts); ignored' },
    },
  ];
  for (const c of cases) it(`parses ${c.name}`, () => expect(parseCrashAt(c.value)).to.deep.equal(c.want));

  it('inert when the variable is unset: every visit returns', async () => {
    const r = await visitThrice({ FERRY_CRASH_AT: '' });
    expect(r).to.deep.include({ code: 0, signal: null, stdout: 'visit 1\nvisit 2\nvisit 3\n' });
  });

  it('a name that is no crash point: said on stderr, every visit returns', async () => {
    const r = await visitThrice({ FERRY_CRASH_AT: 'agent.install.typo' });
    expect(r).to.deep.include({ code: 0, signal: null, stdout: 'visit 1\nvisit 2\nvisit 3\n' });
    expect(r.stderr).to.contain('FERRY_CRASH_AT=agent.install.typo: not a crash point');
  });

  it('armed at another point: every visit returns', async () => {
    const r = await visitThrice({ FERRY_CRASH_AT: 'agent.install.before-exec' });
    expect(r).to.deep.include({ code: 0, signal: null, stdout: 'visit 1\nvisit 2\nvisit 3\n' });
  });

  it('armed at NAME:2: the process is SIGKILLed at the second visit, saying where', async () => {
    const r = await visitThrice({ FERRY_CRASH_AT: 'agent.install.after-exec:2' });
    expect(r).to.deep.include({ code: null, signal: 'SIGKILL', stdout: 'visit 1\n' });
    expect(r.stderr).to.match(/^crash point agent\.install\.after-exec:2 reached; killing process \d+\n$/);
  });

  it('every point is documented in docs/development.md', () => {
    const doc = readFileSync(join(repoRoot, 'docs/development.md'), 'utf8');
    expect(Object.keys(crashPoints).filter((p) => !doc.includes(`\`${p}\``))).to.deep.equal([]);
  });
});
