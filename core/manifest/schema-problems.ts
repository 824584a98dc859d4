/**
 * ajv errors → one plain-language message per problem, each with the path and whether it is about
 * a key (unknown or badly named keys) or a value. Errors inside a failed anyOf/oneOf are folded into
 * one message about the whole value.
 */
import type { ErrorObject } from 'ajv';
import { formatPath, parsePointer } from './json-path.js';
import { didYouMean } from './suggest.js';
import type { JsonPath, Target } from './yaml-documents.js';

export interface SchemaProblem {
  readonly path: JsonPath;
  readonly target: Target;
  readonly message: string;
}

type Schema = { readonly title?: string; readonly properties?: Record<string, unknown>; readonly [k: string]: unknown };

/** What a titled value must look like, e.g. `is not a duration (use e.g. …)`. */
const formHints: Readonly<Record<string, string>> = {
  name: 'is not a valid name (use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 63 characters)',
  version: 'is not a version (use e.g. "2.4.1" or "1.0.0-rc.1")',
  sha256: 'is not a sha256 (64 lower-case hexadecimal digits)',
  size: 'is not a size (use bytes or e.g. 512KiB, 4MiB, 2GiB, 1GB)',
  duration: 'is not a duration (use e.g. 500ms, 30s, 10m, 6h, 1d)',
  quantity: 'is not a percentage or a host count (use e.g. "10%" or 3)',
  time: 'is not an RFC 3339 time (use e.g. 2026-12-24T20:00:00, optionally with an offset such as +09:00)',
  instant: 'is not an RFC 3339 time with an offset (use e.g. 2026-12-01T22:00:00+09:00 or 2026-12-01T13:00:00Z)',
  mac: 'is not a MAC address (use e.g. 00:11:22:33:44:55)',
  url: 'is not an http(s) URL (use e.g. http://relay-osaka-01:8470)',
  'broadcast address': 'is not ADDR[:PORT] with an IP address (use e.g. 192.168.10.255:9)',
  'multicast group': 'is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255; use e.g. 239.255.70.1)',
  'fact value': 'is not a fact value (use a string, a number, true/false, or a non-empty list of them)',
  'label key': 'is not a valid label key (letters, digits, "-", "_", "." and "/", starting and ending with a letter or digit)',
  'environment variable name': 'is not a valid environment variable name (letters, digits and "_", not starting with a digit)',
  'fact path': 'is not a fact path (use a dotted path such as os.platform)',
};

const typeNames: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'nothing',
};

/** The text written for the scalar at a path, when the source is at hand (`2.10` for the number 2.1). */
export type WrittenText = (path: JsonPath) => string | undefined;

