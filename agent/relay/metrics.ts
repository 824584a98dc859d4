/** The relay's `/metrics` (Prometheus), on a registry of its own (never prom-client's global one). */
import { Counter, Gauge, Registry } from 'prom-client';

export class RelayMetrics {
  readonly registry = new Registry();
  /** Content requests answered from a complete cached artifact. */
  readonly cacheHits = new Counter({ name: 'ferry_relay_cache_hits_total', help: 'content requests served from a complete cached artifact', registers: [this.registry] });
  /** Content requests that started an upstream transfer. */
  readonly cacheMisses = new Counter({ name: 'ferry_relay_cache_misses_total', help: 'content requests that started an upstream transfer', registers: [this.registry] });
  /** Content requests that joined a transfer already under way. */
  readonly coalesced = new Counter({
    name: 'ferry_relay_cache_coalesced_total',
    help: 'content requests served while the one upstream transfer was under way',
    registers: [this.registry],
  });
  readonly bytesServed = new Counter({ name: 'ferry_relay_bytes_served_total', help: 'content bytes sent to hosts', registers: [this.registry] });
  readonly bytesFetched = new Counter({ name: 'ferry_relay_bytes_fetched_total', help: 'content bytes received from upstream', registers: [this.registry] });
  readonly forwarded = new Counter({
    name: 'ferry_relay_forwarded_total',
    help: 'agent API requests forwarded upstream, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(sources: { queueDepth: () => number; cacheBytes: () => number }) {
    sampledGauge(this.registry, 'ferry_relay_queue_depth', 'reports and inventories queued for upstream', sources.queueDepth);
    sampledGauge(this.registry, 'ferry_relay_cache_bytes', 'bytes of cached and in-flight artifacts', sources.cacheBytes);
  }
}

/** A gauge on `registry` whose value is `read()` at each scrape. */
function sampledGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
