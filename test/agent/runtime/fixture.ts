/**
 * A real controller API (express app over a real SQLite store and content directory) on a port
 * the OS picks, that also records every content response; plus test packages built with
 * `buildArtifact` and plans signed like the controller signs them. Nothing of the agent is faked.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../../lib/clock.js';
import { createApi } from '../../../controller/api/app.js';
import { DirectoryContentStore } from '../../../controller/content/index.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import type { ContentSource, HostPlan, Plan, PlanAction } from '../../../core/plan/types.js';
import { signDocument } from '../../../core/signing/index.js';
import { buildArtifact } from '../../../cli/artifact.js';
import { relayDirectory, type RelayInfo } from '../../../controller/api/relay-directory.js';
import { RelayRegistry } from '../../../controller/api/relay-registry.js';

export interface ContentResponse {
  readonly range?: string;
  readonly status: number;
  /** Body bytes announced (Content-Length). */
  readonly bytes: number;
  readonly at: number;
}

export interface TestController {
  readonly url: string;
  readonly store: Store;
  readonly dir: string;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
  /** Every content response sent, in order. */
  readonly content: ContentResponse[];
  token(): Promise<string>;
  /** Builds `files` into an artifact and pushes it into the content store. */
  pushPackage(name: string, version: string, files: Record<string, string | Buffer>): Promise<TestPackage>;
  /** Stores a plan for `host` (its serial rises when the actions change) and serves it signed. */
  setPlan(host: string, actions: readonly PlanAction[], options?: PlanOptions): Promise<Plan>;
  /** Serves `doc` (signed with `key`, default the controller's) as `host`'s current plan document. */
  serveDocument(host: string, doc: Plan, key?: string): Promise<void>;
  close(): Promise<void>;
}

export interface PlanOptions {
  readonly sources?: readonly ContentSource[];
  readonly expiresAt?: string;
}

export interface TestPackage {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly file: string;
}

export interface TestControllerOptions {
  /** Relays as a Relay manifest would describe them (which relay host serves which hosts). */
  readonly relays?: readonly RelayInfo[];
  /** Shared with the test to queue wake requests for relays. */
  readonly relayRegistry?: RelayRegistry;
}

