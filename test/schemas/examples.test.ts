/**
 * Editors validate with the raw schemas only (`# yaml-language-server: $schema=…`), so every
 * example manifest must pass plain ajv against schemas/manifest.schema.json, and typos must fail it.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/ferry.js';

const schemasDir = join(repoRoot, 'schemas');

type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

/** The schemas as an editor reads them: plain draft-07, standard formats (`date-time`) known. */
function plainAjv(): Ajv {
  const ajv = addFormats(new Ajv());
  for (const f of readdirSync(schemasDir)
    .filter((n) => n.endsWith('.schema.json'))
    .sort()) {
    ajv.addSchema(JSON.parse(readFileSync(join(schemasDir, f), 'utf8')) as object);
  }
  return ajv;
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter(
      (p) =>
        !relative(dir, p)
          .split('/')
          .some((s) => s.startsWith('.')),
    )
    .sort();
}

function documents(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((v) => v !== null && v !== undefined);
}

describe('schemas/: the raw JSON Schemas', () => {
  let manifest: ValidateFunction;
  before(() => {
    manifest = plainAjv().getSchema('manifest.schema.json')!;
  });

  it('compile with plain ajv, every one of them', () => {
    const ajv = plainAjv();
    for (const f of readdirSync(schemasDir).filter((n) => n.endsWith('.schema.json'))) expect(ajv.getSchema(f), f).to.be.a('function');
  });

  for (const [label, dir] of [
    ['examples/manifests', join(repoRoot, 'examples/manifests')],
    ['test/fixtures/manifests/fleet', join(repoRoot, 'test/fixtures/manifests/fleet')],
  ] as const) {
    it(`accept every document of ${label}`, function () {
      const files = yamlFiles(dir);
      if (files.length === 0 && label === 'examples/manifests') this.skip();
      expect(files.length).to.be.greaterThan(0);
      let checked = 0;
      for (const file of files) {
        for (const doc of documents(file)) {
          const ok = manifest(doc);
          expect(ok, `${relative(repoRoot, file)}: ${JSON.stringify(manifest.errors)}`).to.equal(true);
          checked++;
        }
      }
      expect(checked).to.be.greaterThan(0);
    });
  }

  const rejected = [
    { name: 'a misspelled key', doc: { apiVersion: 'ferry/v1', kind: 'Host', metadata: { name: 'h1' }, spec: { lables: { a: 'b' } } } },
    { name: 'another apiVersion', doc: { apiVersion: 'ferry/v2', kind: 'Host', metadata: { name: 'h1' } } },
    { name: 'an unknown kind', doc: { apiVersion: 'ferry/v1', kind: 'Pakage', metadata: { name: 'p' } } },
    {
      name: 'a bad duration',
      doc: { apiVersion: 'ferry/v1', kind: 'Schedule', metadata: { name: 's' }, spec: { timezone: 'UTC', windows: [{ cron: '* * * * *', duration: '1 hour' }] } },
    },
    { name: 'a bad size', doc: { apiVersion: 'ferry/v1', kind: 'Condition', metadata: { name: 'c' }, spec: { minMemory: '4 GB' } } },
  ];
  for (const c of rejected) {
    it(`reject ${c.name}`, () => {
      expect(manifest(c.doc)).to.equal(false);
    });
  }
});

describe('schemas/: plan, inventory and report documents', () => {
  const ajv = plainAjv();
  const plan = ajv.getSchema('plan.schema.json')!;
  const inventory = ajv.getSchema('inventory.schema.json')!;
  const report = ajv.getSchema('report.schema.json')!;
  const command = { command: ['sh', 'install.sh'], timeoutMs: 600000, env: {} };

  it('accept a plan in the wire form of core/plan/types.ts', () => {
    const doc = {
      host: 'clt2',
      serial: 3,
      revision: 'main@sha1:3f2a',
      generatedAt: '2026-12-01T00:00:00Z',
      expiresAt: '2026-12-08T00:00:00Z',
      sources: [
        { kind: 'relay', name: 'osaka', url: 'http://relay-osaka-01:8470' },
        { kind: 'controller', name: 'controller' },
      ],
      actions: [
        {
          id: 'editor-2-4/text-editor@2.4.1/install',
          deployment: 'editor-2-4',
          package: 'text-editor',
          version: '2.4.1',
          op: 'install',
          status: 'planned',
          blockedBy: [],
          artifact: { sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', size: 1048576 },
          install: command,
          conditions: [{ name: 'enough-disk', verdict: 'holds', spec: { minDiskFree: 2147483648, software: { present: [], absent: [] } } }],
          distribute: { windows: [{ start: '2026-12-01T13:00:00Z', end: '2026-12-01T19:00:00Z' }], segmentSize: 4194304, segmentPauseMs: 2000, multicast: false, wake: true },
          shutdownAfter: false,
          suspended: false,
        },
      ],
      signature: 'c2lnbmF0dXJl',
    };
    expect(plan(doc), JSON.stringify(plan.errors)).to.equal(true);
    expect(plan({ ...doc, actions: [{ ...doc.actions[0], timeout: '10m' }] })).to.equal(false);
  });

  it('accept an inventory and a report', () => {
    const inv = {
      host: 'clt2',
      facts: { os: { platform: 'linux' }, arch: 'x64', cpus: 4, gpu: 'none' },
      labels: { dept: 'sales' },
      software: [{ name: 'python3', version: '3.11.2', source: 'dpkg' }],
    };
    expect(inventory(inv), JSON.stringify(inventory.errors)).to.equal(true);
    const rep = {
      results: [
        { id: 'r1', actionId: 'editor-2-4/text-editor@2.4.1/install', serial: 3, state: 'failed', at: '2026-12-01T13:05:00Z', exitCode: 2, output: 'boom', reason: 'exit code 2' },
      ],
    };
    expect(report(rep), JSON.stringify(report.errors)).to.equal(true);
    expect(report({ results: [{ ...rep.results[0], state: 'exploded' }] })).to.equal(false);
  });
});
