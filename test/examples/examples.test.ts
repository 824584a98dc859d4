import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { extract } from 'tar';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot, runFerry } from '../support/ferry.js';

const run = promisify(execFile);
const packagesDir = path.join(repoRoot, 'examples', 'packages');
const manifestsDir = path.join(repoRoot, 'examples', 'manifests');
const schemaFile = path.join(repoRoot, 'schemas', 'manifest.schema.json');

interface PackageDoc {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly version: string;
    readonly artifact: { readonly sha256: string; readonly size: number; readonly source?: string };
    readonly requires?: readonly string[];
  };
}

/** `text-editor-2.4.1` → [`text-editor`, `2.4.1`]. */
function nameAndVersion(dir: string): [string, string] {
  const m = /^(.+?)-(\d[^-]*)$/.exec(dir);
  if (!m) throw new Error(`examples/packages/${dir} is not named NAME-VERSION`);
  return [m[1]!, m[2]!];
}

async function packageDirs(): Promise<string[]> {
  const entries = await readdir(packagesDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function committedPackages(): Promise<Map<string, PackageDoc>> {
  const docs = parseAllDocuments(await readFile(path.join(manifestsDir, 'packages.yaml'), 'utf8'));
  const out = new Map<string, PackageDoc>();
  for (const d of docs) {
    const p = d.toJS() as PackageDoc & { kind: string };
    if (p.kind === 'Package') out.set(`${p.metadata.name}-${p.spec.version}`, p);
  }
  return out;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(abs)));
    else if (/\.ya?ml$/.test(e.name)) out.push(abs);
  }
  return out.sort();
}

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