/** Turns ajv's errors for one document into problems; `root` is the validated value. */
export function schemaProblems(errors: readonly ErrorObject[], root: unknown, written: WrittenText = () => undefined): SchemaProblem[] {
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const insideCombinator = (e: ErrorObject) => combinators.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`) && e.instancePath.startsWith(c.instancePath));
  const valueDone = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const e of errors) {
    if (insideCombinator(e) || e.propertyName !== undefined) continue;
    const path = parsePointer(e.instancePath, root);
    const problem = describe(e, path, written);
    if (problem === undefined) continue;
    if (problem.target === 'value') {
      const key = JSON.stringify(problem.path);
      if (valueDone.has(key)) continue;
      valueDone.add(key);
    }
    out.push(problem);
  }
  return out;
}

function describe(e: ErrorObject, path: JsonPath, written: WrittenText): SchemaProblem | undefined {
  const p = formatPath(path);
  const at = (message: string): SchemaProblem => ({ path, target: 'value', message: p === '' ? message : `${p}: ${message}` });
  const parent = (e.parentSchema ?? {}) as Schema;
  const params = e.params as Record<string, unknown>;
  const hint = parent.title !== undefined ? formHints[parent.title] : undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const allowed = Object.keys(parent.properties ?? {});
      const where = p === '' ? 'at the top level' : `in ${p}`;
      const suggestion = didYouMean(key, allowed);
      const tail = suggestion !== '' ? suggestion : allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
      return { path: [...path, key], target: 'key', message: `unknown key "${key}" ${where}${tail}` };
    }
    case 'required': {
      const key = String(params['missingProperty']);
      return { path, target: 'key', message: p === '' ? `missing required key "${key}"` : `${p}: missing required key "${key}"` };
    }
    case 'propertyNames': {
      const key = String(params['propertyName']);
      const names = (parent['propertyNames'] ?? {}) as Schema;
      const form = names.title !== undefined ? formHints[names.title] : undefined;
      const where = p === '' ? '' : ` in ${p}`;
      return { path: [...path, key], target: 'key', message: `key "${key}"${where} ${form ?? 'is not allowed here'}` };
    }
    case 'type': {
      const want = String(params['type'])
        .split(',')
        .map((t) => typeNames[t] ?? t);
      const text = typeof e.data === 'number' || typeof e.data === 'boolean' ? written(path) : undefined;
      return at(`expected ${want.join(' or ')}, got ${describeValue(e.data, text)}${quoteHint(params['type'], e.data, text)}`);
    }
    case 'pattern':
    case 'minLength':
    case 'maxLength':
    case 'anyOf':
      if (hint !== undefined) return at(`${show(e.data)} ${hint}`);
      if (e.keyword === 'minLength') return at(Number(params['limit']) === 1 ? 'must not be empty' : `must be at least ${String(params['limit'])} characters long`);
      if (e.keyword === 'maxLength') return at(`is longer than ${String(params['limit'])} characters`);
      if (e.keyword === 'pattern') return at(`${show(e.data)} does not match ${String(params['pattern'])}`);
      return at(`${show(e.data)} is not allowed here`);
    case 'oneOf': {
      if (hint !== undefined) return at(`${show(e.data)} ${hint}`);
      const branches = (e.schema as Schema[]).map((b) => (Array.isArray(b['required']) && b['required'].length === 1 ? String(b['required'][0]) : undefined));
      if (branches.every((b) => b !== undefined)) return at(`give exactly one of ${branches.map((b) => `"${b}"`).join(' or ')}`);
      return at(`${show(e.data)} matches none or several of the allowed forms`);
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      return at(`${show(e.data)} is not one of ${allowed.join(', ')}${typeof e.data === 'string' ? didYouMean(e.data, allowed) : ''}`);
    }
    case 'const':
      return at(`${show(e.data)} is not supported (use ${String(params['allowedValue'])})`);
    case 'minItems':
      return at(Number(params['limit']) === 1 ? 'must not be empty' : `must list at least ${String(params['limit'])} items`);
    case 'maxItems':
      return at(`lists more than ${String(params['limit'])} items`);
    case 'uniqueItems': {
      const later = Math.max(Number(params['i']), Number(params['j']));
      const list = e.data as unknown[];
      return { path: [...path, later], target: 'value', message: `${p}: lists ${show(list[later])} twice; list it once` };
    }
    case 'minimum':
      return at(`must be at least ${String(params['limit'])}`);
    case 'maximum':
      return at(`must be at most ${String(params['limit'])}`);
    case 'minProperties': {
      const keys = Object.keys(parent.properties ?? {});
      return at(keys.length > 0 ? `must set at least one of ${keys.join(', ')}` : 'must not be empty');
    }
    case 'maxProperties':
      return at(`has more than ${String(params['limit'])} keys`);
    case 'if':
      return undefined;
    default:
      return at(e.message ?? 'is not valid');
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeValue(value: unknown, written: string | undefined): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${show(value)}`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return `the number ${written ?? show(value)}`;
}

/** `(quote it: "2.10")`: the text as written, so quoting it keeps what the author meant. */
function quoteHint(wanted: unknown, value: unknown, written: string | undefined): string {
  const wantsString = String(wanted).split(',').includes('string');
  if (!wantsString || (typeof value !== 'number' && typeof value !== 'boolean')) return '';
  return ` (quote it: ${JSON.stringify(written ?? String(value))})`;
}
