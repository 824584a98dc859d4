/** A relay test's site: a real controller API with one package pushed, behind a counting proxy, and a work directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySink } from '../../../agent/log/events.js';
import { RelayServer } from '../../../agent/relay/relay-server.js';
import { packageFiles, startController, type TestController, type TestPackage } from '../runtime/fixture.js';
import { startUpstreamProxy, type UpstreamProxy } from './upstream-proxy.js';

export interface RelaySite {
  readonly ctl: TestController;
  readonly proxy: UpstreamProxy;
  readonly work: string;
  /** cad 1.0.0, pushed to the controller. */
  readonly pkg: TestPackage;
}

export async function openRelaySite(workPrefix: string, packageBytes: number): Promise<RelaySite> {
  const ctl = await startController();
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
export function startSiteRelay(site: RelaySite, options: { cacheBytes?: number; port?: number } = {}): Promise<RelayServer> {
  const { cacheBytes = 1 << 30, port = 0 } = options;
  return RelayServer.start({ upstream: site.proxy.url, dataDir: join(site.work, 'relay'), cacheBytes, host: '127.0.0.1', port, events: new MemorySink() });
}
