import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { commands } from '../../cli/commands.js';
import { agentVersion } from '../../agent/version.js';
import { runFerry } from '../support/ferry.js';

describe('ferry --help', () => {
  it('lists every subcommand of DESIGN §3 and exits 0', async () => {
    const r = await runFerry(['--help']);
    expect(r.code).to.equal(0);
    for (const c of commands) expect(r.stdout).to.contain(`  ${c.words.join(' ')}`);
    const names = commands.map((c) => c.words.join(' '));
    expect(names).to.include.members([
      'validate',
      'plan',
      'controller',
      'agent',
      'package build',
      'package push',
      'token create',
      'status',
      'hosts',
      'suspend',
      'resume',
      'wake',
      'bundle export',
      'bundle apply',
      'results import',
      'demo',
    ]);
  });

  it("--version prints package.json's version, the one the agent reports", async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runFerry(['--version']);
    expect({ code: r.code, stdout: r.stdout, agent: agentVersion }).to.deep.equal({ code: 0, stdout: `${version}\n`, agent: version });
  });

  it('`ferry help validate` shows the help of validate', async () => {
    const r = await runFerry(['help', 'validate']);
    const own = await runFerry(['validate', '--help']);
    expect({ code: r.code, stdout: r.stdout }).to.deep.equal({ code: 0, stdout: own.stdout });
    expect(r.stdout).to.contain('Usage: ferry validate');
  });

  it('suggests the command a typo was close to', async () => {
    const r = await runFerry(['valdate', 'examples/manifests']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("unknown command 'valdate examples/manifests'; did you mean `ferry validate`?");
  });

  const usageCases = [
    { name: 'no command', args: [], stderr: '' },
    { name: 'an unknown command', args: ['frobnicate'], stderr: "unknown command 'frobnicate'" },
    { name: 'a group without its verb', args: ['package'], stderr: '`ferry package build` or `ferry package push`' },
    { name: 'a controller poll shorter than 1s', args: ['controller', '--poll', '500ms'], stderr: '--poll 500ms: give a duration of at least 1s' },
    {
      name: 'a report retention that is not a duration',
      args: ['controller', '--report-retention', '3 months'],
      stderr: '--report-retention 3 months: give a duration of at least 1h, e.g. 90d, or "forever"',
    },
    { name: 'an enrollment rate that is not a count', args: ['controller', '--enroll-rate', 'fast'], stderr: '--enroll-rate fast: give a whole number of enrollments per minute' },
  ];
  for (const c of usageCases) {
    it(`exits 2 on ${c.name}`, async () => {
      const r = await runFerry(c.args);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain(c.stderr);
    });
  }
});
