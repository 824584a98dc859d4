import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refreshFleet, type FleetView } from '../../../controller/reconcile/fleet-view.js';
import { VersionedMap } from '../../../core/planner/versioned-map.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';

const all = { kind: 'all' } as const;
const t0 = new Date('2026-12-01T00:00:00Z');

/** The real store, counting the calls that read the whole fleet. */
function counting(store: Store): { store: Store; reads: string[] } {
  const reads: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (name === 'inventoryHashes' || name === 'listInstalled' || name === 'listInventories') reads.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, reads };
}

describe('controller/reconcile fleet view: the fleet generation', () => {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-fleet-view-'));
    store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
    await store.putInventory({ host: 'h1', facts: {}, labels: { site: 'a' }, software: [] }, t0);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads nothing of the fleet when no inventory or installed record was written since the last view', async () => {
    const c = counting(store);
    const first = (await refreshFleet(c.store, undefined, all)).view;
    c.reads.length = 0;
    const again = await refreshFleet(c.store, first, all);
    expect(again).to.deep.equal({ view: first, changedInventories: 0 });
    expect(again.view).to.equal(first);
    expect(c.reads).to.deep.equal([]);

    // The same inventory sent again changes no content: still nothing to read.
    await store.putInventory({ host: 'h1', facts: {}, labels: { site: 'a' }, software: [] }, new Date(t0.getTime() + 1000));
    expect((await refreshFleet(c.store, first, all)).view).to.equal(first);
    expect(c.reads).to.deep.equal([]);
  });

  it('sees an inventory written without a trigger (another replica), and a new installed record', async () => {
    const first = (await refreshFleet(store, undefined, all)).view;
    await store.putInventory({ host: 'h2', facts: {}, labels: { site: 'b' }, software: [] }, t0);
    const second: FleetView = (await refreshFleet(store, first, all)).view;
    expect([...second.inventories.keys()].sort()).to.deep.equal(['h1', 'h2']);
    expect(second.changed?.from).to.equal(first.inventories);
    expect([...second.changed!.hosts]).to.deep.equal(['h2']);
    expect(second.generation).to.not.equal(first.generation);

    await store.ingestReports('h1', [{ id: 'r1', actionId: 'd/p@1.0.0/install', serial: 1, state: 'installed', at: t0.toISOString() }], t0);
    const third = (await refreshFleet(store, second, all)).view;
    const records = (v: FleetView) => [...v.installed.values()].flat();
    expect(records(third).map((r) => [r.host, r.deployment, r.package, r.version])).to.deep.equal([['h1', 'd', 'p', '1.0.0']]);
    expect((third.installed as VersionedMap<unknown>).changedSince(second.installed)).to.deep.equal(new Set(['h1']));
    expect(third.inventories).to.equal(second.inventories);
    expect(third.changed).to.equal(undefined);

    // Through an agent trigger: the named host's records in the next version; another host's leave them as they are.
    await store.ingestReports('h2', [{ id: 'r2', actionId: 'd/p@1.0.0/install', serial: 1, state: 'installed', at: t0.toISOString() }], t0);
    const fourth = (await refreshFleet(store, third, { kind: 'hosts', hosts: new Set(['h2']) })).view;
    expect(records(fourth).map((r) => r.host)).to.deep.equal(['h1', 'h2']);
    expect(fourth.installed.get('h2')?.map((r) => r.package)).to.deep.equal(['p']);
    expect(fourth.installed.get('h1')).to.equal(third.installed.get('h1'));
    expect((fourth.installed as VersionedMap<unknown>).changedSince(third.installed)).to.deep.equal(new Set(['h2']));
    const fifth = (await refreshFleet(store, fourth, { kind: 'hosts', hosts: new Set(['h1']) })).view;
    expect(fifth.installed).to.equal(fourth.installed);
  });

  it('names the hosts whose inventory changed, the next maps made from the previous ones', async () => {
    const inv = (host: string, site: string) => ({ host, facts: {}, labels: { site }, software: [] });
    const sites = (v: FleetView) => Object.fromEntries([...v.inventories].map(([h, i]) => [h, i.labels['site']]));
    const first = (await refreshFleet(store, undefined, all)).view;
    for (const h of ['h3', 'h2']) await store.putInventory(inv(h, 'b'), t0);
    const joined = (await refreshFleet(store, first, { kind: 'hosts', hosts: new Set(['h3', 'h2']) })).view;
    expect(sites(joined)).to.deep.equal({ h1: 'a', h2: 'b', h3: 'b' });
    expect(joined.changed).to.deep.equal({ from: first.inventories, hosts: new Set(['h3', 'h2']) });
    expect(joined.inventories).to.be.instanceOf(VersionedMap);
    // A change to a known host, one sent again unchanged and a new one: the changed ones named.
    await store.putInventory(inv('h1', 'c'), t0);
    await store.putInventory(inv('h4', 'c'), t0);
    const moved = await refreshFleet(store, joined, { kind: 'hosts', hosts: new Set(['h1', 'h3', 'h4']) });
    expect(sites(moved.view)).to.deep.equal({ h1: 'c', h2: 'b', h3: 'b', h4: 'c' });
    expect(moved.view.changed).to.deep.equal({ from: joined.inventories, hosts: new Set(['h1', 'h4']) });
    expect(moved.changedInventories).to.equal(2);
    expect(moved.view.inventories.get('h3')).to.equal(joined.inventories.get('h3'));
  });

  it('reads the whole fleet again after a pass that read only some hosts', async () => {
    const first = (await refreshFleet(store, undefined, all)).view;
    const partial = (await refreshFleet(store, first, { kind: 'hosts', hosts: new Set(['h1']) })).view;
    expect(partial.generation).to.equal('');
    const c = counting(store);
    await refreshFleet(c.store, partial, all);
    expect(c.reads).to.include('inventoryHashes');
  });
});
