/**
 * What the publisher-signature and key-rotation end-to-end tests share: a bare origin and an
 * admin's clone, a real `ferry controller` following origin, real `ferry agent` processes, the
 * real `ferry` commands (key generate, package build --sign, package push, token create), and
 * reads of the controller's admin API.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ChildGroup, type Child } from '../../cli/demo/children.js';
import { eventually } from '../support/eventually.js';
import { ferryBin, listeningUrl, runFerry, type RunResult } from '../support/ferry.js';

const execGit = promisify(execFile);
const identity = ['-c', 'user.name=Ferry Admin', '-c', 'user.email=admin@ferry.invalid', '-c', 'commit.gpgsign=false'];

/** One action of a host as `GET /v1/hosts/{host}` shows it. */
export interface HostState {
  readonly actionId: string;
  readonly state: string;
  readonly reason?: string;
}

export class TrustFleet {
  readonly children = new ChildGroup();
  /** The controller's own group: ChildGroup.stopAll stops every child of a group, and agents outlive controller restarts. */
  private controllerGroup = new ChildGroup();
  private controllerStarts = 0;
  readonly agents = new Map<string, Child>();
  controller: Child | undefined;
  url = '';
  token = '';

  private constructor(
    readonly root: string,
    readonly origin: string,
    readonly admin: string,
  ) {}

  static async create(prefix: string): Promise<TrustFleet> {
    const root = await mkdtemp(join(tmpdir(), prefix));
    const fleet = new TrustFleet(root, join(root, 'origin.git'), join(root, 'admin'));
    await mkdir(fleet.origin);
    await fleet.git(fleet.origin, 'init', '--quiet', '--bare', '--initial-branch=main');
    await mkdir(fleet.admin);
    await fleet.git(fleet.admin, 'init', '--quiet', '--initial-branch=main');
    await fleet.git(fleet.admin, 'remote', 'add', 'origin', fleet.origin);
    await mkdir(join(root, 'logs'));
    await mkdir(join(root, 'keys'));
    return fleet;
  }

  async git(cwd: string, ...args: string[]): Promise<string> {
    return (await execGit('git', [...identity, ...args], { cwd })).stdout.trim();
  }

  /** Commits everything in the admin clone and pushes it to origin; returns the commit. */
  async commitAndPush(message: string): Promise<string> {
    await this.git(this.admin, 'add', '-A');
    await this.git(this.admin, 'commit', '--quiet', '-m', message);
    await this.git(this.admin, 'push', '--quiet', 'origin', 'main');
    return this.git(this.admin, 'rev-parse', 'HEAD');
  }

  /** `ferry ARGS` against this controller, from the admin clone. */
  ferry(args: readonly string[]): Promise<RunResult> {
    return runFerry(args, { cwd: this.admin, env: { FERRY_SERVER: this.url, FERRY_TOKEN: this.token } });
  }

  /** `ferry ARGS`, expected to exit 0; its stdout. */
  async ferryOk(args: readonly string[]): Promise<string> {
    const r = await this.ferry(args);
    expect(r.code, `ferry ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  /** `ferry key generate --out ROOT/keys/NAME`: the key files and the fingerprint it printed. */
  async generateKey(name: string): Promise<{ privateKey: string; publicKey: string; fingerprint: string }> {
    const prefix = join(this.root, 'keys', name);
    const fingerprint = (await this.ferryOk(['key', 'generate', '--out', prefix])).trim();
    return { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub`, fingerprint };
  }

