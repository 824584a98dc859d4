#!/usr/bin/env node
// Rebuilds every example package with `ferry package build` into examples/manifests/artifacts/
// and checks each artifact's sha256 and size against examples/manifests/packages.yaml.
// It rewrites only the artifacts: when a package changes, copy the printed values into
// packages.yaml yourself (a reviewer then sees the change). Run: `npm run examples`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const repo = fileURLToPath(new URL('../', import.meta.url));
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const manifestsDir = fileURLToPath(new URL('./manifests/', import.meta.url));
const ferry = fileURLToPath(new URL('../bin/ferry.js', import.meta.url));

/** `text-editor-2.4.1` → name `text-editor`, version `2.4.1`. */
function split(dir) {
  const m = /^(.+?)-(\d[^-]*)$/.exec(dir);
  if (!m) throw new Error(`examples/packages/${dir}: name it NAME-VERSION`);
  return { name: m[1], version: m[2] };
}

const committed = new Map();
const packagesYaml = `${manifestsDir}packages.yaml`;
const docs = existsSync(packagesYaml) ? parseAllDocuments(readFileSync(packagesYaml, 'utf8')) : [];
for (const doc of docs) {
  const p = doc.toJS();
  if (p?.kind === 'Package') committed.set(`${p.metadata.name}-${p.spec.version}`, p.spec.artifact);
}

let stale = 0;
const dirs = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
for (const dir of dirs) {
  const { name, version } = split(dir);
  const r = spawnSync(process.execPath, [ferry, 'package', 'build', `../packages/${dir}`, '--name', name, '--version', version, '--out', 'artifacts'], {
    cwd: manifestsDir,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  const built = parseAllDocuments(r.stdout)[0].toJS().spec.artifact;
  const want = committed.get(dir);
  const ok = want && want.sha256 === built.sha256 && want.size === built.size && want.source === built.source;
  if (!ok) stale++;
  console.log(`${ok ? 'ok     ' : 'CHANGED'} ${dir}: sha256 ${built.sha256} size ${built.size} source ${built.source}`);
}
if (stale > 0) {
  console.log(`\n${stale} package(s) differ from ${manifestsDir.slice(repo.length)}packages.yaml: update their spec.artifact there.`);
  process.exitCode = 1;
}
