/** Results import on a real SQLite store: genuine files merge once; altered or foreign ones change nothing. */
import { expect } from 'chai';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importResults } from '../../../controller/bundle/import-results.js';
import { deriveResultsKey } from '../../../controller/bundle/results-key.js';
import { openStore } from '../../../controller/store/index.js';
import type { Store } from '../../../controller/store/store.js';
import { resultsFormat, signResults, type ResultsFile } from '../../../core/bundle/format.js';
import { keyFingerprint } from '../../../core/signing/index.js';
import { makeKeys } from '../../agent/bundle/harness.js';

describe('controller/bundle: results import', () => {
  const keys = makeKeys();
  let dir: string;
  let store: Store;
  const now = new Date('2026-12-04T12:00:00.000Z');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-results-'));
    store = await openStore(`sqlite:${join(dir, 'ferry.db')}`);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const file = (key = deriveResultsKey(keys.privateKeyPem, 'b-1', 'h1')): ResultsFile =>
    signResults(
      {
        format: resultsFormat,
        bundleId: 'b-1',
        host: 'h1',
        serial: 3,
        appliedAt: '2026-12-03T08:00:00.000Z',
        reports: [
          { id: 'r1', actionId: 'd/p@1/install', serial: 3, state: 'installing', at: '2026-12-03T07:59:00.000Z' },
          { id: 'r2', actionId: 'd/p@1/install', serial: 3, state: 'installed', at: '2026-12-03T07:59:30.000Z', exitCode: 0 },
        ],
      },
      key,
    );

  it('merges a genuine file once, with its source; a second import changes nothing', async () => {
    const first = await importResults(store, file(), keys.privateKeyPem, now);
    expect(first).to.deep.equal({
      ok: true,
      host: 'h1',
      bundleId: 'b-1',
      appliedAt: '2026-12-03T08:00:00.000Z',
      result: { accepted: 2, duplicates: 0, advanced: [{ actionId: 'd/p@1/install', state: 'installed' }] },
    });
    const second = await importResults(store, file(), keys.privateKeyPem, now);
    expect(second).to.deep.equal({ ...first, result: { accepted: 0, duplicates: 2, advanced: [] } });
    const history = await store.history('h1');
    expect(history.map((r) => [r.id, r.state, r.source])).to.deep.equal([
      ['r1', 'installing', 'from a bundle, applied at 2026-12-03T08:00:00.000Z'],
      ['r2', 'installed', 'from a bundle, applied at 2026-12-03T08:00:00.000Z'],
    ]);
  });

  const cases: { name: string; make: () => ResultsFile; reason: string }[] = [
    {
      name: 'an altered report',
      make: () => {
        const f = file();
        return { ...f, reports: [f.reports[0]!, { ...f.reports[1]!, state: 'failed' }] };
      },
      reason: 'the results file of h1 is altered, or was not made from a bundle of this controller (its signature does not hold)',
    },
    {
      name: 'another host named',
      make: () => ({ ...file(), host: 'h2' }),
      reason: 'the results file of h2 is altered, or was not made from a bundle of this controller (its signature does not hold)',
    },
    {
      name: 'a file from another controller',
      make: () => file(deriveResultsKey(makeKeys().privateKeyPem, 'b-1', 'h1')),
      reason: 'the results file of h1 is altered, or was not made from a bundle of this controller (its signature does not hold)',
    },
    {
      name: 'no signature',
      make: () => ({ ...file(), mac: undefined }) as ResultsFile,
      reason: 'the results file of h1 is altered, or was not made from a bundle of this controller (its signature does not hold)',
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} and changes nothing`, async () => {
      expect(await importResults(store, c.make(), keys.privateKeyPem, now)).to.deep.equal({ ok: false, reason: c.reason });
      expect(await store.history('h1')).to.deep.equal([]);
      expect(await store.history('h2')).to.deep.equal([]);
    });
  }

  it('the fingerprint is SHA256: and unpadded base64 of the sha256 of the SPKI DER, as ssh-keygen -l prints', () => {
    const der = createPublicKey(keys.publicKeyPem).export({ type: 'spki', format: 'der' });
    const b64 = createHash('sha256').update(der).digest('base64');
    expect(b64.endsWith('=')).to.equal(true);
    expect(keyFingerprint(keys.publicKeyPem)).to.equal(`SHA256:${b64.slice(0, -1)}`);
  });
});
