/**
 * One definition of a report (issue 15, item 4): the controller's request validator for
 * POST /v1/hosts/{host}/reports and for results files, and the documented schemas/report.schema.json
 * read by an independent validator, accept and refuse exactly the same reports at every limit.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import { expect } from 'chai';
import { loadSchemas } from '../../controller/api/validate.js';
import { repoRoot } from '../support/ferry.js';

type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

const schemasDir = join(repoRoot, 'schemas');

/** schemas/*.schema.json in a plain draft-07 Ajv, as an outside tool reads them. */
function documented(): (value: unknown) => boolean {
  const ajv = addFormats(new Ajv({ allErrors: true }));
  for (const f of readdirSync(schemasDir).filter((n) => n.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(schemasDir, f), 'utf8')) as object);
  const fn = ajv.getSchema('report.schema.json')!;
  return (value) => fn(value) as boolean;
}

const report = { id: 'r1', actionId: 'editor-2-4/text-editor@2.4.1/install', serial: 3, state: 'failed', at: '2026-12-01T00:00:00Z', exitCode: 1, output: 'x', reason: 'y' };

// biome-ignore format: a table of [what, report]
const cases: [string, Record<string, unknown>][] = [
  ['a plain report', report],
  ['id of 200 characters', { ...report, id: 'i'.repeat(200) }],
  ['id of 201 characters', { ...report, id: 'i'.repeat(201) }],
  ['actionId of 400 characters', { ...report, actionId: 'a'.repeat(400) }],
  ['actionId of 401 characters', { ...report, actionId: 'a'.repeat(401) }],
  ['actionId of 512 characters', { ...report, actionId: 'a'.repeat(512) }],
  ['output of 16384 characters', { ...report, output: 'o'.repeat(16384) }],
  ['output of 16385 characters', { ...report, output: 'o'.repeat(16385) }],
  ['reason of 4097 characters', { ...report, reason: 'r'.repeat(4097) }],
  ['serial beyond 2^53', { ...report, serial: 2 ** 53 }],
  ['exit code beyond 32 bits', { ...report, exitCode: 2 ** 31 }],
  ['an unknown state', { ...report, state: 'done' }],
  ['an unknown key', { ...report, extra: 1 }],
  ['a time that is no date', { ...report, at: '2026-02-30T00:00:00Z' }],
];

describe('schemas: one definition of a report', () => {
  const schemas = loadSchemas();
  const controllerAccepts = (key: string, value: unknown) => {
    try {
      schemas.check(key, 'body', value);
      return true;
    } catch {
      return false;
    }
  };
  const accepts = documented();

  it('accepts and refuses the same reports in the controller and in schemas/report.schema.json', () => {
    const results = (r: Record<string, unknown>) => ({ results: [r] });
    const file = (r: Record<string, unknown>) => ({ format: 'ferry-results/v1', bundleId: 'b', host: 'h1', serial: 1, appliedAt: '2026-12-01T00:00:00Z', reports: [r], mac: 'm' });
    const table = cases.map(([what, r]) => [what, accepts(results(r)), controllerAccepts('api/reports-body', results(r)), controllerAccepts('api/results-import', file(r))]);
    // Each row: [what, documented, controller (reports), controller (results file)] — all three the same.
    expect(table.map(([what, a, b, c]) => [what, a === b && b === c])).to.deep.equal(cases.map(([what]) => [what, true]));
    expect(table.filter((row) => row[1] === true).map((row) => row[0])).to.deep.equal([
      'a plain report',
      'id of 200 characters',
      'actionId of 400 characters',
      'output of 16384 characters',
    ]);
  });

  it('defines a report once: the request schemas refer to report.schema.json', () => {
    const text = (f: string) => readFileSync(join(schemasDir, f), 'utf8');
    expect(JSON.parse(text('api/reports-body.schema.json'))).to.include({ $ref: '../report.schema.json' });
    expect(text('api/results-import.schema.json')).to.include('"$ref": "../report.schema.json#/definitions/report"');
    expect(text('api/reports-body.schema.json')).to.not.include('maxLength');
  });
});
