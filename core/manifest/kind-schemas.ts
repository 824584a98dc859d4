/**
 * The JSON Schemas of `schemas/`, compiled once per process with ajv (all errors, verbose for
 * messages), each kind on first use. Compiling is most of what a cold `ferry validate` spends on
 * ajv, so two of its steps are left out: checking the schemas against the meta-schema (the
 * schema tests do that with a plain Ajv) and optimising the generated code (the same checks and
 * errors, in a few more statements).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import commonSchema from '../../schemas/common.schema.json' with { type: 'json' };
import conditionSchema from '../../schemas/condition.schema.json' with { type: 'json' };
import deploymentSchema from '../../schemas/deployment.schema.json' with { type: 'json' };
import groupSchema from '../../schemas/group.schema.json' with { type: 'json' };
import hostSchema from '../../schemas/host.schema.json' with { type: 'json' };
import packageSchema from '../../schemas/package.schema.json' with { type: 'json' };
import relaySchema from '../../schemas/relay.schema.json' with { type: 'json' };
import scheduleSchema from '../../schemas/schedule.schema.json' with { type: 'json' };
import trustPolicySchema from '../../schemas/trust-policy.schema.json' with { type: 'json' };
import type { Kind } from './types.js';

const schemas: Readonly<Record<Kind, object>> = {
  Package: packageSchema,
  Condition: conditionSchema,
  Group: groupSchema,
  Host: hostSchema,
  Schedule: scheduleSchema,
  Deployment: deploymentSchema,
  Relay: relaySchema,
  TrustPolicy: trustPolicySchema,
};

/** Every kind, in the order messages list them. */
export const kinds: readonly Kind[] = ['Package', 'Condition', 'Group', 'Host', 'Schedule', 'Deployment', 'Relay', 'TrustPolicy'];

/** True when `kind` is one of Ferry's kinds. */
export function isKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && (kinds as readonly string[]).includes(kind);
}

let ajv: Ajv | undefined;
const compiled = new Map<Kind, ValidateFunction>();

/** The validator of one kind's schema (compiled on first use). */
export function validatorFor(kind: Kind): ValidateFunction {
  let fn = compiled.get(kind);
  if (fn === undefined) {
    ajv ??= new Ajv({ allErrors: true, verbose: true, validateSchema: false, code: { optimize: false } }).addSchema(commonSchema);
    fn = ajv.compile(schemas[kind]);
    compiled.set(kind, fn);
  }
  return fn;
}
