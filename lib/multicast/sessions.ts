/**
 * The sender side's bookkeeping, shared by the relay and the controller: one session per
 * artifact at a time. The first receiver to join opens it; it starts `joinWaitMs` later (so the
 * site's other hosts, polling at their own moments, join before the first block), runs
 * `sendSession` for up to `rounds` rounds, and ends early once every receiver that joined has
 * said it is done. A join after the session ended opens a new one.
 */
import type { Clock } from '../clock.js';
import { type SendResult, sendSession } from './sender.js';

/** What a receiver asks for, from its signed plan (checked by `checkJoin`). */
export interface JoinRequest {
  readonly group: string;
  readonly port: number;
  readonly ttl?: number;
  readonly rate?: number;
  readonly blockSize: number;
}

export interface SessionState {
  readonly state: 'waiting' | 'sending';
  /** When the first block goes out (ms since the epoch). */
  readonly startsAt: number;
}

export interface SessionsOptions {
  /** `--multicast-interface`. */
  readonly interface?: string;
  readonly joinWaitMs: number;
  readonly lingerMs: number;
  readonly rounds: number;
  readonly defaultRate: number;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** The verified artifact's path, once it is here. */
  readonly fileOf: (sha256: string, size: number) => Promise<string>;
  readonly onEnded?: (sha256: string, result: SendResult | { readonly error: string }, receivers: number, done: number) => void;
}

interface Session {
  readonly startsAt: number;
  state: 'waiting' | 'sending';
  readonly joined: Set<string>;
  readonly done: Set<string>;
}

/** A join that would make the sender send somewhere it should not: why, or undefined when it is fine. */
export function checkJoin(j: JoinRequest, size: number): string | undefined {
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(j.group)?.slice(1).map(Number);
  if (!octets || octets.some((o) => o > 255) || octets[0]! < 224 || octets[0]! > 239) return `${j.group} is not an IPv4 multicast group (224.0.0.0/4)`;
  if (!Number.isInteger(j.port) || j.port < 1 || j.port > 65535) return `port ${j.port} is not 1-65535`;
  if (j.ttl !== undefined && (!Number.isInteger(j.ttl) || j.ttl < 1 || j.ttl > 255)) return `ttl ${j.ttl} is not 1-255`;
  if (j.rate !== undefined && (!(j.rate > 0) || j.rate > 10_000_000_000)) return `rate ${j.rate} is not a positive number of bytes per second`;
  if (!Number.isInteger(j.blockSize) || j.blockSize < 256 || j.blockSize > 65_000) return `block size ${j.blockSize} is not 256-65000`;
  if (!Number.isInteger(size) || size < 1 || Math.ceil(size / j.blockSize) > 0xffffffff) return `size ${size} cannot be sent in blocks of ${j.blockSize}`;
  return undefined;
}

export class MulticastSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: SessionsOptions) {}

  /** Adds `receiver` to the artifact's session, opening one if none runs. The caller checked the join (`checkJoin`). */
  join(sha256: string, size: number, j: JoinRequest, receiver: string): SessionState {
    let s = this.sessions.get(sha256);
    if (s === undefined) {
      s = { startsAt: this.o.clock.now() + this.o.joinWaitMs, state: 'waiting', joined: new Set(), done: new Set() };
      this.sessions.set(sha256, s);
      const run = this.run(sha256, size, j, s).finally(() => this.running.delete(run));
      this.running.add(run);
    }
    s.joined.add(receiver);
    s.done.delete(receiver);
    return { state: s.state, startsAt: s.startsAt };
  }

  /** `receiver` holds the verified artifact; false when no session of it runs. */
  done(sha256: string, receiver: string): boolean {
    const s = this.sessions.get(sha256);
    if (!s) return false;
    s.done.add(receiver);
    return true;
  }

  /** Resolves once every session has ended (after the signal aborted them). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private async run(sha256: string, size: number, j: JoinRequest, s: Session): Promise<void> {
    const { clock, signal } = this.o;
    let result: SendResult | { error: string };
    try {
      const file = await this.o.fileOf(sha256, size);
      await clock.sleep(Math.max(0, s.startsAt - clock.now()), signal);
      s.state = 'sending';
      result = await sendSession({
        group: j.group,
        port: j.port,
        ...(this.o.interface ? { interface: this.o.interface } : {}),
        ...(j.ttl !== undefined ? { ttl: j.ttl } : {}),
        file,
        sha256,
        size,
        blockSize: j.blockSize,
        rate: j.rate ?? this.o.defaultRate,
        rounds: this.o.rounds,
        finished: () => [...s.joined].every((r) => s.done.has(r)),
        lingerMs: this.o.lingerMs,
        clock,
        signal,
      });
    } catch (e) {
      result = { error: signal.aborted ? 'stopped' : (e as Error).message };
    } finally {
      this.sessions.delete(sha256);
    }
    this.o.onEnded?.(sha256, result, s.joined.size, s.done.size);
  }
}

/** A join request's body: `{size, group, port, ttl?, rate?, blockSize}` as a receiver sends it; or why it is not one. */
export function parseJoin(body: unknown): (JoinRequest & { readonly size: number }) | string {
  if (typeof body !== 'object' || body === null) return 'the body is not a JSON object';
  const b = body as Record<string, unknown>;
  const num = (k: string) => (typeof b[k] === 'number' ? (b[k] as number) : undefined);
  const size = num('size');
  const port = num('port');
  const blockSize = num('blockSize');
  if (typeof b['group'] !== 'string' || size === undefined || port === undefined || blockSize === undefined)
    return 'send {size, group, port, blockSize} and optionally ttl and rate';
  const j: JoinRequest = {
    group: b['group'],
    port,
    blockSize,
    ...(num('ttl') !== undefined ? { ttl: num('ttl')! } : {}),
    ...(num('rate') !== undefined ? { rate: num('rate')! } : {}),
  };
  return checkJoin(j, size) ?? { ...j, size };
}
