/**
 * `ferry bundle apply` in process: real bundles from the controller's builder, real files, the
 * agent's real Executor, journal and installer. Every refusal leaves nothing behind.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, readdir, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyBundle, type ApplyOptions } from '../../../agent/bundle/apply.js';
import type { EventSink } from '../../../agent/log/events.js';
import { checkResults } from '../../../controller/bundle/import-results.js';
import type { ResultsFile } from '../../../core/bundle/format.js';
import { manualClock } from '../../../lib/clock.js';
import { installAction, makeHarness, makeKeys, planRecord, repack, traversalArtifact, writeBundle, type Harness } from './harness.js';

const silent: EventSink = { emit() {}, progress() {}, endProgress() {}, close() {} };
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('agent/bundle: ferry bundle apply', function () {
  this.timeout(30_000);
  const keys = makeKeys();
  let h: Harness;
  let work: string;
  let data: string;
  let installRoot: string;

  beforeEach(async () => {
    h = await makeHarness();
    work = await mkdtemp(join(tmpdir(), 'ferry-bundle-work-'));
    data = join(work, 'data');
    installRoot = join(work, 'root');
  });
  afterEach(async () => {
    await rm(h.root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  const apply = (file: string, extra: Partial<ApplyOptions> = {}) =>
    applyBundle({ file, dataDir: data, installRoot, defaultName: 'h1', fingerprint: keys.fingerprint, events: silent, ...extra });

  const installs = () => readFile(join(installRoot, 'installs.log'), 'utf8').catch(() => '');

  async function bundle(serial = 5, o: Parameters<typeof writeBundle>[4] = {}, host = 'h1') {
    return writeBundle(h, keys, [planRecord(host, serial, [installAction(h.artifact)])], join(work, `b${serial}.tar`), o);
  }

  /** A refusal: the whole result, nothing installed, and (on a fresh host) no data folder left. */
  async function refused(file: string, reason: string, extra: Partial<ApplyOptions> = {}, fresh = true) {
    expect(await apply(file, extra)).to.deep.equal({ ok: false, reason });
    expect(await installs()).to.equal('');
    if (fresh) expect(await exists(data)).to.equal(false);
  }

  it('installs through the executor (install window closed: windows do not apply), writes signed results; a second apply installs nothing again', async () => {
    const { files, id } = await bundle();
    const first = await apply(files[0]!);
    const resultsFile = join(work, 'b5.tar.results-h1.json');
    expect(first).to.deep.equal({ ok: true, host: 'h1', serial: 5, resultsFile, outcomes: new Map([['hello-1/hello@1.0.0/install', 'done']]) });
    expect(await installs()).to.equal('start\ndone\n');
    const results = JSON.parse(await readFile(resultsFile, 'utf8')) as ResultsFile;
    expect({ ...results, reports: results.reports.map((r) => [r.actionId, r.serial, r.state]), appliedAt: typeof results.appliedAt, mac: typeof results.mac }).to.deep.equal({
      format: 'ferry-results/v1',
      bundleId: id,
      host: 'h1',
      serial: 5,
      appliedAt: 'string',
      reports: [
        ['hello-1/hello@1.0.0/install', 5, 'downloading'],
        ['hello-1/hello@1.0.0/install', 5, 'downloaded'],
        ['hello-1/hello@1.0.0/install', 5, 'installing'],
        ['hello-1/hello@1.0.0/install', 5, 'installed'],
      ],
      mac: 'string',
    });
    expect(checkResults(results, keys.privateKeyPem)).to.equal(undefined);

    // Again, without the fingerprint: the key is pinned in DATA now.
    const second = await apply(files[0]!, { fingerprint: undefined as unknown as string });
    expect(second).to.deep.equal({ ok: true, host: 'h1', serial: 5, resultsFile, outcomes: new Map([['hello-1/hello@1.0.0/install', 'done']]) });
    expect(await installs()).to.equal('start\ndone\n');
    expect((await readdir(data)).filter((n) => n.startsWith('bundle-staging'))).to.deep.equal([]);
  });

  it('refuses a tampered artifact', async () => {
    const { files } = await bundle();
    const out = join(work, 'tampered.tar');
    await repack(files[0]!, out, async (dir) => {
      const p = join(dir, 'artifacts', `${h.artifact.sha256}.tar.gz`);
      const bytes = await readFile(p);
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(p, bytes);
    });
    const r = await apply(out);
    expect(r.ok).to.equal(false);
    await refused(out, (r as { reason: string }).reason);
    expect((r as { reason: string }).reason).to.match(
      new RegExp(
        `^artifact artifacts/${h.artifact.sha256}\\.tar\\.gz does not match bundle\\.json \\(sha256 [0-9a-f]{64}, ${h.artifact.size} bytes; expected ${h.artifact.sha256}, ${h.artifact.size} bytes\\)$`,
      ),
    );
  });

  it('refuses a tampered plan', async () => {
    const { files } = await bundle();
    const out = join(work, 'tampered.tar');
    await repack(files[0]!, out, async (dir) => {
      const p = join(dir, 'plans', 'h1.json');
      await writeFile(p, (await readFile(p, 'utf8')).replace('"serial":5', '"serial":6'));
    });
    await refused(out, 'plans/h1.json does not match its sha256 in bundle.json (the bundle was altered)');
  });

  it('refuses a tampered index', async () => {
    const { files } = await bundle();
    const out = join(work, 'tampered.tar');
    await repack(files[0]!, out, async (dir) => {
      const p = join(dir, 'bundle.json');
      await writeFile(p, (await readFile(p, 'utf8')).replace(/"expiresAt": "[^"]+"/, '"expiresAt": "2999-01-01T00:00:00.000Z"'));
    });
    await refused(out, 'bundle.json: signature does not match the pinned controller key (the bundle was altered)');
  });

  it('refuses a truncated bundle', async () => {
    const { files } = await bundle();
    await truncate(files[0]!, 2048);
    await refused(files[0]!, 'the bundle is truncated or damaged (TAR_BAD_ARCHIVE: Truncated input (needed 1024 more bytes, only 0 available))');
  });

  it('refuses a bundle for another host', async () => {
    const { files } = await bundle();
    await refused(files[0]!, 'the bundle is for h1, not for host h2 (use --name for another name)', { name: 'h2' });
  });

  it('refuses an expired bundle', async () => {
    const now = new Date('2026-12-01T00:00:00.000Z');
    const { files } = await bundle(5, { now, validMs: 86_400_000 });
    await refused(files[0]!, "the bundle's plan is refused: freeze: plan expired at 2026-12-02T00:00:00.000Z", { clock: manualClock('2026-12-03T00:00:00.000Z') });
  });

  it('refuses a bundle older than the plan the host applied', async () => {
    const newer = await bundle(7);
    expect((await apply(newer.files[0]!)).ok).to.equal(true);
    const older = await bundle(6);
    expect(await apply(older.files[0]!)).to.deep.equal({ ok: false, reason: "the bundle's plan is refused: rollback: plan serial 6 is lower than the applied serial 7" });
    expect(await installs()).to.equal('start\ndone\n');
  });

  it('refuses a link entry in the bundle container', async () => {
    const { files } = await bundle();
    const out = join(work, 'link.tar');
    await repack(files[0]!, out, async (dir) => symlink('/etc/passwd', join(dir, 'artifacts', 'passwd')));
    await refused(out, 'unsafe entry in the bundle: artifacts/passwd: symbolic link to an absolute path /etc/passwd');
  });

  it('refuses an artifact with a path-traversal entry, before anything runs', async () => {
    const evil = await traversalArtifact(h);
    const { files } = await writeBundle(
      h,
      keys,
      [planRecord('h1', 5, [installAction(h.artifact), installAction(evil, { id: 'evil-1/evil@1.0.0/install', deployment: 'evil-1', package: 'evil' })])],
      join(work, 'evil.tar'),
    );
    await refused(files[0]!, `artifact ${evil.sha256}: ../escape.sh: '..' in path`);
  });

  it('refuses an unknown controller key: no fingerprint, a wrong one, or another key than the pinned one', async () => {
    const { files } = await bundle();
    await refused(
      files[0]!,
      `unknown controller key ${keys.fingerprint}: this data folder has no pinned key; give --controller-fingerprint with the fingerprint \`ferry bundle export\` printed`,
      { fingerprint: undefined as unknown as string },
    );
    const other = makeKeys();
    await refused(files[0]!, `the bundle is signed by controller key ${keys.fingerprint}, not the --controller-fingerprint given (${other.fingerprint})`, {
      fingerprint: other.fingerprint,
    });
    expect((await apply(files[0]!)).ok).to.equal(true);
    const foreign = await writeBundle(h, other, [planRecord('h1', 9, [installAction(h.artifact)])], join(work, 'foreign.tar'));
    expect(await apply(foreign.files[0]!, { fingerprint: other.fingerprint })).to.deep.equal({
      ok: false,
      reason: `the bundle is signed by controller key ${other.fingerprint}, not the key pinned in this data folder (${keys.fingerprint})`,
    });
  });

  it('reassembles a split bundle from its volumes, and refuses when one is missing', async () => {
    const { files } = await bundle(5, { volumeSize: 1024 });
    expect(files.map((f) => f.slice(work.length + 1))).to.deep.equal(files.map((_f, i) => `b5.tar.00${i + 1}`));
    expect(files.length).to.be.greaterThan(3);
    await rm(files[1]!);
    await refused(join(work, 'b5.tar'), `volume ${files[1]} of ${join(work, 'b5.tar')} is missing; copy every volume next to the others`);
    const again = await bundle(5, { volumeSize: 1024 });
    expect((await apply(again.files[0]!)).ok).to.equal(true);
    expect(await installs()).to.equal('start\ndone\n');
  });
  it('says so when the results file cannot be written, and a second apply with --results resumes without installing again', async () => {
    const { files } = await bundle();
    const nowhere = join(work, 'no-such-folder', 'results.json');
    expect(await apply(files[0]!, { results: nowhere })).to.deep.equal({
      ok: false,
      reason: `cannot write the results file ${nowhere} (ENOENT); apply again with --results FILE on writable media (the journal resumes: nothing installs twice)`,
    });
    const there = join(work, 'results.json');
    expect(await apply(files[0]!, { results: there })).to.deep.equal({
      ok: true,
      host: 'h1',
      serial: 5,
      resultsFile: there,
      outcomes: new Map([['hello-1/hello@1.0.0/install', 'done']]),
    });
    expect(await installs()).to.equal('start\ndone\n');
  });
});
