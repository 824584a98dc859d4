/** `ferry controller`: runs the controller until SIGTERM or SIGINT (DESIGN §3). */
import type { Command } from 'commander';
import { isIPv4 } from 'node:net';
import { parseSize } from '../core/manifest/units.js';
import { MULTICAST_BLOCK_SIZE } from '../core/planner/sources.js';
import { checkJoin } from '../lib/multicast/sessions.js';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { parseDuration } from '../core/units/duration.js';
import { ControllerConfigError, startController } from '../controller/controller.js';
import { InsecureKeyFileError, type RotationStep } from '../controller/keys/index.js';
import { StoreUrlError } from '../controller/store/index.js';
import { systemClock } from '../lib/clock.js';
import { sourceKind } from '../controller/source/open-source.js';
import { parseBroadcastAddress } from '../lib/wake/broadcast-address.js';
import { ExitCode, UserError } from './errors.js';

interface ControllerFlags {
  readonly rotateKey?: string | true;
  readonly repo?: string;
  readonly branch: string;
  readonly path?: string;
  readonly db?: string;
  readonly data: string;
  readonly listen: string;
  readonly poll: string;
  readonly webhookSecretFile?: string;
  readonly metricsTokenFile?: string;
  readonly logLevel: string;
  readonly reportRetention: string;
  readonly wakeBroadcast: string;
  readonly enrollRate: string;
  readonly multicast?: string;
  readonly advertiseUrl?: string;
  readonly multicastRate?: string;
  readonly multicastInterface?: string;
}

export function configure(cmd: Command): void {
  cmd
    .description('run the controller: follow a git branch, plan per host, serve agents and admins')
    .option('--repo <URL|DIR>', 'git repository to follow (URL or path; default: the current directory if it is one); a plain directory is watched instead')
    .option('--branch <NAME>', 'branch to follow', 'main')
    .option('--path <SUBDIR>', 'manifest folder inside the repository (default: its root)')
    .option('--db <URL>', 'sqlite:FILE or postgres://user@host/db (default: sqlite:DATA/ferry.db)')
    .option('--data <DIR>', 'state: keys, admin token, git copy, content, SQLite', './ferry-data')
    .option('--listen <HOST:PORT>', 'address to serve the API on', '127.0.0.1:8470')
    .option('--poll <DURATION>', 'how often to fetch the repository (e.g. 30s, 5m)', '30s')
    .option('--webhook-secret-file <FILE>', 'HMAC secret of the push webhook (X-Hub-Signature-256)')
    .option('--metrics-token-file <FILE>', 'require `Authorization: Bearer <the token in FILE>` on /metrics (default: /metrics is open)')
    .option('--log-level <LEVEL>', 'trace, debug, info, warn or error', 'info')
    .option('--wake-broadcast <ADDR[:PORT]>', 'where Wake-on-LAN magic packets are sent (UDP, broadcast allowed)', '255.255.255.255:9')
    .option('--rotate-key [STEP]', 'rotate the plan-signing key: `start` (default) plans carry both keys and agents adopt the new one; `finish` drops the old key')
    .option('--multicast <GROUP:PORT>', 'send distribute.multicast artifacts to this IPv4 multicast group for hosts without a relay, e.g. 239.255.70.2:47000')
    .option('--multicast-rate <SIZE>', 'with --multicast: bytes per second, e.g. 12MB (the default, about 100 Mbit/s)')
    .option('--multicast-interface <ADDR>', 'with --multicast: the local IPv4 address whose interface sends')
    .option('--report-retention <DURATION>', 'delete report history older than this (e.g. 90d, 12h; current states stay), or "forever"', '90d')
    .option(
      '--advertise-url <URL>',
      "where the other replicas reach this one to fetch content it has and they lack (default: the --listen address, or this machine's hostname when listening on all interfaces)",
    )
    .option('--enroll-rate <N>', 'enrollments allowed per minute from one source address, all at once if need be (raise it for a fleet behind one NAT)', '10')
    .action(async (flags: ControllerFlags) => {
      await run(flags);
    });
}

/** A duration flag of at least `minMs`; the error says `give a duration of at least <hint>`. */
function durationFlag(flag: string, text: string, minMs: number, hint: string): number {
  const ms = parseDuration(text.trim());
  if (ms === undefined || ms < minMs) throw new UserError(`${flag} ${text}: give a duration of at least ${hint}`);
  return ms;
}

/** `--enroll-rate N`: N per minute per address, a burst of N (at least the default 10). */
function parseEnrollRate(text: string): { perMinute: number; burst: number } {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < 1) throw new UserError(`--enroll-rate ${text}: give a whole number of enrollments per minute per address, e.g. 10 or 60000`);
  return { perMinute: n, burst: Math.max(10, n) };
}

