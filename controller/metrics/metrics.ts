/**
 * The controller's Prometheus metrics (DESIGN §4 `/metrics`). One registry per
 * controller (never prom-client's global one), so several apps in one process
 * (tests, benchmarks) do not share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome label of a served plan request. */
export type PlanOutcome = '200' | '304';

/** What `/metrics` reads from the source the controller follows (absent on a follower). */
export type SourceFetchStatus = () => { readonly lastSuccessAt?: string; readonly fetchFailuresTotal: number } | undefined;

/** Counts of hosts per state, computed when /metrics is scraped. */
export type HostStateCounter = () => Promise<Readonly<Record<string, number>>>;

export interface Metrics {
  readonly registry: Registry;
  /** Seconds one reconcile pass took; the reconciler observes it, labelled by outcome (`ok`, `error`, `skipped`). */
  readonly reconcileDuration: Histogram<'outcome'>;
  /** Plan requests answered, by outcome (`200` full document, `304` not modified). */
  readonly plansServed: Counter<'outcome'>;
  /** Share of plan requests answered 304 since start (0 when none). */
  readonly planNotModifiedRatio: Gauge;
  /** Agent report results ingested, by result (`accepted`, `duplicate`). */
  readonly reportsIngested: Counter<'result'>;
  /** Hosts per state, read from the store on scrape. */
  readonly hostsPerState: Gauge<'state'>;
  /** HTTP request duration in seconds by method, route template and status. */
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Records one served plan and keeps the 304 ratio current. */
  planServed(outcome: PlanOutcome): void;
  /**
   * Records one plan poll answered by the fast path: `planServed` and an `httpDuration` observation
   * (route `/v1/hosts/:host/plan`), counted in plain numbers and added to both when scraped.
   */
  planPolled(method: string, outcome: PlanOutcome, seconds: number): void;
  /** Sets where `hostsPerState` reads its counts from (the API sets it to the store). */
  countHostsWith(counter: HostStateCounter): void;
  /** Sets where the source's last successful fetch time and failure count are read from. */
  watchSource(status: SourceFetchStatus): void;
  /** The exposition text and its content type. */
  expose(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** Also export the process metrics (CPU, RSS, event loop lag); default true. */
  readonly processMetrics?: boolean;
  readonly prefix?: string;
}

/** Makes a fresh registry with every Ferry metric registered. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const prefix = options.prefix ?? 'ferry_';
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix });
    // prom-client's sums of the labelled gauges `nodejs_active_{resources,handles,requests}` are gauges
    // named `…_total`, a suffix Prometheus keeps for counters (promtool check metrics warns): drop them;
    // `sum(ferry_nodejs_active_handles)` is the same figure.
    for (const kind of ['resources', 'handles', 'requests']) registry.removeSingleMetric(`${prefix}nodejs_active_${kind}_total`);
  }

  const reconcileDuration = new Histogram({
    name: `${prefix}reconcile_duration_seconds`,
    help: 'Duration of one reconcile pass.',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const plansServed = new Counter({
    name: `${prefix}plans_served_total`,
    help: 'Plan requests answered, by outcome (200 full plan, 304 not modified).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      for (const outcome of ['200', '304'] as const) {
        if (unscraped[outcome] > 0) this.inc({ outcome }, unscraped[outcome]);
        unscraped[outcome] = 0;
      }
    },
  });
  let served = 0;
  let notModified = 0;
  /** Plans served not yet added to `plansServed` (added when scraped). */
  const unscraped = { '200': 0, '304': 0 };
  const planNotModifiedRatio = new Gauge({
    name: `${prefix}plan_not_modified_ratio`,
    help: 'Share of plan requests answered 304 Not Modified since the controller started.',
    registers: [registry],
    collect() {
      this.set(served === 0 ? 0 : notModified / served);
    },
  });
  const reportsIngested = new Counter({
    name: `${prefix}reports_ingested_total`,
    help: 'Action results reported by agents, by result (accepted, duplicate).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  let countHosts: HostStateCounter | undefined;
  const hostsPerState = new Gauge({
    name: `${prefix}hosts`,
    help: 'Hosts per state.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      if (!countHosts) return;
      this.reset();
      try {
        for (const [state, n] of Object.entries(await countHosts())) this.set({ state }, n);
      } catch {
        // A store that cannot answer leaves the gauge empty; /readyz reports the store.
      }
    },
  });
  let sourceStatus: SourceFetchStatus | undefined;
  new Gauge({
    name: `${prefix}source_last_success_timestamp_seconds`,
    help: 'When fetching the manifest source last succeeded (Unix time; absent before the first success and on a follower).',
    registers: [registry],
    collect() {
      const at = sourceStatus?.()?.lastSuccessAt;
      if (at === undefined) this.reset();
      else this.set(Date.parse(at) / 1000);
    },
  });
  let failuresSeen = 0;
  new Counter({
    name: `${prefix}source_fetch_failures_total`,
    help: 'Fetches of the manifest source that failed (deleted or renamed branch, authentication, network).',
    registers: [registry],
    collect() {
      const total = sourceStatus?.()?.fetchFailuresTotal ?? failuresSeen;
      if (total > failuresSeen) this.inc(total - failuresSeen);
      failuresSeen = Math.max(failuresSeen, total);
    },
  });
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
  /** Fast-path poll durations not yet in `httpDuration`, by method and status (no key string built per poll). */
  const polls = new Map<string, Record<PlanOutcome, PollTally>>();
  const httpDuration = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'HTTP request duration by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets,
    registers: [registry],
    collect() {
      for (const byOutcome of polls.values()) for (const tally of Object.values(byOutcome)) addTally(this, tally, buckets);
      polls.clear();
    },
  });

  return {
    registry,
    reconcileDuration,
    plansServed,
    planNotModifiedRatio,
    reportsIngested,
    hostsPerState,
    httpDuration,
    planServed(outcome) {
      served++;
      if (outcome === '304') notModified++;
      unscraped[outcome]++;
    },
    planPolled(method, outcome, seconds) {
      served++;
      if (outcome === '304') notModified++;
      unscraped[outcome]++;
      let byOutcome = polls.get(method);
      if (byOutcome === undefined) {
        const tally = (status: PlanOutcome): PollTally => ({
          labels: { method, route: '/v1/hosts/:host/plan', status },
          counts: new Array<number>(buckets.length).fill(0),
          sum: 0,
          count: 0,
        });
        byOutcome = { '200': tally('200'), '304': tally('304') };
        polls.set(method, byOutcome);
      }
      const tally = byOutcome[outcome];
      let i = 0;
      while (i < buckets.length && seconds > buckets[i]!) i++;
      if (i < buckets.length) tally.counts[i]!++;
      tally.sum += seconds;
      tally.count++;
    },
    countHostsWith(counter) {
      countHosts = counter;
    },
    watchSource(status) {
      sourceStatus = status;
    },
    async expose() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** Observations of one label set counted in plain numbers: per bucket (not cumulative), sum and count. */
interface PollTally {
  readonly labels: Readonly<Record<'method' | 'route' | 'status', string>>;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** The series prom-client keeps per label set of a histogram (lib/histogram.js `createBaseValues`). */
interface HistogramSeries {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * Adds a tally to its series of `histogram`, as `count` calls of `observe` would have, without them:
 * prom-client has no call to add many observations at once, so this writes its series (created by
 * `zero` when absent). test/controller/api/metrics.test.ts checks the exposition this gives.
 */
function addTally(histogram: Histogram<'method' | 'route' | 'status'>, tally: PollTally, buckets: readonly number[]): void {
  if (tally.count === 0) return;
  const series = () =>
    Object.values((histogram as unknown as { hashMap: Record<string, HistogramSeries> }).hashMap).find((s) => Object.entries(tally.labels).every(([k, v]) => s.labels[k] === v));
  let found = series();
  if (found === undefined) {
    histogram.zero(tally.labels);
    found = series();
  }
  if (found === undefined) throw new Error('prom-client: no series after zero()');
  buckets.forEach((bound, i) => {
    found.bucketValues[bound] = (found.bucketValues[bound] ?? 0) + tally.counts[i]!;
  });
  found.sum += tally.sum;
  found.count += tally.count;
}