describe('examples', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ferry-examples-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('has a Package manifest for every package folder and a folder for every Package', async () => {
    const dirs = await packageDirs();
    expect(dirs.length).to.be.at.least(6);
    expect([...(await committedPackages()).keys()].sort()).to.deep.equal(dirs);
  });

  it('rebuilds every package to the sha256 and size in packages.yaml and in the committed artifact', async function () {
    this.timeout(120_000);
    const committed = await committedPackages();
    const results: string[] = [];
    const expected: string[] = [];
    for (const dir of await packageDirs()) {
      const [name, version] = nameAndVersion(dir);
      const r = await runFerry(['package', 'build', path.join(packagesDir, dir), '--name', name, '--version', version, '--out', 'artifacts'], { cwd: tmp });
      expect(r.code, r.stderr).to.equal(0);
      const built = (parse(r.stdout) as PackageDoc).spec.artifact;
      const file = path.join(manifestsDir, 'artifacts', `${dir}.tar.gz`);
      const onDisk = existsSync(file) ? { sha256: await sha256Of(file), size: (await readFile(file)).length } : undefined;
      const manifest = committed.get(dir)?.spec.artifact;
      results.push(`${dir} built ${built.sha256}/${built.size} manifest ${manifest?.sha256}/${manifest?.size} ${manifest?.source} file ${onDisk?.sha256}/${onDisk?.size}`);
      const want = `${built.sha256}/${built.size}`;
      expected.push(`${dir} built ${want} manifest ${want} artifacts/${dir}.tar.gz file ${want}`);
    }
    expect(results, 'run `npm run examples` and copy the printed values into examples/manifests/packages.yaml').to.deep.equal(expected);
  });

  it('has a cad-suite artifact large enough for split distribution (> 2 MiB)', async () => {
    const p = (await committedPackages()).get('cad-suite-2026.1.0');
    expect(p?.spec.artifact.size).to.be.greaterThan(2 * 1024 * 1024);
  });

  it('regenerates the committed cad-suite payload byte for byte from its seed', async () => {
    const out = path.join(tmp, 'part-library.dat');
    await run(process.execPath, [path.join(packagesDir, 'make-payload.mjs'), out]);
    expect(await sha256Of(out)).to.equal(await sha256Of(path.join(packagesDir, 'cad-suite-2026.1.0', 'payload', 'part-library.dat')));
  });

  it('installs and uninstalls every package under FERRY_INSTALL_ROOT from its committed artifact', async function () {
    this.timeout(60_000);
    const committed = await committedPackages();
    const root = path.join(tmp, 'host-root');
    await mkdir(root, { recursive: true });
    // requires first: a package after everything it requires
    const order = [...committed.values()].sort((a, b) => (a.spec.requires?.length ?? 0) - (b.spec.requires?.length ?? 0));
    const installed: string[] = [];
    for (const p of order) {
      const dir = `${p.metadata.name}-${p.spec.version}`;
      const unpacked = path.join(tmp, 'unpacked', dir);
      await mkdir(unpacked, { recursive: true });
      await extract({ file: path.join(manifestsDir, p.spec.artifact.source!), cwd: unpacked });
      const env = { ...process.env, FERRY_INSTALL_ROOT: root, FERRY_PACKAGE_DIR: unpacked };
      await run('sh', ['install.sh'], { cwd: unpacked, env });
      const marker = (await run('find', [root, '-path', `*/${p.metadata.name}/VERSION`])).stdout.trim();
      expect(marker, `${dir} wrote no ${p.metadata.name}/VERSION`).not.to.equal('');
      expect(await readFile(marker, 'utf8')).to.equal(`${p.spec.version}\n`);
      installed.push(dir);
    }
    expect(installed.length).to.equal(committed.size);
    for (const p of [...order].reverse()) {
      const unpacked = path.join(tmp, 'unpacked', `${p.metadata.name}-${p.spec.version}`);
      const env = { ...process.env, FERRY_INSTALL_ROOT: root, FERRY_PACKAGE_DIR: unpacked };
      await run('sh', ['uninstall.sh'], { cwd: unpacked, env });
    }
    const left = (await run('find', [root, '-type', 'f'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((f) => path.relative(root, f));
    // security-agent keeps its config on uninstall, like a package manager's conffile
    expect(left).to.deep.equal(['etc/security-agent/agent.conf']);
  });

  it('fails text-editor clearly when runtime-lib is not installed', async () => {
    const unpacked = path.join(tmp, 'unpacked-editor');
    await mkdir(unpacked, { recursive: true });
    await extract({ file: path.join(manifestsDir, 'artifacts', 'text-editor-2.5.0.tar.gz'), cwd: unpacked });
    const env = { ...process.env, FERRY_INSTALL_ROOT: path.join(tmp, 'empty-root'), FERRY_PACKAGE_DIR: unpacked };
    const err = await run('sh', ['install.sh'], { cwd: unpacked, env }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).to.equal(1);
    expect(err?.stderr).to.contain('text-editor: runtime-lib is not installed');
  });

  it('starts every manifest file with a yaml-language-server line pointing at schemas/manifest.schema.json', async () => {
    const files = await yamlFiles(manifestsDir);
    expect(files.length).to.be.at.least(7);
    const wrong: string[] = [];
    for (const f of files) {
      const first = (await readFile(f, 'utf8')).split('\n')[0]!;
      const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      if (!m || path.resolve(path.dirname(f), m[1]!) !== schemaFile) wrong.push(path.relative(manifestsDir, f));
    }
    expect(wrong).to.deep.equal([]);
  });

  it('has an inventory document, shaped as Inventory, for every host the manifests name', async () => {
    const inventory = JSON.parse(await readFile(path.join(repoRoot, 'examples', 'inventory.json'), 'utf8')) as Record<string, unknown>[];
    for (const doc of inventory) expect(Object.keys(doc)).to.deep.equal(['host', 'facts', 'labels', 'software']);
    const hosts = new Set(inventory.map((d) => d.host as string));
    const named: string[] = [];
    for (const f of await yamlFiles(manifestsDir)) {
      for (const d of parseAllDocuments(await readFile(f, 'utf8'))) {
        const r = d.toJS() as { kind: string; metadata: { name: string }; spec: { hosts?: string[]; host?: string; targets?: { hosts?: string[] } } };
        if (r.kind === 'Host') named.push(r.metadata.name);
        if (r.kind === 'Group') named.push(...(r.spec.hosts ?? []));
        if (r.kind === 'Relay' && r.spec.host) named.push(r.spec.host);
        if (r.kind === 'Deployment') named.push(...(r.spec.targets?.hosts ?? []));
      }
    }
    expect(named.filter((h) => !hosts.has(h))).to.deep.equal([]);
  });

  it('passes `ferry validate` once the validator is built', async function () {
    const r = await runFerry(['validate', manifestsDir]);
    if (r.stderr.includes('is not built yet')) this.skip();
    expect(r.code, r.stdout + r.stderr).to.equal(0);
  });
});
