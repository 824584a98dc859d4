/**
 * The `--inventory FILE` of `ferry plan`: a JSON array of inventory documents
 * (`{host, facts, labels, software}`), each checked against schemas/inventory.schema.json.
 */
import { readFile } from 'node:fs/promises';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import commonSchema from '../schemas/common.schema.json' with { type: 'json' };
import inventorySchema from '../schemas/inventory.schema.json' with { type: 'json' };
import type { Inventory } from '../core/plan/types.js';
import { ExitCode, UserError } from './errors.js';

/** Problems listed before `and N more`. */
const maxProblems = 20;

/** `[3].facts.cpus` from item 3 and the JSON pointer `/facts/cpus`. */
function location(index: number, pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return `[${index}]${parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
}

/** `[3].software[0].version: is required`, `[1].facts: must be object`. */
function describeError(index: number, e: ErrorObject): string {
  const params = e.params as { additionalProperty?: string; missingProperty?: string };
  const at = location(index, e.instancePath);
  if (e.keyword === 'required') return `${at}.${params.missingProperty}: is required`;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field '${params.additionalProperty}'`;
  return `${at}: ${e.message ?? 'is invalid'}`;
}

let compiled: ValidateFunction | undefined;

/** schemas/inventory.schema.json, compiled on first use. */
function validateInventory(value: unknown): ErrorObject[] {
  compiled ??= new Ajv({ allErrors: true }).addSchema(commonSchema).compile(inventorySchema);
  return compiled(value) ? [] : [...(compiled.errors ?? [])];
}

/** Every problem with the parsed inventory document, as `[INDEX].field: message`. */
export function checkInventory(doc: unknown): string[] {
  if (!Array.isArray(doc)) return ['the file must hold a JSON array of inventory documents ({host, facts, labels, software})'];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  doc.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`[${index}]: must be an object {host, facts, labels, software}`);
      return;
    }
    const host = (item as { host?: unknown }).host;
    if (typeof host === 'string') {
      const first = seen.get(host);
      if (first !== undefined) problems.push(`[${index}].host: '${host}' appears again (first at [${first}]); keep one document per host`);
      else seen.set(host, index);
    }
    for (const e of validateInventory(item)) problems.push(describeError(index, e));
  });
  return problems;
}

/** Reads and checks an inventory file; a missing, unreadable or malformed file is a UserError (exit 2). */
export async function readInventoryFile(file: string): Promise<Inventory[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new UserError(`cannot read the inventory file '${file}': ${why}; pass --inventory with a JSON array of inventory documents`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UserError(`the inventory file '${file}' is not valid JSON: ${(err as Error).message}`);
  }
  const problems = checkInventory(doc);
  if (problems.length > 0) {
    const shown = problems.slice(0, maxProblems).map((p) => `  ${file}: ${p}`);
    const more = problems.length > maxProblems ? [`  … and ${problems.length - maxProblems} more`] : [];
    throw new UserError([`the inventory file '${file}' is malformed; fix these and run again:`, ...shown, ...more].join('\n'), ExitCode.usage);
  }
  return doc as Inventory[];
}
