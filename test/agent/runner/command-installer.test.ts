/** The real Installer over real processes: each way a program ends, as a typed outcome. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandInstaller } from '../../../agent/runner/command-installer.js';
import type { CommandOutcome } from '../../../agent/runner/installer.js';

describe('agent/runner/command-installer: how a program ended', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-installer-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: { name: string; command: string[]; timeoutMs?: number; expected: (dir: string) => Omit<CommandOutcome, 'durationMs'> }[] = [
    {
      name: 'exit 0: succeeded, with its output and Ferry variables',
      command: ['sh', '-c', 'echo "$FERRY_PACKAGE_DIR $FERRY_INSTALL_ROOT"'],
      expected: (d) => ({ kind: 'succeeded', exitCode: 0, output: `${d} /install-root\n` }),
    },
    {
      name: 'exit 7: failed, with the reason',
      command: ['sh', '-c', 'echo nope >&2; exit 7'],
      expected: () => ({ kind: 'failed', exitCode: 7, output: 'nope\n', reason: 'exited with code 7' }),
    },
    {
      name: 'no such program: not run',
      command: ['ferry-test-no-such-program'],
      expected: () => ({ kind: 'not-run', exitCode: 127, output: '', reason: 'command not found: ferry-test-no-such-program' }),
    },
    {
      name: 'a shell that cannot find its command (127): not run',
      command: ['sh', '-c', 'exit 127'],
      expected: () => ({ kind: 'not-run', exitCode: 127, output: '', reason: 'exited with code 127' }),
    },
    { name: 'past its timeout: killed, no exit code', command: ['sleep', '5'], timeoutMs: 100, expected: () => ({ kind: 'killed', output: '', reason: 'timed out after 100 ms' }) },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { durationMs, ...rest } = await new CommandInstaller('/install-root').run({ command: c.command, timeoutMs: c.timeoutMs ?? 10_000, env: {} }, { dir });
      expect(durationMs).to.be.a('number');
      expect(rest).to.deep.equal(c.expected(dir));
    });
  }
});
