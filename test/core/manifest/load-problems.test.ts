/**
 * One broken manifest per error class (issue 2), each asserting the exact FILE:LINE:COL and message
 * of every problem reported, and that the load yields no snapshot when any of them is an error.
 */
import { expect } from 'chai';
import { loadManifests, type ManifestFile } from '../../../core/manifest/index.js';

const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/** A valid Package manifest (7 lines) for references to resolve against. */
function pkg(name: string, version: string, extra = ''): string {
  return [
    'apiVersion: ferry/v1',
    'kind: Package',
    `metadata: {name: ${name}}`,
    'spec:',
    `  version: "${version}"`,
    `  artifact: {sha256: ${SHA}, size: 1MiB}`,
    '  install: {command: [sh, install.sh]}',
    ...(extra === '' ? [] : [extra]),
    '',
  ].join('\n');
}

function group(name: string, spec: string): string {
  return `apiVersion: ferry/v1\nkind: Group\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
}

/** A Schedule manifest with one window (a flow map such as `{cron: "0 22 * * *", duration: 6h}`); the window is on line 7. */
function schedule(name: string, timezone: string, window: string): string {
  return `apiVersion: ferry/v1\nkind: Schedule\nmetadata: {name: ${name}}\nspec:\n  timezone: ${timezone}\n  windows:\n    - ${window}\n`;
}

function deployment(name: string, packages: string, targets: string): string {
  return `apiVersion: ferry/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  packages: ${packages}\n  targets: ${targets}\n`;
}

interface Case {
  readonly name: string;
  readonly files: Record<string, string | Uint8Array>;
  readonly limits?: Parameters<typeof loadManifests>[1] extends infer O ? (O extends { limits?: infer L } ? L : never) : never;
  readonly problems: readonly string[];
}

const alias = (name: string, refs: string) => `${name}: &${name} [${refs}]`;
const bomb = [
  'apiVersion: ferry/v1',
  'kind: Host',
  'metadata: {name: bomb}',
  alias('a', '"lol","lol","lol","lol","lol","lol","lol","lol","lol"'),
  alias('b', '*a,*a,*a,*a,*a,*a,*a,*a,*a'),
  alias('c', '*b,*b,*b,*b,*b,*b,*b,*b,*b'),
  alias('d', '*c,*c,*c,*c,*c,*c,*c,*c,*c'),
  alias('e', '*d,*d,*d,*d,*d,*d,*d,*d,*d'),
  alias('f', '*e,*e,*e,*e,*e,*e,*e,*e,*e'),
  '',
].join('\n');

/** Cases that edit one field of the valid package p 1.0.0: name, the text replaced, its replacement, the one problem. */
const packageEdits: [string, string, string, string][] = [
  ['bad size', 'size: 1MiB', 'size: 1 megabyte', 'p.yaml:6:94: error: spec.artifact.size: "1 megabyte" is not a size (use bytes or e.g. 512KiB, 4MiB, 2GiB, 1GB)'],
  ['size that overflows', 'size: 1MiB', 'size: 99999999999TiB', 'p.yaml:6:94: error: spec.artifact.size: "99999999999TiB" is too large a size'],
  [
    'bad duration',
    'install.sh]}',
    'install.sh], timeout: "10 minutes"}',
    'p.yaml:7:49: error: spec.install.timeout: "10 minutes" is not a duration (use e.g. 500ms, 30s, 10m, 6h, 1d)',
  ],
  ['zero timeout', 'install.sh]}', 'install.sh], timeout: 0s}', 'p.yaml:7:49: error: spec.install.timeout: must be longer than 0 (use e.g. 30s or 10m)'],
];

const cases: Case[] = [
  {
    name: 'YAML syntax error',
    files: { 'a.yaml': 'apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h1\n' },
    problems: ['a.yaml:4:1: error: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }'],
  },
  {
    name: 'duplicate key',
    files: { 'a.yaml': 'apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h1}\nkind: Host\n' },
    problems: ['a.yaml:4:1: error: duplicate key "kind" in this mapping; keep one of them'],
  },
  {
    name: 'alias bomb',
    files: { 'a.yaml': bomb },
    problems: ['a.yaml:1:1: error: too many alias expansions (more than 100); expand the aliases by hand or use fewer of them'],
  },
  {
    name: 'oversized file',
    files: { 'big.yaml': `# ${'x'.repeat(2 * 1024 * 1024)}\n` },
    problems: ['big.yaml:1:1: error: file is 2 MiB, over the 1 MiB limit for one manifest file; split it into several files'],
  },
  {
    name: 'non-UTF-8 bytes',
    files: { 'a.yaml': new Uint8Array([...new TextEncoder().encode('kind: Host\nmetadata: {name: h\u00e9'), 0xff, 0x7d, 0x0a]) },
    problems: ['a.yaml:2:20: error: file is not UTF-8 text (byte 0xff at offset 31); save it as UTF-8'],
  },
  {
    name: 'a document that is not a mapping',
    files: { 'a.yaml': '# hosts\n---\n- clt1\n- clt2\n' },
    problems: ['a.yaml:3:1: error: this document is a list, not a mapping; each document is one resource with apiVersion, kind, metadata and spec'],
  },
  {
    name: '10,000 documents',
    files: { 'many.yaml': Array.from({ length: 10_000 }, (_, i) => `apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h${i}}\n`).join('---\n') },
    problems: ['many.yaml:20000:1: error: more than 5000 documents in one file; split it into several files'],
  },
  {
    name: 'unknown key',
    files: {
      'd.yaml': `${deployment('d', '[{name: p, version: "1.0.0"}]', '{hosts: [h1]}')}  distribute: {segmentSise: 4MiB}\n`,
      'p.yaml': pkg('p', '1.0.0'),
    },
    problems: ['d.yaml:7:16: error: unknown key "segmentSise" in spec.distribute (did you mean "segmentSize"?)'],
  },
  {
    name: 'unknown key without a near match lists the allowed ones',
    files: { 'h.yaml': 'apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h1}\nspec: {rack: r12}\n' },
    problems: ['h.yaml:4:8: error: unknown key "rack" in spec (allowed: labels, mac, relay)'],
  },
  {
    name: 'wrong type',
    files: { 'p.yaml': pkg('p', '1.0.0').replace('version: "1.0.0"', 'version: 2.4') },
    problems: ['p.yaml:5:12: error: spec.version: expected a string, got the number 2.4 (quote it: "2.4")'],
  },
  {
    name: 'an unquoted version is quoted as written (2.10, not 2.1)',
    files: { 'p.yaml': pkg('p', '1.0.0').replace('version: "1.0.0"', 'version: 2.10') },
    problems: ['p.yaml:5:12: error: spec.version: expected a string, got the number 2.10 (quote it: "2.10")'],
  },
  {
    name: 'an unquoted 1.0 is quoted as written',
    files: { 'p.yaml': pkg('p', '1.0.0').replace('version: "1.0.0"', 'version: 1.0') },
    problems: ['p.yaml:5:12: error: spec.version: expected a string, got the number 1.0 (quote it: "1.0")'],
  },
  {
    name: 'a number too large to be a number (1e400)',
    files: { 'p.yaml': pkg('p', '1.0.0').replace('size: 1MiB', 'size: 1e400') },
    problems: [
      'p.yaml:6:94: error: spec.artifact.size: 1e400 is too large a number: Ferry reads numbers up to 9007199254740991 (2^53 − 1) exactly (use a unit, e.g. 4GiB, or quote it if it is text)',
    ],
  },
  {
    name: 'a 400-digit size',
    files: { 'p.yaml': pkg('p', '1.0.0').replace('size: 1MiB', `size: ${'9'.repeat(400)}`) },
    problems: [
      'p.yaml:6:94: error: spec.artifact.size: 999999999999… (400 characters) is too large a number: Ferry reads numbers up to 9007199254740991 (2^53 − 1) exactly (use a unit, e.g. 4GiB, or quote it if it is text)',
    ],
  },
  {
    name: 'a whole number beyond 2^53',
    files: { 'c.yaml': 'apiVersion: ferry/v1\nkind: Condition\nmetadata: {name: big}\nspec: {minCpus: 9007199254740993}\n' },
    problems: [
      'c.yaml:4:17: error: spec.minCpus: 9007199254740993 is too large a number: Ferry reads numbers up to 9007199254740991 (2^53 − 1) exactly (use a unit, e.g. 4GiB, or quote it if it is text)',
    ],
  },
  {
    name: 'nesting deeper than 64 levels',
    files: { 'h.yaml': `apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h1}\nspec: {labels: {a: ${'['.repeat(5000)}${']'.repeat(5000)}}}\n` },
    problems: ['h.yaml:4:81: error: lists and mappings are nested more than 64 levels deep here; a manifest needs only a few levels'],
  },
  {
    name: 'a list used as a mapping key',
    files: { 'h.yaml': 'apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h1}\nspec:\n  labels:\n    ? [a, b]\n    : c\n' },
    problems: ['h.yaml:6:7: error: a list or mapping is used as a mapping key; keys are plain names (quote the key if it is meant as text)'],
  },
  {
    name: 'a list longer than its limit',
    files: { 's.yaml': schedule('many', 'UTC', `[${Array.from({ length: 1001 }, () => '{cron: "0 22 * * *", duration: 1h}').join(', ')}]`).replace('    - [', '      [') },
    problems: ['s.yaml:7:7: error: spec.windows: lists more than 1000 items'],
  },
  {
    name: 'manifest files together over the total limit',
    files: { 'a.yaml': group('a', '{hosts: [h1]}'), 'b.yaml': group('b', '{hosts: [h2]}'), 'c.yaml': group('c', '{hosts: [h3]}') },
    limits: { maxTotalBytes: 120 },
    problems: [
      'b.yaml:1:1: error: the manifest files together are over the 120 B limit (146 B with this file); this file and those after it are not read: keep only manifests in the manifest folder',
    ],
  },
  {
    name: 'bad name',
    files: { 'g.yaml': group('Sales_Team', '{hosts: [clt1]}') },
    problems: [
      'g.yaml:3:18: error: metadata.name: "Sales_Team" is not a valid name (use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 63 characters)',
    ],
  },
  ...packageEdits.map(([name, from, to, problem]) => ({ name, files: { 'p.yaml': pkg('p', '1.0.0').replace(from, to) }, problems: [problem] })),
  {
    name: 'bad cron',
    files: { 's.yaml': schedule('nightly', 'UTC', '{cron: "0 25 * * *", duration: 6h}') },
    problems: [
      's.yaml:7:14: error: spec.windows[0].cron: "0 25 * * *" is not a valid cron expression (Constraint error, got value 25 expected range 0-23); use minute hour day-of-month month day-of-week, e.g. "0 22 * * 1-5"',
    ],
  },
  {
    name: 'bad time zone',
    files: { 's.yaml': schedule('nightly', 'Asia/Tokio', '{cron: "0 22 * * 1-5", duration: 6h}') },
    problems: ['s.yaml:5:13: error: spec.timezone: "Asia/Tokio" is not an IANA time zone (did you mean "Asia/Tokyo"?)'],
  },
  {
    name: 'bad start time',
    files: { 's.yaml': schedule('xmas', 'host', '{start: "2026-02-30T20:00:00", duration: 2h}') },
    problems: ['s.yaml:7:15: error: spec.windows[0].start: "2026-02-30T20:00:00" is not a valid time (you specified 30 (of type number) as a day, which is invalid)'],
  },
  {
    name: 'start time that is not RFC 3339',
    files: { 's.yaml': schedule('xmas', 'host', '{start: "24.12.2026 20:00", duration: 2h}') },
    problems: ['s.yaml:7:15: error: spec.windows[0].start: "24.12.2026 20:00" is not an RFC 3339 time (use e.g. 2026-12-24T20:00:00, optionally with an offset such as +09:00)'],
  },
  {
    name: 'dangling group include and exclude',
    files: { 'g.yaml': `${group('project-a', '{include: [slaes], exclude: [quarantine]}')}---\n${group('sales', '{hosts: [clt1]}')}` },
    problems: [
      'g.yaml:4:18: error: spec.include[0]: Group "slaes" is not defined (did you mean "sales"?)',
      'g.yaml:4:36: error: spec.exclude[0]: Group "quarantine" is not defined',
    ],
  },
  {
    name: 'dangling host relay and relay group',
    files: {
      'h.yaml': 'apiVersion: ferry/v1\nkind: Host\nmetadata: {name: clt2}\nspec: {relay: osaka}\n',
      'r.yaml': 'apiVersion: ferry/v1\nkind: Relay\nmetadata: {name: kyoto}\nspec: {host: relay-1, url: "http://relay-1:8470", serves: {groups: [kyoto-office]}}\n',
    },
    problems: ['h.yaml:4:15: error: spec.relay: Relay "osaka" is not defined', 'r.yaml:4:69: error: spec.serves.groups[0]: Group "kyoto-office" is not defined'],
  },
  {
    name: 'a relay multicast group that is not a multicast address, a port out of range',
    files: {
      'r.yaml': 'apiVersion: ferry/v1\nkind: Relay\nmetadata: {name: kyoto}\nspec: {host: relay-1, url: "http://relay-1:8470", multicast: {group: 10.0.0.1, port: 70000}}\n',
    },
    problems: [
      'r.yaml:4:70: error: spec.multicast.group: "10.0.0.1" is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255; use e.g. 239.255.70.1)',
      'r.yaml:4:86: error: spec.multicast.port: must be at most 65535',
    ],
  },
  {
    name: 'dangling package requires, condition and install window',
    files: { 'p.yaml': pkg('editor', '1.0.0', '  requires: [runtime]\n  conditions: [enough-disk]\n  installWindow: lunch') },
    problems: [
      'p.yaml:8:14: error: spec.requires[0]: Package "runtime" is not defined',
      'p.yaml:9:16: error: spec.conditions[0]: Condition "enough-disk" is not defined',
      'p.yaml:10:18: error: spec.installWindow: Schedule "lunch" is not defined',
    ],
  },
  {
    name: 'dangling deployment package, group and windows',
    files: {
      'd.yaml': `${deployment('d', '[{name: editor, version: "1.0.0"}]', '{groups: [project-a], hosts: [clt9]}')}  distribute: {window: nightly}\n  install: {window: lunch}\n`,
    },
    problems: [
      'd.yaml:5:21: error: spec.packages[0].name: Package "editor" is not defined',
      'd.yaml:6:22: error: spec.targets.groups[0]: Group "project-a" is not defined',
      'd.yaml:7:24: error: spec.distribute.window: Schedule "nightly" is not defined',
      'd.yaml:8:21: error: spec.install.window: Schedule "lunch" is not defined',
    ],
  },
  {
    name: 'missing package version',
    files: { 'd.yaml': deployment('d', '[{name: text-editor, version: "2.5.0"}]', '{hosts: [clt9]}'), 'p.yaml': pkg('text-editor', '2.4.1') },
    problems: ['d.yaml:5:43: error: spec.packages[0].version: package text-editor has no version "2.5.0" (known: 2.4.1)'],
  },
  {
    name: 'include cycle',
    files: { 'g.yaml': [group('c', '{include: [a]}'), group('b', '{include: [c]}'), group('a', '{include: [b]}')].join('---\n') },
    problems: ['g.yaml:14:18: error: include cycle: a → b → c → a; remove one of these references'],
  },
  {
    name: 'requires cycle',
    files: { 'p.yaml': [pkg('lib-b', '1.0.0', '  requires: [lib-a]'), pkg('lib-a', '1.0.0', '  requires: [lib-b]')].join('---\n') },
    problems: ['p.yaml:17:14: error: requires cycle: lib-a → lib-b → lib-a; remove one of these requirements'],
  },
  {
    name: 'duplicate name',
    files: { 'a.yaml': group('sales', '{hosts: [clt1]}'), 'b.yaml': `# again\n${group('sales', '{hosts: [clt2]}')}` },
    problems: ['b.yaml:4:18: error: Group "sales" is already defined at a.yaml:3; names are unique per kind'],
  },
  {
    name: 'duplicate package version',
    files: { 'p.yaml': [pkg('editor', '1.0.0'), pkg('editor', '1.0.1'), pkg('editor', '1.0.0')].join('---\n') },
    problems: ['p.yaml:19:18: error: Package "editor" version "1.0.0" is already defined at p.yaml:3; each name and version is defined once'],
  },
  {
    name: 'certain conflict',
    files: {
      'p.yaml': [pkg('editor', '1.0.0'), pkg('editor', '2.0.0')].join('---\n'),
      'g.yaml': [group('sales', '{hosts: [clt1, clt2]}'), group('project-a', '{include: [sales]}')].join('---\n'),
      'd.yaml': [deployment('old', '[{name: editor, version: "1.0.0"}]', '{groups: [project-a]}'), deployment('new', '[{name: editor, version: "2.0.0"}]', '{hosts: [clt2]}')].join(
        '---\n',
      ),
    },
    problems: [
      'd.yaml:5:14: error: conflict: this deployment asks editor 1.0.0 present and deployment new asks editor 2.0.0 present on the same hosts (clt2); neither would be applied there — narrow the targets or align the versions',
      'd.yaml:12:14: error: conflict: this deployment asks editor 2.0.0 present and deployment old asks editor 1.0.0 present on the same hosts (clt2); neither would be applied there — narrow the targets or align the versions',
    ],
  },
  {
    name: 'possible conflict',
    files: {
      'p.yaml': pkg('editor', '1.0.0', '  uninstall: {command: [sh, uninstall.sh]}'),
      'g.yaml': group('linux', '{selector: {facts: {os.platform: linux}}}'),
      'd.yaml': [
        deployment('install', '[{name: editor, version: "1.0.0"}]', '{groups: [linux]}'),
        deployment('remove', '[{name: editor, version: "1.0.0", state: absent}]', '{hosts: [clt2]}'),
      ].join('---\n'),
    },
    problems: [
      'd.yaml:5:14: warning: possible conflict: this deployment asks editor 1.0.0 present and deployment remove asks editor 1.0.0 absent; their targets may overlap through selector group linux, and a host in both would get neither',
      'd.yaml:12:14: warning: possible conflict: this deployment asks editor 1.0.0 absent and deployment install asks editor 1.0.0 present; their targets may overlap through selector group linux, and a host in both would get neither',
    ],
  },
  {
    name: 'waves that shrink or pass 100%',
    files: {
      'p.yaml': pkg('p', '1.0.0'),
      'd.yaml': `${deployment('d', '[{name: p, version: "1.0.0"}]', '{hosts: [h1]}')}  rollout: {waves: ["25%", "5%", "150%"], maxFailures: "10%"}\n`,
    },
    problems: [
      'd.yaml:7:28: error: spec.rollout.waves[1]: "5%" is not larger than the wave before it ("25%"); waves are cumulative and must grow',
      'd.yaml:7:34: error: spec.rollout.waves[2]: "150%" must be more than 0% and at most 100%',
    ],
  },
  {
    name: 'unknown kind and wrong apiVersion',
    files: { 'a.yaml': 'apiVersion: ferry/v1\nkind: Pakage\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Host\nmetadata: {name: h}\n' },
    problems: ['a.yaml:2:7: error: kind: "Pakage" is not a Ferry kind (did you mean "Package"?)', 'a.yaml:5:13: error: apiVersion: "v1" is not supported (use ferry/v1)'],
  },
];

