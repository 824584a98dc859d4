/**
 * A real API over a real SQLite store and content directory, listening on a port the
 * OS picks; the source and reconciler are small recording fakes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock, type Clock } from '../../../lib/clock.js';
import { createApi, type Api } from '../../../controller/api/app.js';
import type { ApiDeps, DesiredDeployment, EnrollRateLimit } from '../../../controller/api/deps.js';
import { DirectoryContentStore } from '../../../controller/content/index.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import { signDocument } from '../../../core/signing/index.js';
import type { HostPlan, Plan } from '../../../core/plan/types.js';

export interface Events {
  inventoryChanged: string[];
  reportsIngested: string[];
  overridesChanged: number;
  refreshes: number;
}

export interface Harness {
  readonly url: string;
  /** The API's server (api.createServer()), listening on `url`. */
  readonly server: Server;
  readonly store: Store;
  readonly content: DirectoryContentStore;
  readonly api: Api;
  readonly adminToken: string;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
  readonly events: Events;
  readonly dir: string;
  setReady(ready: boolean): void;
  /** Sends a request; JSON bodies are serialized, the admin token is sent unless `token` is given (null: none). */
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** Makes a token and enrolls `host`; returns its credential. */
  enroll(host: string): Promise<string>;
  /** Stores and signs a plan for `host`; returns the signed document. */
  seedPlan(host: string, revision?: string, actions?: HostPlan['actions']): Promise<string>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly json?: unknown;
  readonly body?: string | Buffer;
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: any;
}

export interface HarnessOptions {
  readonly enrollRateLimit?: EnrollRateLimit;
  readonly webhookSecret?: string;
  readonly metricsToken?: string;
  readonly desired?: DesiredDeployment[];
  /** Group name → member hosts, offered as the applied revision's groups (needs `desired`). */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
  /** The API's clock; default `systemClock` (tests that pin times pass `manualClock`). */
  readonly clock?: Clock;
  /** Default 0 here, so a plan stored by a test is served at once. */
  readonly planCacheMs?: number;
  /**
   * Called with the name of every store method the API calls (the test's own `store` calls are not
   * counted); a promise returned holds the call until it settles.
   */
  readonly onStoreCall?: (method: string) => unknown;
}

/** The real store, telling `onCall` the name of each method called through it. */
function countingStore(store: Store, onCall: (method: string) => unknown): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      return (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        const held = onCall(key);
        return held instanceof Promise ? held.then(call) : call();
      };
    },
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? systemClock;
  const dir = await mkdtemp(join(tmpdir(), 'ferry-api-'));
  const store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  const content = new DirectoryContentStore(join(dir, 'content'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const adminToken = 'admin-token-for-tests-0123456789';
  const events: Events = { inventoryChanged: [], reportsIngested: [], overridesChanged: 0, refreshes: 0 };
  let ready = true;
  const deps: ApiDeps = {
    store: options.onStoreCall ? countingStore(store, options.onStoreCall) : store,
    content,
    keys: { publicKeyPem, adminToken },
    source: {
      status: () => ({ kind: 'dir', url: '/manifests', ready: true, revision: 'dir@sha256:abc' }),
      refresh: async () => {
        events.refreshes++;
      },
    },
    reconciler: {
      inventoryChanged: (h) => events.inventoryChanged.push(h),
      reportsIngested: (h) => events.reportsIngested.push(h),
      overridesChanged: () => {
        events.overridesChanged++;
      },
    },
    logger: pino({ level: 'silent' }),
    clock,
    ready: () => ready,
    planCacheMs: options.planCacheMs ?? 0,
    ...(options.webhookSecret !== undefined && { webhookSecret: options.webhookSecret }),
    ...(options.metricsToken !== undefined && { metricsToken: options.metricsToken }),
    ...(options.enrollRateLimit && { enrollRateLimit: options.enrollRateLimit }),
    ...(options.desired && {
      desired: {
        deployments: () => options.desired!,
        ...(options.groups && { groups: () => new Map(Object.entries(options.groups!).map(([g, hosts]) => [g, new Set(hosts)])) }),
      },
    }),
  };
  const api = createApi(deps);
  const server: Server = await new Promise((resolve) => {
    const s = api.createServer().listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request = async (method: string, path: string, o: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? adminToken : o.token;
    if (token !== null && headers['authorization'] === undefined) headers['authorization'] = `Bearer ${token}`;
    let body: string | Buffer | undefined = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined && { body }) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };

  return {
    url,
    server,
    store,
    content,
    api,
    adminToken,
    publicKeyPem,
    privateKeyPem,
    events,
    dir,
    setReady: (r) => {
      ready = r;
    },
    request,
    async enroll(host) {
      const { token } = await store.createToken({ ttlMs: 3_600_000, now: new Date(clock.now()) });
      const r = await request('POST', '/v1/enroll', { token: null, json: { token, host, facts: { os: { platform: 'linux' } }, labels: {} } });
      if (r.status !== 201) throw new Error(`enroll ${host}: ${r.status} ${r.text}`);
      return r.json.credential as string;
    },
    async seedPlan(host, revision = 'main@sha1:1111', actions = []) {
      const body: HostPlan = { host, sources: [{ kind: 'controller', name: 'controller' }], actions };
      const now = new Date(clock.now());
      let signed = '';
      await store.savePlans([{ host, hash: `${revision}:${JSON.stringify(actions)}`, body, revision }], now, {
        sign: (p) => {
          const plan: Plan = {
            ...p.body,
            serial: p.serial,
            revision: p.revision,
            generatedAt: p.generatedAt,
            expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
          };
          signed = JSON.stringify(signDocument(plan, privateKeyPem));
          return signed;
        },
      });
      return signed;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await api.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
