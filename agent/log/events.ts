/**
 * What the agent tells the person or the log collector: one structured line per event
 * (pino JSON on stderr), or, on a terminal, readable lines and progress bars (cli-progress).
 */
import cliProgress from 'cli-progress';
import { pino, type Logger } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** One thing that happened; `event` is a short stable name (`install-finished`). */
export interface AgentEvent {
  readonly event: string;
  readonly level?: Level;
  readonly message?: string;
  readonly [field: string]: unknown;
}

export interface EventSink {
  emit(e: AgentEvent): void;
  /** Progress of a download or install (`total` 0: unknown). */
  progress(key: string, label: string, done: number, total: number): void;
  /** The progress of `key` is over. */
  endProgress(key: string): void;
  close(): void;
}

/** JSON lines on stderr (or the given logger); progress only at its end. */
export class LogSink implements EventSink {
  constructor(readonly logger: Logger = pino({ base: { component: 'agent' } }, pino.destination({ fd: 2, sync: true }))) {}

  emit(e: AgentEvent): void {
    const { event, level = 'info', message, ...fields } = e;
    this.logger[level]({ event, ...fields }, message ?? event);
  }

  progress(): void {}
  endProgress(): void {}
  close(): void {
    this.logger.flush();
  }
}

/** Progress bars and plain lines for a person watching a terminal. */
export class TerminalSink implements EventSink {
  private readonly bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: ' {label} [{bar}] {percentage}% {value}/{total}',
      hideCursor: true,
      clearOnComplete: true,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? bytes(v) : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly active = new Map<string, cliProgress.SingleBar>();

  emit(e: AgentEvent): void {
    if (e.level === 'debug') return;
    const { event, level, message, ...fields } = e;
    const detail = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const line = `${level === 'error' ? 'error: ' : level === 'warn' ? 'warning: ' : ''}${message ?? event}${detail ? `  ${detail}` : ''}\n`;
    if (this.active.size > 0) this.bars.log(line);
    else process.stderr.write(line);
  }

  progress(key: string, label: string, done: number, total: number): void {
    let bar = this.active.get(key);
    if (!bar) {
      bar = this.bars.create(Math.max(total, 1), done, { label });
      this.active.set(key, bar);
    }
    bar.setTotal(Math.max(total, 1));
    bar.update(done, { label });
  }

  endProgress(key: string): void {
    const bar = this.active.get(key);
    if (!bar) return;
    this.active.delete(key);
    this.bars.remove(bar);
  }

  close(): void {
    this.bars.stop();
  }
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** A sink that keeps events in memory (tests), and tells waiters when enough of a kind arrived. */
export class MemorySink implements EventSink {
  readonly events: AgentEvent[] = [];
  private readonly waiters: { readonly test: (e: AgentEvent) => boolean; readonly count: number; readonly resolve: () => void }[] = [];

  emit(e: AgentEvent): void {
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (this.events.filter(w.test).length >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves once `count` events matching `test` have been emitted in all (at once if they already were). */
  reached(test: (e: AgentEvent) => boolean, count: number): Promise<void> {
    if (this.events.filter(test).length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, count, resolve }));
  }
  progress(): void {}
  endProgress(): void {}
  close(): void {}
}
