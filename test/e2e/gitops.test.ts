/**
 * End to end, GitOps style, with real processes only: a bare "origin" repository and an admin's
 * clone, `ferry controller` following origin (poll 1h, so only the push webhook moves it), four
 * `ferry agent` processes as hosts, and the admin commands. A change goes through a branch,
 * `ferry plan --base main` previews it, the merge is pushed and announced by a signed webhook,
 * agents install; a bad commit is rejected with FILE:LINE and changes no plan; a fix applies;
 * `state: absent` uninstalls.
 */
import { expect } from 'chai';
import { createHmac, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildArtifact } from '../../cli/artifact.js';
import { ChildGroup, type Child } from '../../cli/demo/children.js';
import { eventually } from '../support/eventually.js';
import { ferryBin, listeningUrl, runFerry } from '../support/ferry.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const execGit = promisify(execFile);
const identity = ['-c', 'user.name=Ferry Admin', '-c', 'user.email=admin@ferry.invalid', '-c', 'commit.gpgsign=false'];

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await execGit('git', [...identity, ...args], { cwd })).stdout.trim();
}

const exists = (path: string): Promise<boolean> => stat(path).then(Boolean, () => false);

const hosts = [
  { name: 'web-1', role: 'web' },
  { name: 'web-2', role: 'web' },
  { name: 'db-1', role: 'db' },
  { name: 'db-2', role: 'db' },
] as const;

function packageManifest(name: string, version: string, a: { sha256: string; size: number }): string {
  return [
    '---',
    'apiVersion: ferry/v1',
    'kind: Package',
    `metadata: {name: ${name}}`,
    'spec:',
    `  version: "${version}"`,
    `  artifact: {sha256: ${a.sha256}, size: ${a.size}, source: artifacts/${name}-${version}.tar.gz}`,
    '  install: {command: [sh, install.sh]}',
    '  uninstall: {command: [sh, uninstall.sh]}',
    '',
  ].join('\n');
}

interface DeploymentView {
  counts: Record<string, number>;
  hosts: { items: { host: string; state: string }[] };
}

