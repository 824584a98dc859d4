import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Inventory } from '../../../core/plan/types.js';
import { corePlanning } from '../../../controller/reconcile/core-planning.js';
import type { Planning } from '../../../controller/reconcile/planning.js';
import { Reconciler } from '../../../controller/reconcile/reconciler.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import { systemClock } from '../../../lib/clock.js';
import { FakeSource } from './fake-source.js';

const HOSTS = 5000;
const { privateKey } = generateKeyPairSync('ed25519');
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Three label groups over the fleet and a deployment each: every host gets a plan of its own. */
function manifests(): string {
  const docs: string[] = [];
  for (let s = 0; s < 3; s++) {
    docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: site-${s}}\nspec:\n  selector:\n    labels: {site: site-${s}}\n`);
    docs.push(
      `apiVersion: ferry/v1\nkind: Package\nmetadata: {name: tool-${s}}\nspec:\n  version: "1.0.0"\n  artifact: {sha256: "${String(s + 1).repeat(64)}", size: 5}\n` +
        '  install: {command: [sh, install.sh]}\n  uninstall: {command: [sh, uninstall.sh]}\n',
    );
    docs.push(
      `apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: tool-${s}}\nspec:\n  packages:\n    - {name: tool-${s}, version: "1.0.0", state: present}\n  targets: {groups: [site-${s}]}\n`,
    );
  }
  return docs.join('---\n');
}

describe('controller/reconcile: a large revision does not hold the event loop', function () {
  this.timeout(120_000);
  let dir: string;
  let store: Store;
  let server: Server;
  let reconciler: Reconciler | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-event-loop-'));
    store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
    const now = new Date();
    const inventories: Inventory[] = Array.from({ length: HOSTS }, (_, i) => ({
      host: `host-${String(i).padStart(5, '0')}`,
      facts: { os: { platform: 'linux' } },
      labels: { site: `site-${i % 3}` },
      software: [],
    }));
    for (let i = 0; i < HOSTS; i += 1000) await store.putInventories(inventories.slice(i, i + 1000).map((inventory) => ({ inventory, now })));
    server = createServer((_req, res) => res.end('{"status":"ok"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await reconciler?.stop();
    server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`answers HTTP while ${HOSTS} plans are planned, signed and stored, and gives the event loop turns throughout`, async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    let answered = false;
    let passDone = false;
    let answeredDuringPass: boolean | undefined;
    // A health check sent as planning starts: its answer needs several turns of the event loop.
    const planning: Planning = {
      load: corePlanning.load,
      plan(inputs, previous) {
        void fetch(url).then(async (res) => {
          expect(res.status).to.equal(200);
          await res.text();
          answered = true;
          answeredDuringPass = !passDone;
        });
        return corePlanning.plan(inputs, previous as never);
      },
    };
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const source = new FakeSource();
    reconciler = new Reconciler({ store, source, planning, signingKey: privateKeyPem, clock: systemClock, logger: pino({ level: 'silent' }) });
    delay.enable();
    setImmediate(count);
    reconciler.start();
    source.push('main@sha1:aaaa', [{ path: 'fleet.yaml', content: manifests() }]);
    const run = await reconciler.reconcileNow('large revision');
    passDone = true;
    counting = false;
    delay.disable();

    expect(run?.outcome).to.equal('applied');
    expect(run?.raised.length).to.equal(HOSTS);
    expect(answered, 'the health check was answered before the pass ended').to.equal(true);
    expect(answeredDuringPass).to.equal(true);
    // Slices of ~20 ms: a pass of several seconds gives the event loop many turns (the planner's
    // own steps alone number HOSTS / 500); a generous bound on the longest stall, not on wall time.
    expect(turns).to.be.greaterThan(HOSTS / 500);
    expect(delay.max / 1e6, 'longest event-loop stall, ms').to.be.below(1500);
  });
});
