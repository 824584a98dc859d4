/**
 * The controller as the multicast sender for hosts without a relay (docs/multicast.md): with
 * `--multicast GROUP:PORT`, plans name the controller's session on its content source, and a
 * host's join (`POST /v1/multicast/{sha256}/join`) opens or joins the session of that artifact,
 * read from the content store. Runs on every replica a host reaches; sessions are per process.
 */
import type { Clock } from '../../lib/clock.js';
import { type JoinRequest, MulticastSessions } from '../../lib/multicast/sessions.js';
import { DEFAULT_RATE, DEFAULT_ROUNDS } from '../../lib/multicast/session.js';
import { MULTICAST_BLOCK_SIZE } from '../../core/planner/sources.js';
import type { ContentSource } from '../../core/plan/types.js';
import type { ContentStore } from '../content/content-store.js';

export interface ControllerMulticastOptions {
  /** `--multicast GROUP:PORT`. */
  readonly group: string;
  readonly port: number;
  /** `--multicast-rate`, bytes per second. */
  readonly rate?: number;
  /** `--multicast-interface`. */
  readonly interface?: string;
  readonly content: Pick<ContentStore, 'stat' | 'path'>;
  readonly clock: Clock;
  readonly onEnded?: (sha256: string, message: string) => void;
  /** From the first join to the first block (default 3 s). */
  readonly joinWaitMs?: number;
}

export type JoinOutcome =
  | { readonly kind: 'joined'; readonly state: string; readonly startsAt: number }
  | { readonly kind: 'unknown-content' }
  | { readonly kind: 'refused'; readonly message: string };

export class ControllerMulticast {
  private readonly abort = new AbortController();
  private readonly sessions: MulticastSessions;

  constructor(private readonly o: ControllerMulticastOptions) {
    this.sessions = new MulticastSessions({
      ...(o.interface ? { interface: o.interface } : {}),
      joinWaitMs: o.joinWaitMs ?? 3000,
      lingerMs: 2000,
      rounds: DEFAULT_ROUNDS,
      defaultRate: o.rate ?? DEFAULT_RATE,
      clock: o.clock,
      signal: this.abort.signal,
      fileOf: async (sha256) => o.content.path(sha256),
      onEnded: (sha256, result, receivers, done) =>
        o.onEnded?.(
          sha256,
          'error' in result
            ? `multicast session of ${sha256} failed: ${result.error}`
            : `multicast of ${sha256}: ${result.rounds} round(s), ${result.bytesSent} bytes, ${done}/${receivers} receivers done`,
        ),
    });
  }

  /** The controller's content source as plans name it: with the session. */
  source(): ContentSource {
    const { group, port, rate } = this.o;
    return Object.freeze({ kind: 'controller', name: 'controller', multicast: Object.freeze({ group, port, ...(rate ? { rate } : {}), blockSize: MULTICAST_BLOCK_SIZE }) });
  }

  /** A host joins the session of `sha256`; it must ask for the controller's own group and port. */
  async join(sha256: string, j: JoinRequest & { readonly size: number }, host: string): Promise<JoinOutcome> {
    const info = await this.o.content.stat(sha256);
    if (!info) return { kind: 'unknown-content' };
    if (info.size !== j.size) return { kind: 'refused', message: `the artifact has ${info.size} bytes, not ${j.size}` };
    if (j.group !== this.o.group || j.port !== this.o.port)
      return { kind: 'refused', message: `this controller sends to ${this.o.group}:${this.o.port}, not ${j.group}:${j.port}` };
    const s = this.sessions.join(sha256, info.size, { ...j, ...(this.o.rate ? { rate: this.o.rate } : {}) }, host);
    return { kind: 'joined', ...s };
  }

  /** `host` needs no more rounds of `sha256`. */
  done(sha256: string, host: string): boolean {
    return this.sessions.done(sha256, host);
  }

  /** Stops every session. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.sessions.idle();
  }
}