describe('GitOps end to end (real git, controller and agent processes)', function () {
  this.timeout(180_000);
  let root: string;
  let origin: string;
  let admin: string;
  let url: string;
  let token: string;
  let secret: string;
  const children = new ChildGroup();
  let agents: Child[] = [];
  let controller: Child | undefined;

  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  const env = () => ({ FERRY_SERVER: url, FERRY_TOKEN: token });

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** Commits everything in the admin clone on the current branch. */
  async function commit(message: string): Promise<string> {
    await git(admin, 'add', '-A');
    await git(admin, 'commit', '--quiet', '-m', message);
    return git(admin, 'rev-parse', 'HEAD');
  }

  /** Pushes main to origin and tells the controller with a GitHub-style signed push webhook. */
  async function pushAndNotify(): Promise<string> {
    const before = await git(origin, 'rev-parse', 'main').catch(() => '0'.repeat(40));
    await git(admin, 'push', '--quiet', 'origin', 'main');
    const after = await git(admin, 'rev-parse', 'main');
    const body = JSON.stringify({ ref: 'refs/heads/main', before, after, repository: { full_name: 'acme/fleet', clone_url: origin } });
    const res = await fetch(`${url}/v1/source/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status, await res.clone().text()).to.equal(202);
    return after;
  }

  async function deployment(name: string): Promise<DeploymentView> {
    return api<DeploymentView>(`/v1/deployments/${name}?limit=1000`);
  }

  /** The controller's count of plan requests answered, by outcome (`/metrics`, `ferry_plans_served_total`). */
  async function plansServed(): Promise<{ full: number; notModified: number }> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const count = (outcome: string) => Number(new RegExp(`^ferry_plans_served_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { full: count('200'), notModified: count('304') };
  }

  async function planSerials(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const h of hosts) out[h.name] = (await api<{ plan: { serial: number } }>(`/v1/hosts/${h.name}`)).plan.serial;
    return out;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-e2e-'));
    origin = join(root, 'origin.git');
    admin = join(root, 'admin');
    await mkdir(origin);
    await git(origin, 'init', '--quiet', '--bare', '--initial-branch=main');
    await mkdir(admin);
    await git(admin, 'init', '--quiet', '--initial-branch=main');
    await git(admin, 'remote', 'add', 'origin', origin);

    // The fleet's manifests, with both packages built reproducibly and committed as artifacts.
    await cp(join(fixtures, 'manifests'), admin, { recursive: true });
    await mkdir(join(admin, 'artifacts'));
    let packages = '# Packages (e2e fixture), written from ferry package build.\n';
    for (const [name, version] of [
      ['greeter', '1.0.0'],
      ['toolbox', '2.0.0'],
    ] as const) {
      const built = await buildArtifact(join(fixtures, 'packages', `${name}-${version}`), join(admin, 'artifacts', `${name}-${version}.tar.gz`));
      packages += packageManifest(name, version, built);
    }
    await writeFile(join(admin, 'packages.yaml'), packages);
    await commit('fleet: greeter everywhere');
    await git(admin, 'push', '--quiet', 'origin', 'main');

    secret = randomBytes(24).toString('hex');
    await writeFile(join(root, 'webhook.secret'), `${secret}\n`, { mode: 0o600 });
    await mkdir(join(root, 'logs'));
    controller = children.start({
      name: 'controller',
      // biome-ignore format: one flag and its value a line
      argv: [
        process.execPath, ferryBin, 'controller',
        '--repo', origin,
        '--data', join(root, 'controller'),
        '--listen', '127.0.0.1:0',
        '--poll', '1h',
        '--webhook-secret-file', join(root, 'webhook.secret'),
      ],
      logFile: join(root, 'logs', 'controller.log'),
      pipeStdout: true,
    });
    url = await listeningUrl(controller);
    token = (await readFile(join(root, 'controller', 'admin.token'), 'utf8')).trim();
    await eventually(async () => (await api<{ source: { lastAppliedRevision?: string } }>('/v1/status')).source.lastAppliedRevision, 'the first revision applied');

    // Content goes to the controller's store with the admin command, as an admin would.
    for (const file of ['greeter-1.0.0.tar.gz', 'toolbox-2.0.0.tar.gz']) {
      const pushed = await runFerry(['package', 'push', join(admin, 'artifacts', file)], { env: env() });
      expect(pushed.code, pushed.stderr).to.equal(0);
    }
    const created = await runFerry(['token', 'create', '--ttl', '1h'], { env: env() });
    expect(created.code, created.stderr).to.equal(0);
    const enrollToken = created.stdout.trim();

    agents = hosts.map((h) =>
      children.start({
        name: h.name,
        // biome-ignore format: one flag and its value a line
        argv: [
          process.execPath, ferryBin, 'agent',
          '--server', url,
          '--enroll-token', enrollToken,
          '--name', h.name,
          '--label', `role=${h.role}`,
          '--data', join(root, 'hosts', h.name, 'data'),
          '--install-root', join(root, 'hosts', h.name, 'root'),
          '--interval', '1s',
          '--no-os-packages',
        ],
        logFile: join(root, 'logs', `${h.name}.log`),
      }),
    );
  });

  after(async () => {
    await children.stopAll([agents, controller ? [controller] : []]);
    if (failed || process.env['FERRY_E2E_KEEP']) {
      process.stderr.write(`e2e: kept ${root} (logs in ${join(root, 'logs')})\n`);
    } else {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('the first revision installs greeter on every host', async () => {
    await eventually(async () => ((await deployment('greeter')).counts['installed'] === 4 ? true : undefined), 'greeter installed on 4 hosts');
    for (const h of hosts) expect(await readFile(join(root, 'hosts', h.name, 'root', 'opt', 'greeter', 'VERSION'), 'utf8')).to.equal('1.0.0\n');
  });

  it('a change on a branch: ferry plan --base main names exactly the hosts it changes', async () => {
    await git(admin, 'checkout', '--quiet', '-b', 'add-toolbox');
    await cp(join(fixtures, 'toolbox-deployment.yaml'), join(admin, 'deployments', 'toolbox.yaml'));
    await commit('toolbox on the web servers');

    // The inventory the preview plans against: what the agents reported to the controller.
    const inventory = [];
    for (const h of hosts) {
      const { inventory: rec } = await api<{ inventory: { inventory: { host: string; facts: unknown; labels: unknown; software: unknown } } }>(`/v1/hosts/${h.name}`);
      const { host, facts, labels, software } = rec.inventory;
      inventory.push({ host, facts, labels, software });
    }
    await writeFile(join(root, 'inventory.json'), JSON.stringify(inventory, null, 2));

    const plan = await runFerry(['plan', '.', '--inventory', join(root, 'inventory.json'), '--base', 'main', '--format', 'json'], { cwd: admin });
    expect(plan.code, plan.stderr).to.equal(0);
    const diff = JSON.parse(plan.stdout) as { hosts: { host: string; added: { package: string; version: string }[]; removed: unknown[] }[] };
    expect(diff.hosts.map((h) => h.host).sort()).to.deep.equal(['web-1', 'web-2']);
    for (const h of diff.hosts) {
      expect(h.added.map((a) => `${a.package}@${a.version}`)).to.deep.equal(['toolbox@2.0.0']);
      expect(h.removed).to.deep.equal([]);
    }
  });

  it('merged and pushed, the webhook brings it to the controller; agents install; ferry status exits 0', async () => {
    await git(admin, 'checkout', '--quiet', 'main');
    await git(admin, 'merge', '--quiet', '--no-ff', '-m', 'Merge branch add-toolbox', 'add-toolbox');
    const head = await pushAndNotify();

    await eventually(async () => {
      const s = await api<{ source: { lastAppliedRevision?: string } }>('/v1/status');
      return s.source.lastAppliedRevision?.includes(head) ? true : undefined;
    }, 'the merge applied');
    const view = await eventually(async () => {
      const d = await deployment('toolbox');
      return d.counts['installed'] === 2 ? d : undefined;
    }, 'toolbox installed on both web servers');
    expect(view.counts).to.deep.equal({ installed: 2 });
    expect(view.hosts.items.map((h) => `${h.host}:${h.state}`)).to.deep.equal(['web-1:installed', 'web-2:installed']);
    for (const h of hosts) {
      const has = await exists(join(root, 'hosts', h.name, 'root', 'opt', 'toolbox', 'bin', 'toolbox'));
      expect(has, h.name).to.equal(h.role === 'web');
    }

    const status = await runFerry(['status'], { env: env() });
    expect(status.code, status.stdout + status.stderr).to.equal(0);
    expect(status.stdout).to.match(/^greeter\s+active\s+installed 4$/m);
    expect(status.stdout).to.match(/^toolbox\s+active\s+installed 2$/m);
    expect(status.stdout).to.include(`applied revision:   main@sha1:${head}`);
  });

  it('an invalid commit is rejected with FILE:LINE, plans stay as they are; a fixing commit applies', async () => {
    const applied = (await api<{ source: { lastAppliedRevision: string } }>('/v1/status')).source.lastAppliedRevision;
    const serials = await planSerials();
    const served = await plansServed();
    const file = join(admin, 'deployments', 'toolbox.yaml');
    const good = await readFile(file, 'utf8');
    // A misspelled key (`target`) on line 9: unknown keys are errors.
    await writeFile(file, good.replace('  targets: {groups: [web]}', '  targets: {groups: [web]}\n  target: {groups: [db]}'));
    expect((await readFile(file, 'utf8')).split('\n')[8]).to.equal('  target: {groups: [db]}');
    await commit('toolbox on the database servers too (typo)');
    const bad = await pushAndNotify();

    const rejected = await eventually(async () => {
      const s = await api<{ source: { rejected?: { revision: string; problems: { file: string; line: number }[] } } }>('/v1/status');
      return s.source.rejected?.revision.includes(bad) ? s.source.rejected : undefined;
    }, 'the bad commit rejected');
    expect(rejected.problems.map((p) => `${p.file}:${p.line}`)).to.include('deployments/toolbox.yaml:9');

    const status = await runFerry(['status'], { env: env() });
    expect(status.stdout).to.match(/REJECTED revision \S*\b[0-9a-f]{7,}/);
    expect(status.stdout).to.match(/deployments\/toolbox\.yaml:9:\d+: error: /);
    expect(status.stdout).to.include(`applied revision:   ${applied}`);

    // Agents keep polling through it and nothing changes for them: once the controller has answered
    // two more polls per host after the rejection, every poll since the push was a 304 and no plan
    // has a new serial.
    const polled = (await plansServed()).notModified;
    const after = await eventually(
      async () => {
        const now = await plansServed();
        return now.notModified >= polled + 2 * hosts.length ? now : undefined;
      },
      `${2 * hosts.length} plan polls answered after the rejection`,
    );
    expect(after.full, 'full plans served since the push').to.equal(served.full);
    expect(await planSerials()).to.deep.equal(serials);
    expect((await deployment('toolbox')).counts).to.deep.equal({ installed: 2 });

    await writeFile(file, good);
    await commit('fix the typo');
    const fixed = await pushAndNotify();
    await eventually(async () => {
      const s = await api<{ source: { lastAppliedRevision?: string; rejected?: unknown } }>('/v1/status');
      return s.source.lastAppliedRevision?.includes(fixed) && s.source.rejected === undefined ? true : undefined;
    }, 'the fix applied');
    expect(await planSerials()).to.deep.equal(serials);
  });

  it('state: absent uninstalls: files gone from the install roots, status uninstalled', async () => {
    const file = join(admin, 'deployments', 'toolbox.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('state: present', 'state: absent'));
    await commit('retire the toolbox');
    await pushAndNotify();

    const view = await eventually(
      async () => {
        const d = await deployment('toolbox');
        return d.counts['uninstalled'] === 2 ? d : undefined;
      },
      'toolbox uninstalled on both web servers',
      45_000,
    );
    expect(view.hosts.items.map((h) => `${h.host}:${h.state}`)).to.deep.equal(['web-1:uninstalled', 'web-2:uninstalled']);
    // Only the actions of the current plans count: the retired install actions' `installed` is history.
    expect(view.counts).to.deep.equal({ uninstalled: 2 });
    for (const h of hosts) expect(await exists(join(root, 'hosts', h.name, 'root', 'opt', 'toolbox')), h.name).to.equal(false);
    // greeter is untouched.
    for (const h of hosts) expect(await exists(join(root, 'hosts', h.name, 'root', 'opt', 'greeter', 'VERSION')), h.name).to.equal(true);

    const status = await runFerry(['status'], { env: env() });
    expect(status.code, status.stdout + status.stderr).to.equal(0);
    // Exactly the uninstalls: no stale `installed` from the retired install actions.
    expect(status.stdout, status.stdout).to.match(/^toolbox\s+active\s+uninstalled 2$/m);
    const one = await runFerry(['status', 'toolbox'], { env: env() });
    expect(one.code, one.stdout + one.stderr).to.equal(0);
    expect(one.stdout).to.match(/^web-1\s+uninstalled\s+2\.0\.0\s/m);
    expect(one.stdout).to.match(/^web-2\s+uninstalled\s+2\.0\.0\s/m);
  });
});
