/** `ferry agent`: the program on every host (DESIGN §3): enroll, report inventory, apply the plan, report. */
import { type Command, Option } from 'commander';
import { parseSize } from '../core/manifest/units.js';
import { parseDuration } from '../core/units/duration.js';
import { Agent } from '../agent/agent.js';
import { EnrollError } from '../agent/enroll/enroll.js';
import { DataLockedError } from '../agent/lock.js';
import { TrustFileError } from '../agent/trust/pinned-publishers.js';
import { parseFactOverride, parseLabel, type FactOverride } from '../agent/inventory/overrides.js';
import { LogSink, TerminalSink } from '../agent/log/events.js';
import { startRelay, type RelayFlags } from './agent-relay.js';
import { defaultWakeBroadcast, parseBroadcastAddress } from '../lib/wake/broadcast-address.js';
import { isIPv4 } from 'node:net';
import { ExitCode, UserError, setExitCode } from './errors.js';

interface AgentFlags {
  readonly server?: string;
  readonly enrollToken?: string;
  readonly name?: string;
  readonly label: string[];
  readonly fact: string[];
  readonly data: string;
  readonly installRoot: string;
  readonly interval: string;
  readonly once?: boolean;
  readonly controllerKey?: string;
  readonly trustPublisher: string[];
  readonly shutdownCommand: string;
  readonly osPackages: boolean;
  readonly relay?: boolean;
  readonly listen?: string;
  readonly cacheSize: string;
  readonly wakeBroadcast?: string;
  readonly multicastInterface?: string;
  readonly multicastTestDropRate?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function configure(cmd: Command): void {
  cmd
    .description('run the agent: enroll, report inventory, poll the signed plan, download, install, report')
    .option('--server <URL>', 'controller URL (env FERRY_SERVER)')
    .option('--enroll-token <TOKEN>', 'enrollment token, needed once (env FERRY_ENROLL_TOKEN; `ferry token create`)')
    .option('--name <HOST>', "this host's name (default: the machine's host name)")
    .option('--label <k=v>', 'a host label (repeatable)', collect, [])
    .option('--fact <path=value>', 'override a reported fact, e.g. disk.installRoot.free=1GiB (test/demo aid; repeatable)', collect, [])
    .option('--data <DIR>', 'agent state: credential, journal, downloads, unpacked packages', './ferry-agent')
    .option('--install-root <DIR>', 'FERRY_INSTALL_ROOT given to install programs', '/')
    .option('--interval <DURATION>', 'how often to poll the plan (±20% jitter)', '60s')
    .option('--once', 'one full cycle, then exit: 0 ok, 1 an action failed, 3 controller unreachable')
    .option('--controller-key <FILE>', 'pin this controller public key (PEM) instead of trusting the enrollment answer')
    .option(
      '--trust-publisher <KEYFILE>',
      "pin a publisher's public key (PREFIX.pub) in DATA/trusted-publishers.json: every install must then be signed by a pinned key (repeatable)",
      collect,
      [],
    )
    .option('--shutdown-command <CMD>', 'run (split on spaces, no shell) after a shutdownAfter deployment completes', 'systemctl poweroff')
    .option('--no-os-packages', 'do not report dpkg/rpm packages (simulated hosts sharing one machine)')
    .option('--relay', 'also run a relay for a site: content cache, and plans/reports carried for hosts that reach only it')
    .option('--listen <HOST:PORT>', 'with --relay: the address hosts reach the relay on (default 0.0.0.0:8470)')
    .option('--cache-size <SIZE>', 'with --relay: bytes of artifacts the relay keeps, e.g. 20GiB', '10GiB')
    .option('--wake-broadcast <ADDR[:PORT]>', 'with --relay: where the relay sends Wake-on-LAN packets for its hosts (default 255.255.255.255:9; a Relay manifest may set its own)')
    .option('--multicast-interface <ADDR>', 'the local IPv4 address whose network interface receives (and, with --relay, sends) multicast sessions')
    .addOption(new Option('--multicast-test-drop-rate <RATE>', 'test aid: drop this share (0-1) of multicast datagrams on arrival').hideHelp())
    .action(async (flags: AgentFlags) => {
      setExitCode(cmd, await run(flags));
    });
}

async function run(flags: AgentFlags): Promise<number> {
  const server = flags.server ?? process.env['FERRY_SERVER'];
  if (!server) throw new UserError('give the controller with --server URL (or FERRY_SERVER)');
  try {
    const u = new URL(server);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new UserError(`--server ${server}: give an http:// or https:// URL, e.g. http://controller:8470`);
  }
  const intervalMs = parseDuration(flags.interval);
  if (intervalMs === undefined || intervalMs < 1000) throw new UserError(`--interval ${flags.interval}: give a duration of at least 1s, e.g. 60s or 5m`);
  let facts: FactOverride[];
  let labels: Record<string, string>;
  try {
    facts = flags.fact.map(parseFactOverride);
    labels = Object.fromEntries(flags.label.map(parseLabel));
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const shutdownCommand = flags.shutdownCommand.trim().split(/\s+/).filter(Boolean);
  if (shutdownCommand.length === 0) throw new UserError('--shutdown-command is empty');
  const token = flags.enrollToken ?? process.env['FERRY_ENROLL_TOKEN'];
  if (!flags.relay && flags.listen !== undefined) throw new UserError('--listen needs --relay');
  if (!flags.relay && flags.wakeBroadcast !== undefined) throw new UserError('--wake-broadcast needs --relay');
  if (flags.relay && flags.once) throw new UserError('--relay serves until stopped: it cannot be combined with --once');
  const relayFlags: RelayFlags | undefined = flags.relay ? parseRelayFlags(flags, server, intervalMs) : undefined;
  const multicast = parseMulticastFlags(flags);

  let agent: Agent;
  try {
    agent = await Agent.open({
      server,
      dataDir: flags.data,
      installRoot: flags.installRoot,
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      labels,
      facts,
      ...(token ? { enrollToken: token } : {}),
      ...(flags.controllerKey ? { controllerKeyFile: flags.controllerKey } : {}),
      trustPublisherFiles: flags.trustPublisher,
      intervalMs,
      shutdownCommand,
      osPackages: flags.osPackages,
      events: process.stderr.isTTY ? new TerminalSink() : new LogSink(),
      multicast,
    });
  } catch (e) {
    if (e instanceof DataLockedError || e instanceof TrustFileError) throw new UserError(e.message, ExitCode.usage);
    throw e;
  }
  const stop = new AbortController();
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  if (relayFlags) {
    try {
      relay = await startRelay(relayFlags);
    } catch (e) {
      await agent.close();
      throw new UserError(`--listen ${flags.listen ?? ''}: ${(e as Error).message}`, ExitCode.usage);
    }
  }
  const onSignal = () => {
    agent.stop();
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    if (flags.once) return await agent.runOnce();
    await agent.run(stop.signal);
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof EnrollError) {
      const code = e.problem === 'no-token' || e.problem === 'other-host' ? ExitCode.usage : ExitCode.unreachable;
      throw new UserError(e.message, code);
    }
    throw e;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await relay?.close();
    await agent.close();
  }
}

function parseRelayFlags(flags: AgentFlags, server: string, intervalMs: number): RelayFlags {
  const listen = flags.listen ?? '0.0.0.0:8470';
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new UserError(`--listen ${listen}: give HOST:PORT, e.g. 0.0.0.0:8470`);
  const port = Number(m[2]);
  const cacheBytes = parseSize(flags.cacheSize);
  if (cacheBytes === undefined || cacheBytes < 1024 * 1024) throw new UserError(`--cache-size ${flags.cacheSize}: give a size of at least 1MiB, e.g. 20GiB`);
  const wake = parseBroadcastAddress(flags.wakeBroadcast ?? defaultWakeBroadcast);
  if ('error' in wake) throw new UserError(wake.error);
  return {
    upstream: server,
    dataDir: flags.data,
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port,
    cacheBytes,
    wakeBroadcast: wake.target,
    intervalMs,
    ...(flags.multicastInterface ? { multicastInterface: flags.multicastInterface } : {}),
  };
}

function parseMulticastFlags(flags: AgentFlags): { interface?: string; dropRate?: number } {
  const iface = flags.multicastInterface;
  if (iface !== undefined && !isIPv4(iface)) throw new UserError(`--multicast-interface ${iface}: give this host's IPv4 address on the site network, e.g. 192.168.10.5`);
  const drop = flags.multicastTestDropRate === undefined ? undefined : Number(flags.multicastTestDropRate);
  if (drop !== undefined && !(drop >= 0 && drop < 1)) throw new UserError(`--multicast-test-drop-rate ${flags.multicastTestDropRate}: give a share from 0 to 1, e.g. 0.05`);
  return { ...(iface ? { interface: iface } : {}), ...(drop !== undefined ? { dropRate: drop } : {}) };
}
