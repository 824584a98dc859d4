/**
 * Request validation at the edge (STYLE rule 4): every body, query and path parameter
 * is checked against a JSON Schema from `schemas/` before a handler sees it, and every
 * problem is reported as `{path, message}` in the error's details.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { ApiError } from './errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
type AddFormats = (ajv: Ajv2020) => Ajv2020;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

/** One problem with a request, located by JSON pointer into the part checked. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

export type RequestPart = 'body' | 'query' | 'params';

/** Compiled schemas by key: the file's path under `schemas/` without `.schema.json` (`api/enroll`, `report`). */
export interface SchemaSet {
  /** Returns the value (coerced for query and params) or throws a 400 ApiError listing every problem. */
  check<T>(key: string, part: RequestPart, value: unknown): T;
  has(key: string): boolean;
}

/** The repository's `schemas/` folder, found from this module in the sources and in `dist/`. */
export function schemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'schemas')) && existsSync(join(dir, 'package.json'))) return join(dir, 'schemas');
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the schemas/ folder of the ferry checkout');
    dir = up;
  }
}

function schemaFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...schemaFiles(full));
    else if (entry.name.endsWith('.schema.json')) out.push(full);
  }
  return out.sort();
}

function problems(errors: readonly ErrorObject[] | null | undefined): Problem[] {
  return (errors ?? []).slice(0, 50).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? `: ${String((e.params as { additionalProperty?: string }).additionalProperty)}`
        : e.keyword === 'enum'
          ? `: ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).join(', ')}`
          : '';
    return { path: e.instancePath || '/', message: `${e.message ?? 'is invalid'}${extra}` };
  });
}

const partNames: Record<RequestPart, string> = { body: 'request body', query: 'query string', params: 'path' };

/** Loads and compiles every schema under `dir` (default: the checkout's `schemas/`). */
export function loadSchemas(dir: string = schemasDir()): SchemaSet {
  const strictAjv = new Ajv2020({ allErrors: true, strict: false });
  const coercingAjv = new Ajv2020({ allErrors: true, strict: false, coerceTypes: 'array', useDefaults: true });
  addFormats(strictAjv);
  addFormats(coercingAjv);
  const keys = new Set<string>();
  for (const file of schemaFiles(dir)) {
    const key = relative(dir, file)
      .split(sep)
      .join('/')
      .replace(/\.schema\.json$/, '');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // Both draft-07 and 2020-12 documents are read by the 2020 validator; their keywords here are shared.
    const { $schema: _draft, ...body } = schema;
    strictAjv.addSchema(body, key);
    coercingAjv.addSchema(body, key);
    keys.add(key);
  }
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string, coerce: boolean): ValidateFunction => {
    const cacheKey = `${coerce ? 'c' : 's'}:${key}`;
    let fn = compiled.get(cacheKey);
    if (!fn) {
      fn = (coerce ? coercingAjv : strictAjv).getSchema(key);
      if (!fn) throw new Error(`no schema ${key} in ${dir}`);
      compiled.set(cacheKey, fn);
    }
    return fn;
  };
  return {
    has: (key) => keys.has(key),
    check<T>(key: string, part: RequestPart, value: unknown): T {
      const coerce = part !== 'body';
      const copy = coerce ? structuredClone(value ?? {}) : value;
      const fn = validator(key, coerce);
      if (!fn(copy)) {
        throw new ApiError(400, `invalid-${part}`, `the ${partNames[part]} does not match ${key}.schema.json`, problems(fn.errors));
      }
      return copy as T;
    },
  };
}
