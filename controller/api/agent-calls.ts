/**
 * What the agent's write calls do (DESIGN §4) — enroll, inventory, reports — once the request is
 * authenticated, parsed and validated. Two front ends share it: the express routes
 * (routes-agent.ts) and the raw `node:http` fast path (lean-agent.ts). A refusal is a thrown
 * `ApiError`; the answer is a status and a JSON body.
 */
import type { ActionReport, Facts, Inventory, SoftwareItem } from '../../core/plan/types.js';
import { crashPoint } from '../../lib/crash-point.js';
import type { EnrollAttempt, EnrollAttemptResult, IngestResult, PutInventoryResult, ReportBatch } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import { newCredential, sha256Hex } from './auth.js';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';
import { RateLimiter } from './rate-limit.js';
import type { SeenRecorder } from './seen.js';
import { WriteBatcher } from './write-batcher.js';

export interface EnrollBody {
  readonly token: string;
  readonly host: string;
  readonly facts?: Facts;
  readonly labels?: Record<string, string>;
}

export interface InventoryBody {
  readonly host?: string;
  readonly facts: Facts;
  readonly labels: Record<string, string>;
  readonly software: SoftwareItem[];
}

export interface ReportsBody {
  readonly results: ActionReport[];
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** Where a new credential is remembered, so the host's first calls need no store lookup. */
export interface CredentialMemory {
  remember(hash: string, host: string): void;
}

export class AgentCalls {
  private readonly limiter: RateLimiter;
  private readonly enrollments: WriteBatcher<EnrollAttempt, EnrollAttemptResult>;
  private readonly inventories: WriteBatcher<{ readonly inventory: Inventory; readonly now: Date }, PutInventoryResult>;
  private readonly reports: WriteBatcher<ReportBatch, IngestResult>;

  constructor(
    private readonly deps: ApiDeps,
    private readonly metrics: Metrics,
    private readonly seen: SeenRecorder,
    private readonly credentials?: CredentialMemory,
  ) {
    const { store } = deps;
    this.limiter = new RateLimiter(deps.enrollRateLimit?.perMinute ?? 10, deps.enrollRateLimit?.burst ?? 10);
    this.enrollments = new WriteBatcher((attempts: readonly EnrollAttempt[]) => store.enrollHosts(attempts));
    this.inventories = new WriteBatcher((items: readonly { readonly inventory: Inventory; readonly now: Date }[]) => store.putInventories(items));
    // Group commit: a report is answered only once the transaction holding it has committed.
    this.reports = new WriteBatcher((batches: readonly ReportBatch[]) => store.ingestReportBatches(batches));
  }

  /** `POST /v1/enroll` from `address`. */
  async enroll(address: string, b: EnrollBody, now: Date): Promise<Answer> {
    const wait = this.limiter.take(address, this.deps.clock.now());
    if (wait > 0) {
      throw new ApiError(429, 'rate-limited', `too many enrollments from this address; try again in ${wait} s`, undefined, {
        'Retry-After': String(wait),
      });
    }
    const credential = newCredential();
    const credentialHash = sha256Hex(credential);
    const enrolled = await this.enrollments.submit({ token: b.token, host: b.host, credentialHash, facts: b.facts ?? {}, labels: b.labels ?? {}, now });
    if ('error' in enrolled && enrolled.error !== 'host-exists') {
      const why = enrolled.error === 'expired' ? 'has expired' : 'is not known';
      throw new ApiError(401, 'bad-token', `the enrollment token ${why}; ask an admin for a new one (\`ferry token create\`)`);
    }
    if ('error' in enrolled) {
      throw new ApiError(409, 'host-exists', `host ${b.host} is already enrolled; ask an admin to reset it (POST /v1/hosts/${b.host}/reset) if this machine replaces it`);
    }
    this.credentials?.remember(credentialHash, b.host);
    this.deps.logger.info({ host: b.host }, 'host enrolled');
    this.deps.reconciler.inventoryChanged(b.host);
    return { status: 201, body: { host: b.host, credential, controllerKey: this.deps.keys.enrollmentKeyPem ?? this.deps.keys.publicKeyPem } };
  }

  /** `PUT /v1/hosts/{host}/inventory`, the caller already allowed to act for `host`. */
  async putInventory(host: string, b: InventoryBody, now: Date): Promise<Answer> {
    if (b.host !== undefined && b.host !== host) {
      throw new ApiError(400, 'host-mismatch', `the body is for host ${b.host} but the path names ${host}`);
    }
    const inventory: Inventory = { host, facts: b.facts, labels: b.labels, software: b.software };
    const result = await this.inventories.submit({ inventory, now }); // also marks the host seen
    if (result.changed) this.deps.reconciler.inventoryChanged(host);
    return { status: 200, body: { host, hash: result.hash, changed: result.changed } };
  }

  /** `POST /v1/hosts/{host}/reports`: answered once the reports are committed (durable before the 2xx). */
  async ingest(host: string, b: ReportsBody, now: Date): Promise<Answer> {
    crashPoint('controller.reports.received');
    const ingested = await this.reports.submit({ host, reports: b.results, now });
    crashPoint('controller.reports.stored');
    this.seen.note(host, now.getTime());
    if (ingested.accepted > 0) this.metrics.reportsIngested.inc({ result: 'accepted' }, ingested.accepted);
    if (ingested.duplicates > 0) this.metrics.reportsIngested.inc({ result: 'duplicate' }, ingested.duplicates);
    if (ingested.advanced.length > 0 || ingested.accepted > 0) this.deps.reconciler.reportsIngested(host);
    return { status: 200, body: { accepted: ingested.accepted, duplicates: ingested.duplicates } };
  }
}