  /**
   * A package folder whose install writes `NAME` = `VERSION` (plus `salt`) under the install root,
   * built with `ferry package build` into the repo's artifacts/; returns the printed manifest.
   */
  async buildPackage(name: string, version: string, options: { sign?: string; salt?: string } = {}): Promise<string> {
    const dir = join(this.root, 'src', `${name}-${version}${options.salt ? `-${options.salt}` : ''}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'install.sh'), `#!/bin/sh\nset -eu\nprintf '%s\\n' '${version}${options.salt ?? ''}' > "$FERRY_INSTALL_ROOT/${name}"\n`);
    await writeFile(join(dir, 'uninstall.sh'), `#!/bin/sh\nrm -f "$FERRY_INSTALL_ROOT/${name}"\n`);
    return this.ferryOk(['package', 'build', dir, '--name', name, '--version', version, '--out', 'artifacts', ...(options.sign ? ['--sign', options.sign] : [])]);
  }

  /** Starts `ferry controller` on origin (poll 1h: only refresh() moves it) and waits for the first revision. */
  async startController(extra: readonly string[] = []): Promise<void> {
    this.controllerGroup = new ChildGroup();
    this.controller = this.controllerGroup.start({
      name: 'controller',
      // biome-ignore format: one flag and its value a line
      argv: [
        process.execPath, ferryBin, 'controller',
        '--repo', this.origin,
        '--data', join(this.root, 'controller'),
        '--listen', this.url ? new URL(this.url).host : '127.0.0.1:0',
        '--poll', '1h',
        ...extra,
      ],
      logFile: join(this.root, 'logs', `controller-${this.controllerStarts++}.log`),
      pipeStdout: true,
    });
    this.url = await listeningUrl(this.controller);
    this.token = (await readFile(join(this.root, 'controller', 'admin.token'), 'utf8')).trim();
    await eventually(async () => (await this.api<{ source: { lastAppliedRevision?: string } }>('/v1/status')).source.lastAppliedRevision, 'the first revision applied');
  }

  async stopController(): Promise<void> {
    await this.controllerGroup.stopAll([]);
    this.controller = undefined;
  }

  /** Asks the controller to fetch origin now; resolves once the fetched revision was reconciled. */
  async refresh(): Promise<{ lastAppliedRevision?: string; rejected?: unknown }> {
    const res = await fetch(`${this.url}/v1/source/refresh`, { method: 'POST', headers: { authorization: `Bearer ${this.token}` } });
    expect(res.status, await res.clone().text()).to.equal(200);
    return ((await res.json()) as { source: { lastAppliedRevision?: string } }).source;
  }

  async api<T>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** The host's current actions by id. */
  async states(host: string): Promise<Record<string, HostState>> {
    const d = await this.api<{ states: HostState[] }>(`/v1/hosts/${host}`);
    return Object.fromEntries(d.states.map((s) => [s.actionId, s]));
  }

  /** Waits until `host` reports `actionId` in `state`; returns its current view. */
  async waitFor(host: string, actionId: string, state: string, timeoutMs = 60_000): Promise<HostState> {
    return eventually(
      async () => {
        const s = (await this.states(host))[actionId];
        return s?.state === state ? s : undefined;
      },
      `${host}: ${actionId} ${state}`,
      timeoutMs,
    );
  }

  /** Starts `ferry agent` as host `name` (data in ROOT/hosts/NAME/data, installs under …/root). */
  startAgent(name: string, enrollToken: string, extra: readonly string[] = []): Child {
    const child = this.children.start({
      name,
      // biome-ignore format: one flag and its value a line
      argv: [
        process.execPath, ferryBin, 'agent',
        '--server', this.url,
        '--enroll-token', enrollToken,
        '--name', name,
        '--data', this.dataDir(name),
        '--install-root', this.installRoot(name),
        '--interval', '1s',
        '--no-os-packages',
        ...extra,
      ],
      logFile: join(this.root, 'logs', `${name}.log`),
    });
    this.agents.set(name, child);
    return child;
  }

  dataDir(host: string): string {
    return join(this.root, 'hosts', host, 'data');
  }

  installRoot(host: string): string {
    return join(this.root, 'hosts', host, 'root');
  }

  /** Stops every process; keeps ROOT when a test failed or FERRY_E2E_KEEP is set. */
  async close(failed: boolean): Promise<void> {
    await this.children.stopAll([]);
    await this.controllerGroup.stopAll([]);
    if (failed || process.env['FERRY_E2E_KEEP']) process.stderr.write(`e2e: kept ${this.root} (logs in ${join(this.root, 'logs')})\n`);
    else await rm(this.root, { recursive: true, force: true });
  }
}