const parsePoll = (text: string): number => durationFlag('--poll', text, 1000, '1s, e.g. 30s or 5m');
const parseRetention = (text: string): number | undefined =>
  text.trim() === 'forever' ? undefined : durationFlag('--report-retention', text, 3_600_000, '1h, e.g. 90d, or "forever"');

function parseMulticast(flags: ControllerFlags): { group: string; port: number; rate?: number; interface?: string } | undefined {
  if (flags.multicast === undefined) {
    if (flags.multicastRate !== undefined || flags.multicastInterface !== undefined) throw new UserError('--multicast-rate and --multicast-interface need --multicast GROUP:PORT');
    return undefined;
  }
  const m = /^(.+):(\d{1,5})$/.exec(flags.multicast);
  const group = m?.[1] ?? '';
  const port = Number(m?.[2]);
  const rate = flags.multicastRate === undefined ? undefined : parseSize(flags.multicastRate);
  const problem = checkJoin({ group, port, blockSize: MULTICAST_BLOCK_SIZE, ...(rate !== undefined ? { rate } : {}) }, 1);
  if (!m || problem)
    throw new UserError(
      `--multicast ${flags.multicast}${flags.multicastRate ? ` --multicast-rate ${flags.multicastRate}` : ''}: ${problem ?? 'give GROUP:PORT, e.g. 239.255.70.2:47000'}`,
    );
  if (flags.multicastRate !== undefined && !rate) throw new UserError(`--multicast-rate ${flags.multicastRate}: give bytes per second, e.g. 12MB`);
  if (flags.multicastInterface !== undefined && !isIPv4(flags.multicastInterface))
    throw new UserError(`--multicast-interface ${flags.multicastInterface}: give an IPv4 address of this machine`);
  return { group, port, ...(rate ? { rate } : {}), ...(flags.multicastInterface ? { interface: flags.multicastInterface } : {}) };
}

function makeLogger(level: string): Logger {
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) {
    throw new UserError(`--log-level ${level}: use trace, debug, info, warn or error`);
  }
  // JSON lines for log collectors; readable when a person watches the terminal the logs go to (stderr).
  if (process.stderr.isTTY) return pino({ level }, pretty({ colorize: true, destination: 2 }));
  return pino({ level }, pino.destination({ fd: 2, sync: false }));
}

function rotationStep(given: string | true): RotationStep {
  if (given === true || given === 'start') return 'start';
  if (given === 'finish') return 'finish';
  throw new UserError(`--rotate-key ${given}: use --rotate-key (start a rotation) or --rotate-key finish`);
}

async function run(flags: ControllerFlags): Promise<void> {
  const wake = parseBroadcastAddress(flags.wakeBroadcast);
  if ('error' in wake) throw new UserError(wake.error);
  const pollMs = parsePoll(flags.poll);
  const multicast = parseMulticast(flags);
  const reportRetentionMs = parseRetention(flags.reportRetention);
  const enrollRateLimit = parseEnrollRate(flags.enrollRate);
  if (flags.repo === undefined && (await sourceKind('.')) !== 'git') {
    throw new UserError('the current directory is not a git repository; give --repo URL|DIR (a git repository, or a plain manifest directory to watch)');
  }
  const logger = makeLogger(flags.logLevel);
  const data = resolve(flags.data);
  let controller: Awaited<ReturnType<typeof startController>>;
  try {
    controller = await startController({
      repo: flags.repo ?? '.',
      branch: flags.branch,
      ...(flags.path !== undefined ? { path: flags.path } : {}),
      db: flags.db ?? `sqlite:${join(data, 'ferry.db')}`,
      data,
      listen: flags.listen,
      pollMs,
      ...(reportRetentionMs !== undefined ? { reportRetentionMs } : {}),
      ...(flags.webhookSecretFile !== undefined ? { webhookSecretFile: flags.webhookSecretFile } : {}),
      ...(flags.metricsTokenFile !== undefined ? { metricsTokenFile: flags.metricsTokenFile } : {}),
      wakeBroadcast: flags.wakeBroadcast,
      enrollRateLimit,
      ...(flags.rotateKey !== undefined ? { rotateKey: rotationStep(flags.rotateKey) } : {}),
      ...(multicast ? { multicast } : {}),
      ...(flags.advertiseUrl !== undefined ? { advertiseUrl: flags.advertiseUrl } : {}),
      logger,
      clock: systemClock,
    });
  } catch (err) {
    if (err instanceof ControllerConfigError || err instanceof InsecureKeyFileError || err instanceof StoreUrlError) {
      throw new UserError(err.message, ExitCode.usage);
    }
    throw err;
  }
  process.stdout.write(`ferry controller listening on ${controller.url}\n` + `admin token: ${controller.adminTokenFile} (FERRY_TOKEN=$(cat ${controller.adminTokenFile}))\n`);
  await new Promise<void>((done) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ signal }, 'controller: signal received');
      controller.stop().then(done, (err: unknown) => {
        logger.error({ err }, 'controller: shutdown failed');
        done();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  logger.flush();
}
