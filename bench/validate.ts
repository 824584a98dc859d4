/**
 * `npm run bench -- validate`: a 1,000-file, 20,000-resource manifest folder, read with
 * readManifestDir and checked with loadManifests, as `ferry validate` does.
 * Reference (issue 2): well under a second.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifestDir } from '../controller/source/manifest-dir.js';
import { loadManifests } from '../core/manifest/index.js';

const FILES = 1000;
const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/** Twenty resources of a realistic mix: hosts, groups, packages, a condition, a schedule, deployments. */
function fleetFile(i: number): string {
  const docs: string[] = [];
  const hosts = Array.from({ length: 10 }, (_, h) => `host-${i}-${h}`);
  for (const [h, name] of hosts.entries()) {
    docs.push(`apiVersion: ferry/v1\nkind: Host\nmetadata: {name: ${name}}\nspec:\n  labels: {dept: dept-${i % 7}, floor: "${h % 3}"}\n  mac: "00:11:22:33:${String(h).padStart(2, '0')}:${String(i % 100).padStart(2, '0')}"\n`);
  }
  docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: site-${i}}\nspec:\n  hosts: [${hosts.slice(0, 5).join(', ')}]\n`);
  docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: team-${i}}\nspec:\n  hosts: [${hosts.slice(5).join(', ')}]\n  include: [site-${i}]\n`);
  docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: linux-${i}}\nspec:\n  selector:\n    labels: {dept: dept-${i % 7}}\n    facts: {os.platform: linux}\n  exclude: [site-${i}]\n`);
  for (let p = 0; p < 3; p++) {
    docs.push(
      [
        'apiVersion: ferry/v1',
        'kind: Package',
        `metadata: {name: app-${i}-${p}}`,
        'spec:',
        `  version: "1.${p}.${i}"`,
        `  artifact: {sha256: ${SHA}, size: ${p + 1}MiB}`,
        '  install: {command: [sh, install.sh], timeout: 10m, env: {MODE: quiet}}',
        '  uninstall: {command: [sh, uninstall.sh], timeout: 5m}',
        p > 0 ? `  requires: [app-${i}-${p - 1}]` : `  conditions: [disk-${i}]`,
        '',
      ].join('\n'),
    );
  }
  docs.push(`apiVersion: ferry/v1\nkind: Condition\nmetadata: {name: disk-${i}}\nspec:\n  os: [linux, darwin]\n  minDiskFree: 2GiB\n  software:\n    present: [{name: python3, version: ">=3.8"}]\n`);
  docs.push(`apiVersion: ferry/v1\nkind: Schedule\nmetadata: {name: nightly-${i}}\nspec:\n  timezone: Asia/Tokyo\n  windows:\n    - {cron: "0 22 * * 1-5", duration: 6h}\n    - {start: "2026-12-24T20:00:00", duration: 2h}\n`);
  for (let d = 0; d < 2; d++) {
    docs.push(
      [
        'apiVersion: ferry/v1',
        'kind: Deployment',
        `metadata: {name: rollout-${i}-${d}}`,
        'spec:',
        `  packages: [{name: app-${i}-${d + 1}, version: "1.${d + 1}.${i}"}]`,
        `  targets: {groups: [${d === 0 ? `team-${i}` : `linux-${i}`}], hosts: [host-${i}-0]}`,
        `  distribute: {window: nightly-${i}, segmentSize: 4MiB, segmentPause: 2s}`,
        '  rollout: {waves: ["5%", "25%", "100%"], maxFailures: "10%"}',
        '',
      ].join('\n'),
    );
  }
  return docs.join('---\n');
}

/** Prints files, resources, milliseconds and resources per second. */
export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-validate-'));
  try {
    for (let i = 0; i < FILES; i++) {
      const sub = join(dir, `site-${Math.floor(i / 100)}`);
      if (i % 100 === 0) await mkdir(sub);
      await writeFile(join(sub, `fleet-${i}.yaml`), fleetFile(i));
    }
    for (let round = 1; round <= 3; round++) {
      const t0 = performance.now();
      const files = await readManifestDir(dir);
      const t1 = performance.now();
      const result = loadManifests(files);
      const t2 = performance.now();
      const errors = result.problems.filter((p) => p.severity === 'error');
      if (errors.length > 0) throw new Error(`benchmark manifests do not validate: ${errors[0]!.message}`);
      const resources = result.stats?.resources ?? 0;
      const ms = t2 - t0;
      console.log(
        `round ${round}: ${files.length} files, ${resources} resources: ${ms.toFixed(0)} ms (read ${(t1 - t0).toFixed(0)} ms, load ${(t2 - t1).toFixed(0)} ms), ` +
          `${Math.round((resources / ms) * 1000)} resources/s — reference: well under 1000 ms`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
