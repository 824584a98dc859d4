/** The admin commands as real processes against a real API (real SQLite store) on port 0. */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFerry } from '../support/ferry.js';
import { startHarness, type Harness } from '../controller/api/harness.js';
import { planAction } from '../dashboard/fleet.js';

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** 14 lines, the last the cause: the text views show the last 10. */
const installerOutput = `${Array.from({ length: 13 }, (_, i) => `step ${i + 1} ok`).join('\n')}\ndpkg: error: disk full\n`;

describe('ferry admin commands', function () {
  this.timeout(60_000);
  let h: Harness;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    h = await startHarness({
      desired: [
        { name: 'editor-2-4', suspended: false, packages: [{ name: 'text-editor', version: '2.4.1', state: 'present' }] },
        { name: 'browser', suspended: false, packages: [{ name: 'browser', version: '1.0.0', state: 'present' }] },
      ],
      groups: { lab: ['web1', 'web2'], office: ['web1'] },
    });
    work = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
    env = { FERRY_SERVER: h.url, FERRY_TOKEN: h.adminToken };
    const web1 = await h.enroll('web1');
    const web2 = await h.enroll('web2');
    await h.enroll('web3');
    const editor = planAction('editor-2-4', 'text-editor', '2.4.1');
    await h.seedPlan('web1', undefined, [editor]);
    await h.seedPlan('web2', undefined, [editor, planAction('browser', 'browser', '1.0.0')]);
    // Targeted, with a plan, no report yet: pending.
    await h.seedPlan('web3', undefined, [editor]);
    const at = '2026-03-01T10:00:00.000Z';
    await h.request('POST', '/v1/hosts/web1/reports', {
      token: web1,
      json: {
        results: [
          { id: 'a0', actionId: 'editor-2-4/text-editor@2.4.1/install', serial: 1, state: 'downloading', at: '2026-03-01T09:59:00.000Z', bytesDone: 10 },
          { id: 'a', actionId: 'editor-2-4/text-editor@2.4.1/install', serial: 1, state: 'failed', at, exitCode: 3, reason: 'install.sh exited 3', output: installerOutput },
        ],
      },
    });
    await h.request('POST', '/v1/hosts/web2/reports', {
      token: web2,
      json: {
        results: [
          { id: 'b', actionId: 'editor-2-4/text-editor@2.4.1/install', serial: 1, state: 'installed', at },
          { id: 'c', actionId: 'browser/browser@1.0.0/install', serial: 1, state: 'installed', at },
        ],
      },
    });
  });
  after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });

  it('token create prints a token that enrolls a host', async () => {
    const r = await runFerry(['token', 'create', '--ttl', '1h'], { env });
    expect(r.code, r.stderr).to.equal(0);
    const token = r.stdout.trim();
    expect(token).to.match(/^\S{20,}$/);
    expect(r.stderr).to.contain('expires');
    const enrolled = await h.request('POST', '/v1/enroll', { token: null, json: { token, host: 'via-cli' } });
    expect(enrolled.status).to.equal(201);
    const json = await runFerry(['token', 'create', '--json'], { env });
    expect(JSON.parse(json.stdout)).to.have.keys('token', 'id', 'expiresAt');
    const bad = await runFerry(['token', 'create', '--ttl', 'forever'], { env });
    expect(bad.code).to.equal(2);
    const compound = await runFerry(['token', 'create', '--ttl', '1h30m', '--json'], { env });
    expect(compound.code, compound.stderr).to.equal(0);
    expect(Date.parse(JSON.parse(compound.stdout).expiresAt) - Date.now()).to.be.within(5_400_000 - 60_000, 5_400_000 + 1000);
  });

  it('token list shows tokens without their secret, and token revoke ends one so it no longer enrolls', async () => {
    const made = JSON.parse((await runFerry(['token', 'create', '--ttl', '2h', '--json'], { env })).stdout) as { token: string; id: string };
    expect(made.id).to.match(/^[0-9a-f]{12}$/);
    expect((await h.request('POST', '/v1/enroll', { token: null, json: { token: made.token, host: 'before-revoke' } })).status).to.equal(201);
    const list = await runFerry(['token', 'list'], { env });
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.match(new RegExp(`${made.id}\\s+valid\\s+\\S+\\s+\\S+\\s+1\\s+20`));
    expect(list.stdout).not.to.contain(made.token);
    const revoked = await runFerry(['token', 'revoke', made.id], { env });
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(revoked.stdout).to.match(new RegExp(`^token ${made.id} revoked at \\S+; it enrolled 1 host\\(s\\), which stay enrolled\n$`));
    const refused = await h.request('POST', '/v1/enroll', { token: null, json: { token: made.token, host: 'after-revoke' } });
    expect(refused.status).to.equal(401);
    const json = JSON.parse((await runFerry(['token', 'list', '--json'], { env })).stdout) as { tokens: { id: string; state: string; uses: number }[] };
    expect(json.tokens.find((t) => t.id === made.id)).to.deep.include({ state: 'revoked', uses: 1 });
    // By the secret itself, too; an unknown id is a 404 and exit 1.
    // A secret that starts with '-' (base64url, one in 64) reads as an option: take one that does not.
    let other: { token: string; id: string };
    do other = JSON.parse((await runFerry(['token', 'create', '--json'], { env })).stdout) as { token: string; id: string };
    while (other.token.startsWith('-'));
    expect((await runFerry(['token', 'revoke', other.token, '--json'], { env })).code).to.equal(0);
    const unknown = await runFerry(['token', 'revoke', 'ffffffffffff'], { env });
    expect({ code: unknown.code, says: unknown.stderr.includes('no enrollment token ffffffffffff') }).to.deep.equal({ code: 1, says: true });
  });

  it('names FERRY_SERVER, not --server, when the environment variable is not a URL', async () => {
    const r = await runFerry(['status'], { env: { FERRY_SERVER: 'ferry.example:8470', FERRY_TOKEN: 'x' } });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('FERRY_SERVER=ferry.example:8470 (environment variable) must be an http:// or https:// URL');
    const flag = await runFerry(['status', '--server', 'nope'], { env: { FERRY_TOKEN: 'x' } });
    expect(flag.stderr).to.contain('--server nope is not a URL');
  });

  it('status lists deployments with per-state counts and failing hosts, and exits 1 on failures', async () => {
    const r = await runFerry(['status'], { env });
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.match(/editor-2-4\s+active\s+failed 1, installed 1, pending 1\n/);
    expect(r.stdout).to.match(/browser\s+active\s+installed 1\n/);
    expect(r.stdout).to.match(/web1\s+editor-2-4\s+text-editor@2\.4\.1\s+install\.sh exited 3 \(exit 3\)/);
    const json = await runFerry(['status', '--json'], { env });
    const parsed = JSON.parse(json.stdout);
    expect(parsed.failuresTotal).to.equal(1);
    expect(parsed.hosts.enrolled).to.be.at.least(2);

    const ok = await runFerry(['status', 'browser'], { env });
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('Deployment browser: active (spec.suspended: false; no operator override)');
    expect(ok.stdout).to.match(/web2\s+installed\s+1\.0\.0/);
    const failing = await runFerry(['status', 'editor-2-4', '--json'], { env });
    expect(failing.code).to.equal(1);
    expect(JSON.parse(failing.stdout).hosts.items.map((x: { host: string; state: string }) => [x.host, x.state])).to.deep.equal([
      ['web1', 'failed'],
      ['web2', 'installed'],
      ['web3', 'pending'],
    ]);
    const text = await runFerry(['status', 'editor-2-4'], { env });
    expect(text.stdout).to.match(/actions: failed 1, installed 1, pending 1\n/);
    expect(text.stdout).to.match(/web3\s+pending\s+2\.4\.1\s+never/);
    const missing = await runFerry(['status', 'nope'], { env });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('no deployment nope');
  });

  it('status DEPLOYMENT and hosts HOST show in text the exit code, the output tail, groups and history', async () => {
    const tail = [
      '    | … (4 earlier lines; --json has all the controller keeps)',
      ...Array.from({ length: 9 }, (_, i) => `    | step ${i + 5} ok`),
      '    | dpkg: error: disk full',
    ];
    const status = await runFerry(['status', 'editor-2-4'], { env });
    expect(status.code).to.equal(1);
    expect(status.stdout).to.contain(
      ['', 'Failed on web1: editor-2-4/text-editor@2.4.1/install (exit code 3, at 2026-03-01T10:00:00.000Z): install.sh exited 3', ...tail, ''].join('\n'),
    );
    const host = await runFerry(['hosts', 'web1'], { env });
    expect(host.code, host.stderr).to.equal(0);
    expect(host.stdout).to.contain('\n  groups: lab, office\n');
    expect(host.stdout).to.contain(['', 'Failed: editor-2-4/text-editor@2.4.1/install (exit code 3): install.sh exited 3', ...tail, ''].join('\n'));
    expect(host.stdout).to.match(
      /\nHistory \(newest 2 of 2\):\nAT\s+ACTION\s+STATE\s+REASON\n2026-03-01T10:00:00\.000Z\s+editor-2-4\/text-editor@2\.4\.1\/install\s+failed\s+install\.sh exited 3 \(exit 3\)\n2026-03-01T09:59:00\.000Z\s+editor-2-4\/text-editor@2\.4\.1\/install\s+downloading/,
    );
  });

  it('hosts lists hosts and shows one', async () => {
    const r = await runFerry(['hosts'], { env });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/web1\s+enrolled\s+\S+\s+direct\s+failed 1/);
    expect(r.stdout).to.match(/web2\s+enrolled\s+\S+\s+direct\s+installed 2/);
    expect(r.stdout).to.match(/web3\s+enrolled\s+\S+\s+direct\s+pending 1/);
    const one = await runFerry(['hosts', 'web1'], { env });
    expect(one.code, one.stderr).to.equal(0);
    expect(one.stdout).to.contain('Host web1: enrolled');
    expect(one.stdout).to.match(/editor-2-4\/text-editor@2\.4\.1\/install\s+failed/);
    const json = await runFerry(['hosts', 'web2', '--json'], { env });
    expect(JSON.parse(json.stdout).states).to.have.length(2);
  });

  it('suspend and resume set the operator override and show it next to spec.suspended', async () => {
    const s = await runFerry(['suspend', 'editor-2-4'], { env });
    expect(s.code, s.stderr).to.equal(0);
    expect(s.stdout).to.match(/^editor-2-4: suspended \(spec\.suspended: false; operator override: suspended by admin at /);
    expect(h.events.overridesChanged).to.equal(1);
    const status = await runFerry(['status'], { env });
    expect(status.stdout).to.match(/editor-2-4\s+suspended \(operator\)/);
    const r = await runFerry(['resume', 'editor-2-4', '--json'], { env });
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout).suspended).to.deep.include({ spec: false, effective: false });
    expect((await h.store.listOverrides()).map((o) => o.suspended)).to.deep.equal([false]);
  });

  it('package push uploads a file and prints its sha256 and size', async () => {
    const file = join(work, 'tool-1.0.0.tar.gz');
    const bytes = randomBytes(300_000);
    await writeFile(file, bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const r = await runFerry(['package', 'push', file], { env });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`sha256: ${sha}\nsize: 300000\n`);
    expect(await h.content.stat(sha)).to.deep.include({ sha256: sha, size: 300_000 });
    const again = await runFerry(['package', 'push', file, '--json'], { env });
    expect(JSON.parse(again.stdout)).to.deep.include({ sha256: sha, existed: true });
    const missing = await runFerry(['package', 'push', join(work, 'nope.tar.gz')], { env });
    expect(missing.code).to.equal(2);
  });

  it('reads the token from ./ferry-data/admin.token', async () => {
    const dir = join(work, 'cwd');
    await mkdir(join(dir, 'ferry-data'), { recursive: true });
    await writeFile(join(dir, 'ferry-data', 'admin.token'), `${h.adminToken}\n`, { mode: 0o600 });
    const r = await runFerry(['hosts', '--json'], { cwd: dir, env: { FERRY_SERVER: h.url, FERRY_TOKEN: '' } });
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).total).to.be.at.least(2);
  });

  it('exits 3 when the controller cannot be reached or refuses the token', async () => {
    const port = await closedPort();
    for (const args of [['status'], ['hosts'], ['token', 'create'], ['suspend', 'x'], ['resume', 'x']]) {
      const r = await runFerry(args, { env: { FERRY_SERVER: `http://127.0.0.1:${port}`, FERRY_TOKEN: 'x' } });
      expect(r.code, args.join(' ')).to.equal(3);
      expect(r.stderr).to.contain('cannot reach the controller');
    }
    const wrong = await runFerry(['status'], { env: { FERRY_SERVER: h.url, FERRY_TOKEN: 'wrong' } });
    expect(wrong.code).to.equal(3);
    expect(wrong.stderr).to.contain('refused the admin token');
    const none = await runFerry(['status'], { cwd: work, env: { FERRY_SERVER: h.url, FERRY_TOKEN: '' } });
    expect(none.code).to.equal(3);
    expect(none.stderr).to.contain('no admin token');
  });
});
