import { expect } from 'chai';
import { access, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitSource } from '../../../controller/source/git-source.js';
import { eventually } from '../../support/eventually.js';
import { fixturePath, gitIn, makeGitFixture, type GitFixture } from './git-fixture.js';
import { clock, logger, texts } from './source-helpers.js';

describe('controller/source GitSource', function () {
  this.timeout(60_000);
  let repo: GitFixture;
  let data: string;
  const sources: GitSource[] = [];

  function source(options: Partial<ConstructorParameters<typeof GitSource>[0]> = {}): GitSource {
    const s = new GitSource({ repo: repo.origin, branch: 'main', workDir: join(data, 'source'), pollMs: 60_000, clock, logger, ...options });
    sources.push(s);
    return s;
  }

  beforeEach(async () => {
    repo = await makeGitFixture();
    data = await mkdtemp(join(tmpdir(), 'ferry-data-'));
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
    await repo.cleanup();
    await rm(data, { recursive: true, force: true });
  });

  it('reads the branch tip at start as BRANCH@sha1:<commit>, only manifest files, from the tree', async () => {
    await repo.copy('valid');
    const commit = await repo.commit({ 'README.md': 'not a manifest', '.hidden/x.yaml': 'skipped: dot-folder', 'sub/extra.yml': 'kind: x\n' });
    const s = source();
    const seen: string[] = [];
    s.onSnapshot((snap) => seen.push(snap.revision));
    await s.start();
    const snap = s.current();
    expect(snap?.revision).to.equal(`main@sha1:${commit}`);
    expect(Object.keys(texts(snap))).to.deep.equal(['fleet.yaml', 'packages.yaml', 'sub/extra.yml']);
    expect(texts(snap)['fleet.yaml']).to.equal(await readFile(join(fixturePath('valid'), 'fleet.yaml'), 'utf8'));
    expect(seen).to.deep.equal([`main@sha1:${commit}`]);
    expect(Object.isFrozen(snap)).to.equal(true);
    expect(s.status()).to.include({ kind: 'git', ready: true, revision: `main@sha1:${commit}`, branch: 'main' });
    expect(s.status().error).to.equal(undefined);
  });

  it('picks up a pushed commit on refresh(), and a refresh without a new commit yields nothing new', async () => {
    await repo.copy('valid');
    const first = await repo.commit({});
    const s = source();
    const seen: string[] = [];
    s.onSnapshot((snap) => seen.push(snap.revision));
    await s.start();
    await s.refresh();
    expect(seen).to.deep.equal([`main@sha1:${first}`]);
    const second = await repo.commit({ 'more.yaml': 'apiVersion: ferry/v1\n' });
    await s.refresh();
    expect(s.current()?.revision).to.equal(`main@sha1:${second}`);
    expect(texts(s.current())).to.have.property('more.yaml');
    expect(seen).to.deep.equal([`main@sha1:${first}`, `main@sha1:${second}`]);
  });

  it('does not fetch while the remote branch head is the commit fetched last; fetches a new head, also one moved back', async () => {
    const first = await repo.commit({ 'a.yaml': 'a: 1\n' });
    const s = source();
    await s.start();
    // Every `git fetch` writes FETCH_HEAD; `git ls-remote` writes nothing.
    const fetchHead = join(data, 'source', 'FETCH_HEAD');
    await rm(fetchHead);
    await s.refresh();
    await s.refresh();
    expect(await exists(fetchHead)).to.equal(false);
    expect(s.current()?.revision).to.equal(`main@sha1:${first}`);
    const second = await repo.commit({ 'a.yaml': 'a: 2\n' });
    await s.refresh();
    expect(await exists(fetchHead)).to.equal(true);
    expect(s.current()?.revision).to.equal(`main@sha1:${second}`);
    // A force-push back to the first commit is a new head too.
    await repo.git.raw(['push', '--quiet', '--force', 'origin', `${first}:refs/heads/main`]);
    await s.refresh();
    expect(s.current()?.revision).to.equal(`main@sha1:${first}`);
  });

  it('picks up a pushed commit by polling', async () => {
    const first = await repo.commit({ 'a.yaml': 'a: 1\n' });
    const s = source({ pollMs: 200 });
    await s.start();
    expect(s.current()?.revision).to.equal(`main@sha1:${first}`);
    const second = await repo.commit({ 'a.yaml': 'a: 2\n' });
    await eventually(() => s.current()?.revision === `main@sha1:${second}`, 'the polled commit');
    expect(texts(s.current())).to.deep.equal({ 'a.yaml': 'a: 2\n' });
  });

  it('follows --branch and reads only --path; a merge into the branch is picked up', async () => {
    await repo.commit({ 'fleet/a.yaml': 'on: main\n', 'other/b.yaml': 'elsewhere\n' });
    await gitIn(repo, ['checkout', '--quiet', '-b', 'release']);
    const onRelease = await repo.commit({ 'fleet/a.yaml': 'on: release\n', 'fleet/deep/c.yaml': 'c\n' });
    const s = source({ branch: 'release', path: 'fleet' });
    await s.start();
    expect(s.current()?.revision).to.equal(`release@sha1:${onRelease}`);
    expect(texts(s.current())).to.deep.equal({ 'a.yaml': 'on: release\n', 'deep/c.yaml': 'c\n' });

    await gitIn(repo, ['checkout', '--quiet', '-b', 'feature', 'main']);
    await repo.commit({ 'fleet/feature.yaml': 'f\n' });
    await gitIn(repo, ['checkout', '--quiet', 'release']);
    await gitIn(repo, ['merge', '--quiet', '--no-edit', '--no-ff', 'feature']);
    const merged = await repo.commit({}, 'empty follow-up');
    await s.refresh();
    expect(s.current()?.revision).to.equal(`release@sha1:${merged}`);
    expect(Object.keys(texts(s.current()))).to.deep.equal(['a.yaml', 'deep/c.yaml', 'feature.yaml']);
  });

  it('records a fetch failure, keeps the last snapshot, and recovers with backoff', async () => {
    const first = await repo.commit({ 'a.yaml': 'a: 1\n' });
    const s = source({ pollMs: 60_000 });
    await s.start();
    const moved = `${repo.origin}-moved`;
    await rename(repo.origin, moved);
    await s.refresh();
    const status = s.status();
    expect(status.error?.message).to.match(/cannot fetch/);
    expect(status.error?.failures).to.equal(1);
    // lib/backoff: the first retry comes after 250 ms to 1 s (full jitter, floored).
    expect(Date.parse(status.error!.nextAttemptAt) - Date.parse(status.error!.at)).to.be.within(250, 1000);
    expect(s.current()?.revision).to.equal(`main@sha1:${first}`);
    // Ready=False with the reason, though the last good revision still serves (ready for /readyz).
    expect(status.condition).to.deep.include({ type: 'Ready', status: 'False', reason: 'FetchFailed' });
    expect(status.condition.message).to.match(new RegExp(`^cannot fetch .*; the last good revision main@sha1:${first} still serves$`));
    expect({ ready: status.ready, failures: status.fetchFailuresTotal }).to.deep.equal({ ready: true, failures: 1 });
    await rename(moved, repo.origin);
    // The backoff timer (at most 1 s after the first failure) retries without a refresh().
    await eventually(() => s.status().error === undefined, 'the retry to succeed');
    expect(s.status()).to.deep.include({ ready: true, fetchFailuresTotal: 1 });
    expect(s.status().condition).to.deep.include({ status: 'True', reason: 'Succeeded' });
  });

  it('never throws for a repository that does not exist or a missing branch; status says why', async () => {
    const missing = source({ repo: join(data, 'nope.git') });
    await missing.start();
    expect(missing.current()).to.equal(undefined);
    expect(missing.status()).to.include({ ready: false });
    expect(missing.status().error?.message).to.match(/cannot fetch/);

    await repo.commit({ 'a.yaml': 'a\n' });
    const wrongBranch = source({ branch: 'nope', workDir: join(data, 'source2') });
    await wrongBranch.start();
    expect(wrongBranch.status().error?.message).to.equal(`no branch nope in ${repo.origin}; the repository has: main (use --branch)`);
  });

  it('refuses a branch name that could be an option', () => {
    expect(() => source({ branch: '--upload-pack=evil' })).to.throw(/not a valid branch name/);
  });
});

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
