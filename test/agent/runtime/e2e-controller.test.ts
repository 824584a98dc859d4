/** The agent against the whole controller process (`startController` on a manifests directory): the plan comes from the planner. */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../agent/agent.js';
import { MemorySink } from '../../../agent/log/events.js';
import type { RunningController } from '../../../controller/controller.js';
import { startTestController } from '../../support/controller.js';
import { eventually } from '../../support/eventually.js';
import { buildTestArtifact, packageFiles } from './fixture.js';

describe('agent runtime: against startController (manifests directory)', function () {
  this.timeout(60_000);
  let work: string;
  let controller: RunningController | undefined;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'ferry-agent-e2e-'));
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await rm(work, { recursive: true, force: true });
  });

  it('plans from manifests, the agent installs, the controller records it installed', async () => {
    const manifests = join(work, 'manifests');
    const artifact = join(manifests, 'artifacts', 'notes-1.0.0.tar.gz');
    const info = await buildTestArtifact(join(work, 'pkg'), artifact, packageFiles('notes', '1.0.0', 2048));
    await writeFile(
      join(manifests, 'fleet.yaml'),
      [
        'apiVersion: ferry/v1',
        'kind: Package',
        'metadata: {name: notes}',
        'spec:',
        '  version: "1.0.0"',
        `  artifact: {sha256: ${info.sha256}, size: ${info.size}, source: artifacts/notes-1.0.0.tar.gz}`,
        '  install: {command: [sh, install.sh], timeout: 1m}',
        '  uninstall: {command: [sh, uninstall.sh], timeout: 1m}',
        `  detect: {command: [sh, -c, 'test -f "$FERRY_INSTALL_ROOT/opt/notes/VERSION"']}`,
        '---',
        'apiVersion: ferry/v1',
        'kind: Deployment',
        'metadata: {name: notes-1}',
        'spec:',
        '  packages: [{name: notes, version: "1.0.0", state: present}]',
        '  targets: {hosts: [e2e1]}',
        '',
      ].join('\n'),
    );
    const data = join(work, 'ctl');
    controller = await startTestController({ dir: manifests, data, pollMs: 1000 });
    const c = controller;
    // Make sure the content is there even if the source does not import artifacts itself.
    const put = await fetch(`${c.url}/v1/content/${info.sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${c.keys.adminToken}`, 'content-type': 'application/octet-stream' },
      body: await readFile(artifact),
    });
    expect(put.status).to.be.oneOf([200, 201]);
    const { token } = await c.store.createToken({ ttlMs: 3_600_000, now: new Date() });
    const root = join(work, 'root');
    const agentOptions = {
      server: c.url,
      dataDir: join(work, 'agent'),
      installRoot: root,
      name: 'e2e1',
      labels: {},
      facts: [],
      enrollToken: token,
      intervalMs: 1000,
      shutdownCommand: ['true'],
      osPackages: false,
    };
    await eventually(
      async () => {
        const agent = await Agent.open({ ...agentOptions, events: new MemorySink() });
        try {
          await agent.runOnce();
        } finally {
          await agent.close();
        }
        const states = await c.store.currentStates({ host: 'e2e1' });
        return states.find((s) => s.actionId === 'notes-1/notes@1.0.0/install' && s.state === 'installed');
      },
      'notes installed through the controller',
      40_000,
    );
    expect((await readFile(join(root, 'opt/notes/VERSION'), 'utf8')).trim()).to.equal('1.0.0');
    expect(await c.store.listInstalled({ host: 'e2e1' })).to.have.length(1);
  });
});