export async function startController(options: TestControllerOptions = {}): Promise<TestController> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-agent-rt-'));
  const store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  const contentStore = new DirectoryContentStore(join(dir, 'content'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const api = createApi({
    store,
    content: contentStore,
    keys: { publicKeyPem, adminToken: 'admin-token-for-agent-tests-0123456789' },
    source: { status: () => ({}), refresh: async () => undefined },
    reconciler: { inventoryChanged: () => undefined, reportsIngested: () => undefined, overridesChanged: () => undefined },
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    ready: () => true,
    planCacheMs: 0,
    enrollRateLimit: { perMinute: 1000, burst: 1000 },
    ...(options.relays ? { desired: { deployments: () => [], relays: () => relayDirectory(options.relays!) } } : {}),
    relayRegistry: options.relayRegistry ?? new RelayRegistry(systemClock),
  });
  const content: ContentResponse[] = [];
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/v1/content/') && req.method === 'GET') {
      const range = req.headers.range;
      const origWriteHead = res.writeHead.bind(res);
      res.writeHead = ((...args: Parameters<typeof res.writeHead>) => {
        const r = origWriteHead(...args);
        const length = Number(res.getHeader('content-length') ?? 0);
        content.push({ ...(range ? { range } : {}), status: res.statusCode, bytes: res.statusCode < 300 ? length : 0, at: Date.now() });
        return r;
      }) as typeof res.writeHead;
    }
    api.listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (doc: Plan, key = privateKeyPem) => JSON.stringify(signDocument(doc, key));

  return {
    url,
    store,
    dir,
    publicKeyPem,
    privateKeyPem,
    content,
    async token() {
      return (await store.createToken({ ttlMs: 3_600_000, now: new Date() })).token;
    },
    async pushPackage(name, version, files) {
      const src = join(dir, 'src', `${name}-${version}`);
      await mkdir(src, { recursive: true });
      for (const [f, body] of Object.entries(files)) {
        await writeFile(join(src, f), body);
        if (f.endsWith('.sh')) await chmod(join(src, f), 0o755);
      }
      const file = join(dir, `${name}-${version}.tar.gz`);
      const info = await buildArtifact(src, file);
      const put = await contentStore.put(createReadStream(file), info.sha256, { expectedSize: info.size });
      if (!put.ok) throw new Error(`push failed: ${JSON.stringify(put)}`);
      return { name, version, sha256: info.sha256, size: info.size, file };
    },
    async setPlan(host, actions, options = {}) {
      const body: HostPlan = { host, sources: options.sources ?? [{ kind: 'controller', name: 'controller' }], actions };
      const now = new Date();
      let plan!: Plan;
      await store.savePlans([{ host, hash: JSON.stringify(body), body, revision: 'main@sha1:test' }], now, {
        sign: (p) => {
          plan = {
            ...p.body,
            serial: p.serial,
            revision: p.revision,
            generatedAt: p.generatedAt,
            expiresAt: options.expiresAt ?? new Date(now.getTime() + 86_400_000).toISOString(),
          };
          return sign(plan);
        },
      });
      if (!plan) throw new Error('setPlan: the plan did not change, so its serial did not rise');
      return plan;
    },
    async serveDocument(host, doc, key) {
      const current = await store.getPlan(host);
      if (!current) throw new Error(`no plan for ${host}`);
      const n = await store.putSignedPlans([{ host, serial: current.serial, signed: sign(doc, key), signedAt: new Date() }]);
      if (n !== 1) throw new Error('serveDocument: not stored');
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An install script that counts its runs in INSTALL_ROOT/NAME.runs, waits `sleep` seconds, then installs. */
export function installScript(name: string, version: string, options: { sleep?: number; exit?: number } = {}): string {
  return [
    '#!/bin/sh',
    'set -eu',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    'root="${FERRY_INSTALL_ROOT%/}"',
    `echo "${version}" >> "$root/${name}.runs"`,
    options.sleep ? `sleep ${options.sleep}` : '',
    options.exit ? `echo "installer of ${name} fails on purpose" >&2; exit ${options.exit}` : '',
    `mkdir -p "$root/opt/${name}"`,
    `cp "$FERRY_PACKAGE_DIR/payload.bin" "$root/opt/${name}/payload.bin"`,
    `printf '%s\\n' "${version}" > "$root/opt/${name}/VERSION"`,
    '',
  ].join('\n');
}

export function uninstallScript(name: string): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  return ['#!/bin/sh', 'set -eu', 'root="${FERRY_INSTALL_ROOT%/}"', `rm -rf "$root/opt/${name}"`, `echo removed >> "$root/${name}.uninstalls"`, ''].join('\n');
}

/** The files of a test package with `payloadBytes` of incompressible payload. */
export function packageFiles(name: string, version: string, payloadBytes = 4096, options: { sleep?: number; exit?: number } = {}): Record<string, string | Buffer> {
  return {
    'install.sh': installScript(name, version, options),
    'uninstall.sh': uninstallScript(name),
    'payload.bin': randomBytes(payloadBytes),
  };
}

/** Writes `packageFiles` into `pkgDir` and builds them into the artifact `out` (its folder is created). */
export async function buildTestArtifact(pkgDir: string, out: string, files: Record<string, string | Buffer>): Promise<{ sha256: string; size: number }> {
  await mkdir(dirname(out), { recursive: true });
  await mkdir(pkgDir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(pkgDir, name), content);
  return buildArtifact(pkgDir, out);
}

const spec = (command: string[]) => ({ command, timeoutMs: 60_000, env: {} });

/** A plan action for a pushed package, as the planner would write it. */
export function action(pkg: TestPackage, over: Partial<PlanAction> & { deployment?: string } = {}): PlanAction {
  const deployment = over.deployment ?? 'dep';
  const op = over.op ?? 'install';
  return {
    id: `${deployment}/${pkg.name}@${pkg.version}/${op}`,
    deployment,
    package: pkg.name,
    version: pkg.version,
    op,
    status: 'planned',
    blockedBy: [],
    artifact: { sha256: pkg.sha256, size: pkg.size },
    install: spec(['sh', 'install.sh']),
    uninstall: spec(['sh', 'uninstall.sh']),
    detect: spec(['sh', '-c', `grep -qx '${pkg.version}' "$FERRY_INSTALL_ROOT/opt/${pkg.name}/VERSION"`]),
    conditions: [],
    distribute: { multicast: false, wake: false },
    shutdownAfter: false,
    suspended: false,
    ...over,
  };
}
