/** The typed model a valid fleet normalises to, its immutability, and its independence from file and document order. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadManifests, type ManifestFile, type Snapshot } from '../../../core/manifest/index.js';
import { repoRoot } from '../../support/ferry.js';

const fleetDir = join(repoRoot, 'test/fixtures/manifests/fleet');
const fleet: ManifestFile[] = readdirSync(fleetDir)
  .sort()
  .map((path) => ({ path, content: readFileSync(join(fleetDir, path)) }));

function load(files: readonly ManifestFile[], revision?: string): Snapshot {
  const result = loadManifests(files, revision === undefined ? {} : { revision });
  expect(result.problems).to.deep.equal([]);
  expect(result.snapshot).to.not.equal(undefined);
  return result.snapshot!;
}

const noLabels = { labels: {}, annotations: {} };

describe('loadManifests: the snapshot of a valid fleet', () => {
  const snapshot = load(fleet, 'main@sha1:abc');

  it('normalises every kind: bytes, milliseconds, defaults', () => {
    expect(snapshot.revision).to.equal('main@sha1:abc');
    expect(snapshot.packages.get('text-editor')?.get('2.4.1')).to.deep.equal({
      apiVersion: 'ferry/v1',
      kind: 'Package',
      metadata: { name: 'text-editor', ...noLabels },
      spec: {
        version: '2.4.1',
        artifact: { sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', size: 1048576, source: 'artifacts/text-editor-2.4.1.tar.gz' },
        install: { command: ['sh', 'install.sh'], timeoutMs: 600_000, env: { MODE: 'quiet' } },
        uninstall: { command: ['sh', 'uninstall.sh'], timeoutMs: 300_000, env: {} },
        detect: { command: ['sh', '-c', 'test -f /opt/editor/VERSION'], timeoutMs: 60_000, env: {} },
        requires: ['runtime-lib'],
        conditions: ['enough-disk'],
        installWindow: 'lunch',
      },
      source: { file: 'packages.yaml', line: 2, col: 1 },
    });
    expect(snapshot.packages.get('runtime-lib')?.get('1.2.0')).to.deep.equal({
      apiVersion: 'ferry/v1',
      kind: 'Package',
      metadata: { name: 'runtime-lib', labels: { team: 'platform' }, annotations: {} },
      spec: {
        version: '1.2.0',
        artifact: { sha256: '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752', size: 2 * 1024 * 1024 },
        install: { command: ['sh', 'install.sh'], timeoutMs: 30 * 60_000, env: {} },
        requires: [],
        conditions: [],
      },
      source: { file: 'packages.yaml', line: 18, col: 1 },
    });
    expect(snapshot.conditions.get('enough-disk')?.spec).to.deep.equal({
      os: ['linux', 'darwin'],
      arch: ['x64', 'arm64'],
      minDiskFree: 2 * 1024 ** 3,
      minMemory: 4 * 1024 ** 3,
      minCpus: 2,
      software: { present: [{ name: 'python3', version: '>=3.8' }], absent: [{ name: 'legacy-editor' }] },
      check: { command: ['/usr/local/bin/license-check'], timeoutMs: 30_000, env: {} },
    });
    expect(snapshot.groups.get('project-a')?.spec).to.deep.equal({
      hosts: ['clt2', 'clt3'],
      include: ['sales'],
      selector: { labels: { dept: 'sales' }, facts: { arch: ['x64', 'arm64'], 'os.platform': 'linux' } },
      exclude: ['quarantine'],
    });
    expect(snapshot.groups.get('sales')?.spec).to.deep.equal({ hosts: ['clt4'], include: [], exclude: [] });
    expect(snapshot.hosts.get('clt2')).to.deep.equal({
      apiVersion: 'ferry/v1',
      kind: 'Host',
      metadata: { name: 'clt2', ...noLabels },
      spec: { labels: { dept: 'sales' }, mac: '00:11:22:33:44:55', relay: 'osaka' },
      source: { file: 'hosts.yaml', line: 1, col: 1 },
    });
    expect(snapshot.relays.get('osaka')?.spec).to.deep.equal({
      host: 'relay-osaka-01',
      url: 'http://relay-osaka-01:8470',
      serves: { groups: ['osaka-office'], hosts: [] },
      multicast: { group: '239.255.70.1', port: 47000, rate: 12_000_000 },
    });
    expect(snapshot.schedules.get('nightly')?.spec).to.deep.equal({
      timezone: 'Asia/Tokyo',
      windows: [
        { cron: '0 22 * * 1-5', durationMs: 6 * 3_600_000 },
        { start: '2026-12-24T20:00:00', durationMs: 2 * 3_600_000 },
      ],
    });
    expect(snapshot.deployments.get('editor-2-4')?.spec).to.deep.equal({
      packages: [{ name: 'text-editor', version: '2.4.1', state: 'present' }],
      targets: { groups: ['project-a'], hosts: ['clt9'] },
      distribute: { multicast: false, wake: true, notBefore: '2026-12-01T22:00:00+09:00', window: 'nightly', segmentSize: 4 * 1024 * 1024, segmentPauseMs: 2000 },
      install: { window: 'lunch', shutdownAfter: false },
      onLeave: 'keep',
      suspended: false,
      rollout: { waves: [{ percent: 5 }, { percent: 25 }, { percent: 100 }], maxFailures: { percent: 10 } },
    });
    expect(snapshot.deployments.get('runtime')?.spec).to.deep.equal({
      packages: [{ name: 'runtime-lib', version: '1.2.0', state: 'present' }],
      targets: { groups: ['sales'], hosts: [] },
      distribute: { multicast: false, wake: false },
      install: { shutdownAfter: false },
      onLeave: 'keep',
      suspended: false,
    });
  });

  it('orders every map by name', () => {
    expect([...snapshot.packages.keys()]).to.deep.equal(['runtime-lib', 'text-editor']);
    expect([...snapshot.groups.keys()]).to.deep.equal(['osaka-office', 'project-a', 'quarantine', 'sales']);
    expect([...snapshot.schedules.keys()]).to.deep.equal(['lunch', 'nightly']);
    expect([...snapshot.deployments.keys()]).to.deep.equal(['editor-2-4', 'runtime']);
  });

  it('freezes everything', () => {
    const editor = snapshot.packages.get('text-editor')!.get('2.4.1')!;
    expect(Object.isFrozen(snapshot)).to.equal(true);
    expect(Object.isFrozen(editor)).to.equal(true);
    expect(Object.isFrozen(editor.spec.install.command)).to.equal(true);
    expect(Object.isFrozen(snapshot.groups.get('project-a')!.spec.selector!.facts)).to.equal(true);
    expect(() => (editor.spec.requires as string[]).push('x')).to.throw(TypeError);
  });

  it('defaults the revision to worktree', () => {
    expect(load(fleet).revision).to.equal('worktree');
  });
});

describe('loadManifests: order independence', () => {
  const plain = (s: Snapshot, withSource: boolean) =>
    JSON.parse(
      JSON.stringify(
        {
          revision: s.revision,
          packages: [...s.packages].map(([n, v]) => [n, [...v]]),
          conditions: [...s.conditions],
          groups: [...s.groups],
          hosts: [...s.hosts],
          schedules: [...s.schedules],
          deployments: [...s.deployments],
          relays: [...s.relays],
        },
        (key, value: unknown) => (key === 'source' && !withSource ? undefined : value),
      ),
    ) as unknown;

  /** A deterministic shuffle (mulberry32), so a failure can be reproduced from its seed. */
  function shuffled<T>(items: readonly T[], seed: number): T[] {
    let a = seed;
    const random = () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  const reference = load(fleet);
  const documents = fleet.flatMap((f) => new TextDecoder().decode(f.content as Uint8Array).split(/^---\n/m));

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`gives the same snapshot for shuffled files (seed ${seed})`, () => {
      expect(plain(load(shuffled(fleet, seed)), true)).to.deep.equal(plain(reference, true));
    });
    it(`gives the same resources for documents shuffled across files (seed ${seed})`, () => {
      const docs = shuffled(documents, seed);
      const files = [0, 1, 2].map((k) => ({ path: `part-${k}.yaml`, content: docs.filter((_, i) => i % 3 === k).join('---\n') }));
      expect(plain(load(files), false)).to.deep.equal(plain(reference, false));
    });
  }
});
