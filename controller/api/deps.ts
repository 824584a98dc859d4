/**
 * What the HTTP API needs from the rest of the controller. `controller/controller.ts`
 * builds these and passes them to `createApi(deps)`; tests pass real stores and small fakes.
 */
import type { ControllerMulticast } from '../multicast/controller-multicast.js';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ApiStore, ApiContentStore } from './store-port.js';
import type { ApiWake } from './routes-wake.js';
import type { RelayDirectory } from './relay-directory.js';
import type { RelayRegistry } from './relay-registry.js';

/** The controller's identity as the API uses it. */
export interface ApiKeys {
  /** SPKI PEM of the plan-signing key, handed to agents at enrollment. */
  readonly publicKeyPem: string;
  /** Bearer token of the admin API. */
  readonly adminToken: string;
  /** PKCS8 PEM of the signing key: offline bundles are signed with it (absent: bundle routes answer 501). */
  readonly privateKeyPem?: string;
  /** The key hosts pin at enrollment when not `publicKeyPem`: the next key during a key rotation. */
  readonly enrollmentKeyPem?: string;
}

/** The manifest source as the API uses it: its status for `/v1/status`, and a way to fetch now. */
export interface ApiSource {
  status(): unknown;
  /** Fetches now; resolves once that fetch has finished (successful or not). */
  refresh(): Promise<void>;
}

/** Events the reconcile loop wants to hear about; each call is cheap and never throws. */
export interface ApiReconciler {
  inventoryChanged(host: string): void;
  reportsIngested(host: string): void;
  overridesChanged(): void;
  /** Content was stored (`PUT /v1/content`): an artifact reported unavailable may be available now. */
  contentChanged?(sha256: string): void;
}

/** Enrollment rate limit per remote address (token bucket). Default: 10 per minute, burst 10. */
export interface EnrollRateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

/** A deployment as the applied revision of git describes it. */
export interface DesiredDeployment {
  readonly name: string;
  /** `spec.suspended` from git. */
  readonly suspended: boolean;
  readonly packages: readonly { readonly name: string; readonly version: string; readonly state: 'present' | 'absent' }[];
}

/** What git says now, for status pages that show git's `spec.suspended` next to an operator's override. */
export interface ApiDesired {
  /** Deployments of the applied revision; empty before one is applied. */
  deployments(): readonly DesiredDeployment[];
  /**
   * Group name → member hosts, as the applied revision resolves them against the latest
   * inventories (e.g. core/groups `resolveGroups`). Called on every status read: return a cached
   * value. Absent, or undefined (not known yet, or on a follower replica): group filters and
   * host groups are not offered.
   */
  groups?(): ReadonlyMap<string, ReadonlySet<string>> | undefined;
  /**
   * Which relay serves which hosts in the applied revision (relay-directory.ts `relayDirectoryOf`);
   * called on every request a relay makes for a host: return a cached value. Absent or undefined
   * (no revision applied, a follower replica): relay credentials act only for the relay's own host.
   */
  relays?(): RelayDirectory | undefined;
}

export interface ApiDeps {
  readonly store: ApiStore;
  readonly content: ApiContentStore;
  /** This replica's own content when `content` also fetches from peer replicas: what a peer's fetch is answered from. */
  readonly localContent?: ApiContentStore;
  readonly keys: ApiKeys;
  readonly source: ApiSource;
  readonly reconciler: ApiReconciler;
  readonly logger: Logger;
  /** Time of every request (`now` of a route), rate limits and the plan-poll caches. */
  readonly clock: Clock;
  /** Made by the controller when the reconciler observes into it too; created here otherwise. */
  readonly metrics?: Metrics;
  /** Secret of the push webhook (`X-Hub-Signature-256`); absent: the webhook answers 404. */
  readonly webhookSecret?: string;
  /** When set, `/metrics` answers only a request with `Authorization: Bearer <this>` (or the admin token). */
  readonly metricsToken?: string;
  /** True when the source and the store are ready (`/readyz`). */
  ready(): boolean;
  /** The applied revision's deployments; absent: deployments are known only from reports and overrides. */
  readonly desired?: ApiDesired;
  /** Largest artifact `PUT /v1/content` accepts, in bytes; default 16 GiB. */
  readonly maxContentBytes?: number;
  /** How long a host's signed plan is cached for its polls, ms; default 1000 (0: read the store every poll). */
  readonly planCacheMs?: number;
  /** Overrides the enrollment rate limit (tests, large fleets enrolling behind one NAT). */
  readonly enrollRateLimit?: EnrollRateLimit;
  /** Running relays' figures and wake requests (shared with the wake service); absent: one of the API's own. */
  readonly relayRegistry?: RelayRegistry;
  /** The multicast sender (controller/multicast/); absent: the multicast routes answer 409. */
  readonly multicast?: ControllerMulticast;
  /** Wake-on-LAN (controller/wake/); absent: the wake routes answer 409. */
  readonly wake?: ApiWake;
}