const asFiles = (files: Record<string, string | Uint8Array>): ManifestFile[] => Object.entries(files).map(([path, content]) => ({ path, content }));
const format = (p: { file: string; line: number; col: number; severity: string; message: string }) => `${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message}`;

describe('loadManifests: one broken manifest per error class', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = loadManifests(asFiles(c.files), c.limits === undefined ? {} : { limits: c.limits });
      expect(result.problems.map(format)).to.deep.equal(c.problems);
      const hasError = c.problems.some((p) => p.includes(': error: '));
      expect(result.snapshot === undefined).to.equal(hasError);
    });
  }

  it('lets no warning of the YAML library reach the terminal (a collection as a key)', async () => {
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on('warning', listen);
    try {
      for (const fastParse of [true, false]) {
        const text = 'apiVersion: ferry/v1\nkind: Host\nmetadata: {name: h1}\nspec:\n  labels: {[a, b]: c}\n';
        const result = loadManifests([{ path: 'h.yaml', content: text }], { fastParse });
        expect(result.problems.map(format)).to.deep.equal([
          'h.yaml:5:12: error: a list or mapping is used as a mapping key; keys are plain names (quote the key if it is meant as text)',
        ]);
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    expect(warnings).to.deep.equal([]);
  });

  it('reports every problem of a file in one run, sorted by line', () => {
    const text = [
      'apiVersion: ferry/v1',
      'kind: Deployment',
      'metadata: {name: Editor}',
      'spec:',
      '  packages: [{name: text-editor, version: "2.4.1", state: presnt}]',
      '  targets: {groups: [sales]}',
      '  distribute: {segmentSise: 4MiB, segmentPause: 10 minutes}',
      '---',
      'apiVersion: ferry/v1',
      'kind: Schedule',
      'metadata: {name: nightly}',
      'spec: {timezone: Mars/Olympus, windows: [{cron: "61 * * * *", duration: 1h}]}',
      '---',
      group('sales', '{include: [sales], hosts: [clt1, clt1]}'),
    ].join('\n');
    const result = loadManifests([{ path: 'all.yaml', content: text }]);
    expect(result.problems.map(format)).to.deep.equal([
      'all.yaml:3:18: error: metadata.name: "Editor" is not a valid name (use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 63 characters)',
      'all.yaml:5:59: error: spec.packages[0].state: "presnt" is not one of present, absent (did you mean "present"?)',
      'all.yaml:7:16: error: unknown key "segmentSise" in spec.distribute (did you mean "segmentSize"?)',
      'all.yaml:7:49: error: spec.distribute.segmentPause: "10 minutes" is not a duration (use e.g. 500ms, 30s, 10m, 6h, 1d)',
      'all.yaml:12:18: error: spec.timezone: "Mars/Olympus" is not an IANA time zone (use e.g. Asia/Tokyo, Europe/Paris, UTC, or host)',
      'all.yaml:12:49: error: spec.windows[0].cron: "61 * * * *" is not a valid cron expression (Constraint error, got value 61 expected range 0-59); use minute hour day-of-month month day-of-week, e.g. "0 22 * * 1-5"',
      'all.yaml:17:40: error: spec.hosts: lists "clt1" twice; list it once',
    ]);
    expect(result.snapshot).to.equal(undefined);
  });
});
