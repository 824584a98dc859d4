/**
 * A relay test's site: a real controller API with one package pushed, behind a counting proxy, and
 * a work directory. The controller knows Relay `osaka` on host `relay-osaka`, serving the hosts the
 * relay tests use; the site's relay runs with that host's credential.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySink } from '../../../agent/log/events.js';
import { RelayServer } from '../../../agent/relay/relay-server.js';
import { packageFiles, startController, type TestController, type TestPackage } from '../runtime/fixture.js';
import { enroll, startUpstreamProxy, type UpstreamProxy } from './upstream-proxy.js';
import type { RelayIdentity } from '../../../agent/relay/work-poller.js';

/** Hosts the site's relay serves. */
export const servedHosts: readonly string[] = [...Array.from({ length: 8 }, (_, i) => `site-${i}`), 'site-a', 'site-b', 'osk-1', 'osk-2', 'osk-3', 'osk-a', 'osk-b'];
const identities = new WeakMap<TestController, Promise<RelayIdentity>>();

/** The relay host's identity on the site's controller (enrolled on first use). */
export function relayIdentity(ctl: TestController): Promise<RelayIdentity> {
  let id = identities.get(ctl);
  if (!id) {
    id = enroll(ctl, ctl.url, 'relay-osaka').then((auth) => ({ host: 'relay-osaka', credential: auth.replace(/^Bearer /, '') }));
    identities.set(ctl, id);
  }
  return id;
}

export interface RelaySite {
  readonly ctl: TestController;
  readonly proxy: UpstreamProxy;
  readonly work: string;
  /** cad 1.0.0, pushed to the controller. */
  readonly pkg: TestPackage;
}

export async function openRelaySite(workPrefix: string, packageBytes: number): Promise<RelaySite> {
  const ctl = await startController({ relays: [{ name: 'osaka', host: 'relay-osaka', url: 'http://relay-osaka:8470', served: new Set(servedHosts) }] });
  const proxy = await startUpstreamProxy(ctl.url);
  const work = await mkdtemp(join(tmpdir(), workPrefix));
  const pkg = await ctl.pushPackage('cad', '1.0.0', packageFiles('cad', '1.0.0', packageBytes));
  return { ctl, proxy, work, pkg };
}

/** Closes the relay (if one runs), then the proxy and the controller; removes the work directory. */
export async function closeRelaySite(site: RelaySite, relay: RelayServer | undefined): Promise<void> {
  await relay?.close();
  await site.proxy.close();
  await site.ctl.close();
  await rm(site.work, { recursive: true, force: true });
}

/** A relay on 127.0.0.1 whose upstream is the site's proxy, its data under work/relay. */
export async function startSiteRelay(site: RelaySite, options: { cacheBytes?: number; port?: number } = {}): Promise<RelayServer> {
  const { cacheBytes = 1 << 30, port = 0 } = options;
  const identity = await relayIdentity(site.ctl);
  return RelayServer.start({
    upstream: site.proxy.url,
    dataDir: join(site.work, 'relay'),
    cacheBytes,
    host: '127.0.0.1',
    port,
    events: new MemorySink(),
    identity: async () => identity,
    workWaitMs: 200,
  });
}
