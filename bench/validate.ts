/**
 * `npm run bench -- validate`: a 1,000-file, 20,000-resource manifest folder, read with
 * readManifestDir and checked with loadManifests, as `ferry validate` does (in-process rounds,
 * wall and CPU time); then real `node bin/ferry.js validate DIR` processes, cold, end to end.
 * Reference (issue 2): well under a second. Then one file with a 50,000-host group and one with
 * 56,250 (0.9 MB), in-process; reference (issue 15): 28 s before uniqueItems was made linear, aim
 * well under a second.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifestDir } from '../controller/source/manifest-dir.js';
import { loadManifests } from '../core/manifest/index.js';

const FILES = 1000;
const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/** One YAML document of `kind` named `name`, with `spec` lines (already indented under spec:). */
function resource(kind: string, name: string, spec: string[]): string {
  return ['apiVersion: ferry/v1', `kind: ${kind}`, `metadata: {name: ${name}}`, 'spec:', ...spec, ''].join('\n');
}

/** Twenty resources of a realistic mix: hosts, groups, packages, a condition, a schedule, deployments. */
function fleetFile(i: number): string {
  const docs: string[] = [];
  const hosts = Array.from({ length: 10 }, (_, h) => `host-${i}-${h}`);
  for (const [h, name] of hosts.entries()) {
    docs.push(
      `apiVersion: ferry/v1\nkind: Host\nmetadata: {name: ${name}}\nspec:\n  labels: {dept: dept-${i % 7}, floor: "${h % 3}"}\n  mac: "00:11:22:33:${String(h).padStart(2, '0')}:${String(i % 100).padStart(2, '0')}"\n`,
    );
  }
  docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: site-${i}}\nspec:\n  hosts: [${hosts.slice(0, 5).join(', ')}]\n`);
  docs.push(`apiVersion: ferry/v1\nkind: Group\nmetadata: {name: team-${i}}\nspec:\n  hosts: [${hosts.slice(5).join(', ')}]\n  include: [site-${i}]\n`);
  docs.push(
    `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: linux-${i}}\nspec:\n  selector:\n    labels: {dept: dept-${i % 7}}\n    facts: {os.platform: linux}\n  exclude: [site-${i}]\n`,
  );
  for (let p = 0; p < 3; p++) {
    docs.push(
      resource('Package', `app-${i}-${p}`, [
        `  version: "1.${p}.${i}"`,
        `  artifact: {sha256: ${SHA}, size: ${p + 1}MiB}`,
        '  install: {command: [sh, install.sh], timeout: 10m, env: {MODE: quiet}}',
        '  uninstall: {command: [sh, uninstall.sh], timeout: 5m}',
        p > 0 ? `  requires: [app-${i}-${p - 1}]` : `  conditions: [disk-${i}]`,
      ]),
    );
  }
  docs.push(
    `apiVersion: ferry/v1\nkind: Condition\nmetadata: {name: disk-${i}}\nspec:\n  os: [linux, darwin]\n  minDiskFree: 2GiB\n  software:\n    present: [{name: python3, version: ">=3.8"}]\n`,
  );
  docs.push(
    `apiVersion: ferry/v1\nkind: Schedule\nmetadata: {name: nightly-${i}}\nspec:\n  timezone: Asia/Tokyo\n  windows:\n    - {cron: "0 22 * * 1-5", duration: 6h}\n    - {start: "2026-12-24T20:00:00", duration: 2h}\n`,
  );
  for (let d = 0; d < 2; d++) {
    docs.push(
      resource('Deployment', `rollout-${i}-${d}`, [
        `  packages: [{name: app-${i}-${d + 1}, version: "1.${d + 1}.${i}"}]`,
        `  targets: {groups: [${d === 0 ? `team-${i}` : `linux-${i}`}], hosts: [host-${i}-0]}`,
        `  distribute: {window: nightly-${i}, segmentSize: 4MiB, segmentPause: 2s}`,
        '  rollout: {waves: ["5%", "25%", "100%"], maxFailures: "10%"}',
      ]),
    );
  }
  return docs.join('---\n');
}

/** Writes the benchmark fleet (FILES files in folders of 100) under `dir`, which must exist. */
export async function writeFleet(dir: string): Promise<void> {
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `site-${Math.floor(i / 100)}`);
    if (i % 100 === 0) await mkdir(sub);
    await writeFile(join(sub, `fleet-${i}.yaml`), fleetFile(i));
  }
}

/** Prints, per in-process round and per `ferry validate` process, milliseconds, CPU time and resources per second. */
export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-bench-validate-'));
  try {
    await writeFleet(dir);
    for (let round = 1; round <= 3; round++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const files = await readManifestDir(dir);
      const t1 = performance.now();
      const result = loadManifests(files);
      const t2 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      const errors = result.problems.filter((p) => p.severity === 'error');
      if (errors.length > 0) throw new Error(`benchmark manifests do not validate: ${errors[0]!.message}`);
      const resources = result.stats?.resources ?? 0;
      const ms = t2 - t0;
      console.log(
        `in-process round ${round}: ${files.length} files, ${resources} resources: ${ms.toFixed(0)} ms (read ${(t1 - t0).toFixed(0)} ms, load ${(t2 - t1).toFixed(0)} ms), ` +
          `CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, ${Math.round((resources / ms) * 1000)} resources/s — reference: well under 1000 ms`,
      );
    }
    for (const hosts of [50_000, 56_250]) await bigGroupRounds(hosts);
    const runs: ProcessRun[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = await timeValidateProcess(dir);
      runs.push(r);
      console.log(`process run ${i}: \`ferry validate\` exit ${r.code}, ${r.ms.toFixed(0)} ms wall${cpuText(r.cpuMs)} (${r.summary})`);
    }
    const median = <T>(xs: readonly T[], by: (x: T) => number) => [...xs].map(by).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const cpuKnown = runs.every((r) => r.cpuMs !== undefined);
    console.log(
      `process median of ${runs.length}: ${median(runs, (r) => r.ms).toFixed(0)} ms wall${cpuKnown ? cpuText(median(runs, (r) => r.cpuMs!)) : ''} — aim: well under 1000 ms`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One file, one group of `hosts` host names: three in-process loads, valid then with a duplicate at the end. */
async function bigGroupRounds(hosts: number): Promise<void> {
  const names = Array.from({ length: hosts }, (_, i) => `  - host-${String(i).padStart(6, '0')}`);
  const valid = `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: big}\nspec:\n  hosts:\n${names.join('\n')}\n`;
  const duplicate = `${valid}  - host-000007\n`;
  for (const [what, text, problems] of [
    ['valid', valid, 0],
    ['duplicate at the end', duplicate, 1],
  ] as const) {
    for (let round = 1; round <= 3; round++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = loadManifests([{ path: 'group.yaml', content: text }]);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (result.problems.length !== problems) throw new Error(`expected ${problems} problems, got ${result.problems.length}`);
      console.log(
        `${hosts}-host group (${(text.length / 1e6).toFixed(2)} MB), ${what}, round ${round}: ${ms.toFixed(0)} ms, CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms — ` +
          'reference: 28,000 ms before (issue 15), aim well under 1000 ms',
      );
    }
  }
}

interface ProcessRun {
  readonly code: number | null;
  readonly ms: number;
  /** User + system CPU of the process; undefined where /proc is not there to tell. */
  readonly cpuMs: number | undefined;
  readonly summary: string;
}

const ferryBin = fileURLToPath(new URL('../../bin/ferry.js', import.meta.url));

/** Runs `node bin/ferry.js validate DIR` as a user does: a fresh process, timed from spawn to exit. */
async function timeValidateProcess(dir: string): Promise<ProcessRun> {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const child = spawn(process.execPath, [ferryBin, 'validate', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  const ms = performance.now() - t0;
  const cpu1 = childrenCpuMs();
  if (code !== 0) throw new Error(`ferry validate exited ${code}: ${out.slice(0, 500)}`);
  return { code, ms, cpuMs: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined, summary: out.trim().split('\n').pop() ?? '' };
}

/** CPU time of this process's finished children (Linux: cutime + cstime of /proc/self/stat, in 10 ms ticks). */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state); cutime and cstime are fields 16 and 17.
    return (Number(fields[16 - 3]) + Number(fields[17 - 3])) * 10;
  } catch {
    return undefined;
  }
}

function cpuText(ms: number | undefined): string {
  return ms === undefined ? '' : `, CPU ${ms.toFixed(0)} ms`;
}
