/**
 * `ferry demo` (`npm start`): the example fleet, for real. A fresh git repository holding
 * `examples/manifests` (plus a commit that makes its windows open within a minute), a controller
 * following it on embedded SQLite, and one `ferry agent` process per simulated host, each with its
 * own data folder, install root, labels and facts. Prints the dashboard address and admin token and
 * one line per change while the fleet converges; Ctrl-C stops every process.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { sha256File } from '../lib/transfer/verified.js';
import { parseDuration } from '../core/units/duration.js';
import { adminClient, type AdminClient } from './client.js';
import { ExitCode, UserError, setExitCode } from './errors.js';
import { ChildGroup, type Child } from './demo/children.js';
import { demoRelay, legacyEditorHosts, loadDemoFleet, type SimulatedHost } from './demo/fleet.js';
import { commitAll, git, initRepo } from './demo/git.js';
import { FleetMonitor, summarize, type Observation } from './demo/monitor.js';
import { applyDemoOverlay } from './demo/overlay.js';
import { describeRelay, freeLoopbackPort, relayFigures } from './demo/relay-figures.js';

interface DemoFlags {
  readonly exitWhenConverged?: boolean;
  readonly timeout: string;
  readonly keep?: boolean;
  readonly lunchIn: string;
}

export function configure(cmd: Command): void {
  cmd
    .description('a controller and local agents on the example fleet, with the dashboard; Ctrl-C stops it all')
    .option('--exit-when-converged', 'exit 0 once every deployment is settled (1 on failures or at --timeout)')
    .option('--timeout <DURATION>', 'with --exit-when-converged: give up after this long', '3m')
    .option('--lunch-in <DURATION>', 'when the demo\'s "lunch" install window opens', '20s')
    .option('--keep', 'keep the work folder (repository, logs, host folders) after exit')
    .action(async (flags: DemoFlags) => {
      setExitCode(cmd, await run(flags));
    });
}

/** The ferry checkout this command runs from: it has `examples/` and `bin/ferry.js`. */
function checkoutRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'examples', 'manifests')) && existsSync(join(dir, 'bin', 'ferry.js'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new UserError('cannot find examples/manifests next to this ferry; run the demo from a ferry checkout (npm start)');
    dir = up;
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function run(flags: DemoFlags): Promise<number> {
  const timeoutMs = parseDuration(flags.timeout);
  if (timeoutMs === undefined || timeoutMs < 1000) throw new UserError(`--timeout ${flags.timeout}: give a duration such as 3m or 90s`);
  const lunchMs = parseDuration(flags.lunchIn);
  if (lunchMs === undefined) throw new UserError(`--lunch-in ${flags.lunchIn}: give a duration such as 20s`);

  const root = checkoutRoot();
  const ferry = [process.execPath, join(root, 'bin', 'ferry.js')];
  const work = await mkdtemp(join(tmpdir(), 'ferry-demo-'));
  const children = new ChildGroup();
  let relay: Child | undefined;
  let agents: Child[] = [];
  let controller: Child | undefined;

  let stopRequested: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  let shuttingDown = false;
  // A second Ctrl-C while stopping: no more waiting, SIGKILL every group.
  const onSignal = (signal: NodeJS.Signals) => (shuttingDown ? children.killAllSync() : stopRequested(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const shutdown = async () => {
    shuttingDown = true;
    out('stopping: agents first, then the relay, then the controller …');
    await children.stopAll([agents, relay ? [relay] : [], controller ? [controller] : []]);
    if (flags.keep) out(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
    out(`stopped ${children.list().length} processes.`);
  };

  try {
    out(`ferry demo: work folder ${work}`);
    const logs = join(work, 'logs');
    await mkdir(logs);
    const relayUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;

    // 1. The manifest repository: the examples as shipped, then the demo overlay as its own commit.
    const repo = join(work, 'repo');
    await cp(join(root, 'examples', 'manifests'), repo, { recursive: true });
    await initRepo(repo);
    await commitAll(repo, 'The example fleet (examples/manifests)');
    const changes = await applyDemoOverlay(repo, { now: new Date(), lunchInSeconds: Math.round(lunchMs / 1000), relayUrl });
    const head = await commitAll(repo, `demo: windows open within a minute, a local relay\n\n${changes.map((c) => `- ${c.file}: ${c.what}`).join('\n')}\n`);
    out(`repository ${repo} (main @ ${head.slice(0, 12)}):`);
    for (const line of (await git(repo, ['log', '--oneline'])).trim().split('\n')) out(`  ${line}`);
    for (const c of changes) out(`    ${c.file}: ${c.what}`);

    await cp(join(root, 'examples', 'inventory.json'), join(work, 'inventory.json'));
    const cli = `node ${join(root, 'bin', 'ferry.js')}`;

    // 2. Hosts, and the legacy-editor some of them had before Ferry.
    const { hosts: fleet, relay: relayHost } = await loadDemoFleet(join(root, 'examples', 'inventory.json'));
    for (const h of [...fleet, relayHost]) await mkdir(join(work, 'hosts', h.name, 'root'), { recursive: true });
    for (const name of legacyEditorHosts) await installByHand(join(root, 'examples', 'packages', 'legacy-editor-1.0.3'), join(work, 'hosts', name, 'root'));

    // 3. The controller.
    const controllerData = join(work, 'controller');
    controller = children.start({
      name: 'controller',
      argv: [...ferry, 'controller', '--repo', repo, '--branch', 'main', '--data', controllerData, '--listen', '127.0.0.1:0', '--poll', '5s'],
      logFile: join(logs, 'controller.log'),
      cwd: work,
      pipeStdout: true,
    });
    const url = await controllerUrl(controller, stopped);
    const token = (await readFile(join(controllerData, 'admin.token'), 'utf8')).trim();
    const client = adminClient({ server: url, token });
    await waitReady(url, controller, stopped);

    // 4. Content: push every artifact of the repository to the controller's content store.
    const pushed = await pushArtifacts(client, join(repo, 'artifacts'));
    out(`pushed ${pushed} artifacts to the controller's content store (ferry package push)`);

    // 5. The Osaka relay: an agent enrolled as relay-osaka-01 that also serves the site (--relay),
    //    on the port the overlay named in the Relay manifest; then one agent per simulated host,
    //    the Osaka ones with the relay as their --server (they reach the controller through it).
    const enroll = await client.call<{ token: string }>('POST', '/v1/tokens', { ttl: '6h' });
    relay = startAgent(children, ferry, url, enroll.token, relayHost, work, logs, ['--relay', '--listen', relayUrl.replace(/^http:\/\//, ''), '--cache-size', '256MiB']);
    await waitHealthy(relayUrl, relay, stopped);
    agents = fleet.map((h) => startAgent(children, ferry, h.behindRelay ? relayUrl : url, enroll.token, h, work, logs));

    out('');
    out(`Dashboard:   ${url}/`);
    out(`Admin token: ${token}`);
    out(`CLI:         export FERRY_SERVER=${url} FERRY_TOKEN=${token}`);
    out(`             ${cli} status`);
    out(`Relay:       ${relayUrl}/metrics (relay ${demoRelay.relay} on ${relayHost.name}; the Osaka hosts' --server)`);
    out(`Logs:        ${logs}/ (controller.log, one file per host, ${relayHost.name}.log for the relay)`);
    out(`Try GitOps:  cd ${repo}, edit a manifest, preview it with`);
    out(`             ${cli} plan . --inventory ../inventory.json --base HEAD`);
    out(`             then git commit -am "…": the controller follows main within 5 s`);
    out('');
    out('Hosts (one `ferry agent` process each):');
    for (const h of [...fleet, relayHost]) out(`  ${h.name.padEnd(14)} ${h.role}`);
    out('');
    out(flags.exitWhenConverged ? `Watching the fleet converge (up to ${flags.timeout}):` : 'Watching the fleet converge (Ctrl-C stops every process):');

    const result = await watch(
      new FleetMonitor(
        client,
        [...fleet, relayHost].map((h) => h.name),
        out,
        { name: demoRelay.relay, url: relayUrl },
      ),
      {
        exitWhenConverged: flags.exitWhenConverged ?? false,
        timeoutMs,
        stopped,
        children: [controller, relay, ...agents],
        relay: { name: demoRelay.relay, url: relayUrl },
      },
    );
    if (result.kind === 'signal') return ExitCode.ok;
    if (result.kind === 'child-exited') {
      process.stderr.write(`ferry demo: ${result.message}\n`);
      return ExitCode.notOk;
    }
    const obs = result.observation;
    out('');
    if (result.kind === 'converged') {
      const failed = obs?.convergence.failures.length ?? 0;
      out(failed === 0 ? 'Converged: every deployment is settled.' : `Settled, but ${failed} action(s) failed:`);
      const figures = await relayFigures(relayUrl);
      if (figures) out(`Relay ${demoRelay.relay}: ${describeRelay(figures)}`);
      if (obs) out(summarize(obs.convergence).trimEnd());
      return failed === 0 ? ExitCode.ok : ExitCode.notOk;
    }
    out(`Not converged within ${flags.timeout}:`);
    if (obs) out(summarize(obs.convergence).trimEnd());
    return ExitCode.notOk;
  } finally {
    await shutdown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

type WatchResult =
  | { readonly kind: 'signal' }
  | { readonly kind: 'child-exited'; readonly message: string }
  | { readonly kind: 'converged' | 'timeout'; readonly observation?: Observation };

/** Polls once a second until a signal, an unexpected exit, convergence (when asked) or the timeout. */
async function watch(
  monitor: FleetMonitor,
  o: { exitWhenConverged: boolean; timeoutMs: number; stopped: Promise<string>; children: readonly Child[]; relay: { name: string; url: string } },
): Promise<WatchResult> {
  let signalled = false;
  void o.stopped.then(() => (signalled = true));
  const deadline = Date.now() + o.timeoutMs;
  let last: Observation | undefined;
  let settledSince: number | undefined;
  let announced = false;
  for (;;) {
    if (signalled) return { kind: 'signal' };
    const dead = o.children.find((c) => c.hasExited());
    if (dead) return { kind: 'child-exited', message: `${dead.name} exited unexpectedly; see ${dead.logFile}` };
    try {
      last = await monitor.poll();
      const settled = last.convergence.unsettled.length === 0;
      settledSince = settled ? (settledSince ?? Date.now()) : undefined;
      // Settled twice, a few seconds apart: a wave or a report in flight would have shown up.
      if (settledSince !== undefined && Date.now() - settledSince >= 3000) {
        if (o.exitWhenConverged) return { kind: 'converged', observation: last };
        if (!announced) {
          announced = true;
          out(`        converged: every deployment is settled. The dashboard stays up; Ctrl-C stops every process.`);
          const figures = await relayFigures(o.relay.url);
          if (figures) out(`        relay ${o.relay.name}: ${describeRelay(figures)}`);
        }
      }
    } catch (err) {
      // The controller may be busy or restarting; the next poll tells.
      if (!(err instanceof UserError)) throw err;
    }
    if (o.exitWhenConverged && Date.now() > deadline) return { kind: 'timeout', ...(last ? { observation: last } : {}) };
    await Promise.race([sleep(1000), o.stopped]);
  }
}

/** Reads `ferry controller listening on URL` from the controller's stdout (the rest goes to its log). */
async function controllerUrl(controller: Child, stopped: Promise<string>): Promise<string> {
  const stdout = controller.process.stdout!;
  const log = createWriteStream(controller.logFile, { flags: 'a' });
  const lines = createInterface({ input: stdout });
  const found = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
  });
  const failed = controller.exited.then(async () => {
    const tail = (await readFile(controller.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-15).join('\n');
    throw new UserError(`the controller exited before it listened:\n${tail}`, ExitCode.notOk);
  });
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 60_000).unref()).then(() => {
    throw new UserError(`the controller did not start within 60 s; see ${controller.logFile}`, ExitCode.notOk);
  });
  const interrupted = stopped.then(() => {
    throw new UserError('interrupted', ExitCode.ok);
  });
  return Promise.race([found, failed, timeout, interrupted]);
}

/** Waits until `/readyz` says the controller has read its source. */
async function waitReady(url: string, controller: Child, stopped: Promise<string>): Promise<void> {
  let interrupted = false;
  void stopped.then(() => (interrupted = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (interrupted) throw new UserError('interrupted', ExitCode.ok);
    if (controller.hasExited()) throw new UserError(`the controller exited; see ${controller.logFile}`, ExitCode.notOk);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new UserError(`the controller did not become ready within 60 s; see ${controller.logFile}`, ExitCode.notOk);
}

/** Waits until the relay answers `/healthz` on the URL the Relay manifest names. */
async function waitHealthy(url: string, relay: Child, stopped: Promise<string>): Promise<void> {
  let interrupted = false;
  void stopped.then(() => (interrupted = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (interrupted) throw new UserError('interrupted', ExitCode.ok);
    if (relay.hasExited()) throw new UserError(`the relay exited before it listened on ${url}; see ${relay.logFile}`, ExitCode.notOk);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new UserError(`the relay did not listen on ${url} within 60 s; see ${relay.logFile}`, ExitCode.notOk);
}

/** Uploads each `*.tar.gz` in `dir` under its sha256; returns how many. */
async function pushArtifacts(client: AdminClient, dir: string): Promise<number> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.tar.gz')).sort();
  for (const f of files) {
    const file = join(dir, f);
    const { size } = await stat(file);
    await client.upload('PUT', `/v1/content/${await sha256File(file)}`, createReadStream(file), size);
  }
  return files.length;
}

function startAgent(
  children: ChildGroup,
  ferry: readonly string[],
  url: string,
  token: string,
  h: SimulatedHost,
  work: string,
  logs: string,
  extra: readonly string[] = [],
): Child {
  const home = join(work, 'hosts', h.name);
  return children.start({
    name: h.name,
    argv: [
      ...ferry,
      'agent',
      '--server',
      url,
      '--enroll-token',
      token,
      '--name',
      h.name,
      ...h.labels.flatMap((l) => ['--label', l]),
      ...h.facts.flatMap((f) => ['--fact', f]),
      '--data',
      join(home, 'data'),
      '--install-root',
      join(home, 'root'),
      '--interval',
      '2s',
      '--no-os-packages',
      // cad-suite says shutdownAfter: a simulated host must not power off this machine.
      '--shutdown-command',
      'true',
      ...extra,
    ],
    logFile: join(logs, `${h.name}.log`),
    cwd: work,
  });
}

/** Runs a package's install.sh into `root`, as an admin did by hand before Ferry managed the host. */
async function installByHand(packageDir: string, root: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['install.sh'], {
      cwd: packageDir,
      env: { ...process.env, FERRY_PACKAGE_DIR: packageDir, FERRY_INSTALL_ROOT: root },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${packageDir}/install.sh exited ${code}`))));
  });
}
