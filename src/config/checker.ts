/**
 * Validators compiled at run time (ajv over a TypeBox schema), for the control plane's request
 * bodies. Not exported from config/index.ts: the sidecar uses the precompiled validators
 * (validators.generated.ts) and never loads ajv.
 */
import { Ajv } from 'ajv';
import type { Static, TSchema } from 'typebox';
import { firstProblem } from './schema.ts';

const ajv = new Ajv({ allErrors: false, strict: false });

/** A validator for one of these schemas: the value, typed, or the first problem. */
export function checker<T extends TSchema>(schema: T): (value: unknown) => { ok: true; value: Static<T> } | { ok: false; problem: string } {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return { ok: true, value: value as Static<T> };
    return { ok: false, problem: firstProblem(validate.errors) };
  };
}
