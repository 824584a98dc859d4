/**
 * Leader election loop: only the holder of the store's leadership lock follows the source and
 * reconciles; every other replica keeps trying and takes over when the leader dies.
 */
import type { Logger } from 'pino';
import type { Store } from './store/store.js';

export interface LeaderCallbacks {
  /** Starts the leader-only work; leadership is held when it is called. */
  elected(): Promise<void>;
  /** Stops the leader-only work (leadership was lost, or the process is stopping). */
  deposed(): Promise<void>;
}

export class LeaderElection {
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly callbacks: LeaderCallbacks,
    private readonly logger: Logger,
    /** How often leadership is checked (and, by followers, tried); default 2 s. */
    private readonly intervalMs = 2000,
  ) {}

  /** Tries once now (so a lone controller leads at once), then keeps checking. */
  async start(): Promise<void> {
    await this.check();
  }

  /** True once a check found another process leading (logged once per stand-by). */
  private standingBy = false;

  isLeader(): boolean {
    return this.leading;
  }

  /** Stops the leader-only work and gives leadership up. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tick;
    if (this.leading) {
      this.leading = false;
      await this.callbacks.deposed().catch((err: unknown) => this.logger.error({ err }, 'leader: stopping leader work failed'));
    }
    await this.store.releaseLeadership().catch(() => undefined);
  }

  private check(): Promise<void> {
    this.tick = this.checkOnce().finally(() => {
      this.tick = undefined;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.check(), this.intervalMs);
        this.timer.unref();
      }
    });
    return this.tick;
  }

  private async checkOnce(): Promise<void> {
    const held = await this.store.tryAcquireLeadership().catch((err: unknown) => {
      this.logger.warn({ err }, 'leader: cannot reach the leadership lock');
      return false;
    });
    if (this.stopped) return;
    if (!held && !this.leading && !this.standingBy) {
      this.standingBy = true;
      this.logger.info('leader: another controller leads; standing by (serving the API only)');
    }
    if (held && !this.leading) {
      this.leading = true;
      this.standingBy = false;
      this.logger.info('leader: elected; following the source and reconciling');
      try {
        await this.callbacks.elected();
      } catch (err) {
        this.logger.error({ err }, 'leader: starting leader work failed; giving leadership up');
        this.leading = false;
        await this.callbacks.deposed().catch(() => undefined);
        await this.store.releaseLeadership().catch(() => undefined);
      }
    } else if (!held && this.leading) {
      this.leading = false;
      this.logger.warn('leader: leadership lost; stopping the source and reconcile loop');
      await this.callbacks.deposed().catch((err: unknown) => this.logger.error({ err }, 'leader: stopping leader work failed'));
    }
  }
}
