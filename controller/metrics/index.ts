export { createMetrics, type Metrics, type MetricsOptions, type PlanOutcome, type HostStateCounter } from './metrics.js';
