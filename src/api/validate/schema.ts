/**
 * Schema validation with ajv against the same structural schemas the CRDs are generated
 * from. Kubernetes-only keywords are translated to plain JSON Schema; objects reject unknown
 * properties here so that fields the API server would silently prune become warnings.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { issue, type Issue, type ObjectRef } from '../../errors/issue.ts';
import type { SmiKind } from '../meta.ts';
import { SCHEMAS, type StructuralSchema } from '../schemas/index.ts';

type JsonSchema = Record<string, unknown>;

/** Structural schema → JSON Schema that ajv understands, closed to unknown properties. */
export function toJsonSchema(node: StructuralSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'format') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, StructuralSchema>).map(([k, v]) => [k, toJsonSchema(v)]));
    } else if (key === 'items') {
      out.items = toJsonSchema(value as StructuralSchema);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string']) out.type = ['integer', 'string'];
  if (node.type === 'object' && node.properties && !node['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const compiled = new Map<string, ValidateFunction>();

function validatorFor(kind: SmiKind, version: string): ValidateFunction | undefined {
  const key = `${kind}/${version}`;
  let fn = compiled.get(key);
  if (!fn) {
    const schema = SCHEMAS[kind][version];
    if (!schema) return undefined;
    fn = ajv.compile(toJsonSchema(schema));
    compiled.set(key, fn);
  }
  return fn;
}

/** `/spec/backends/1/weight` → `spec.backends[1].weight`. */
export function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return path;
}

export function joinPath(base: string, field: string): string {
  return base === '' ? field : `${base}.${field}`;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer', string: 'a string', object: 'an object (a map)', array: 'a list', number: 'a number', boolean: 'true or false',
};

function describeType(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

/** Hints for fields that moved between versions, keyed by `kind/version:path`. */
const MOVED_FIELD_HINTS: Record<string, string> = {
  'HTTPRouteGroup/v1alpha3:matches': 'since v1alpha3 the matches live under spec.matches',
  'HTTPRouteGroup/v1alpha4:matches': 'since v1alpha3 the matches live under spec.matches',
  'TrafficTarget/v1alpha3:spec.destination.port': 'v1alpha3 has no destination port; allow ports with a TCPRoute rule whose spec.matches.ports lists them',
  'TrafficTarget/v1alpha1:spec': 'v1alpha1 has destination, sources and specs at the top level',
  'TrafficTarget/v1alpha2:destination': 'since v1alpha2 destination, sources and rules live under spec',
  'TrafficTarget/v1alpha3:destination': 'since v1alpha2 destination, sources and rules live under spec',
  'HTTPRouteGroup/v1alpha1:spec': 'v1alpha1 and v1alpha2 have matches at the top level',
  'HTTPRouteGroup/v1alpha2:spec': 'v1alpha1 and v1alpha2 have matches at the top level',
  'TrafficSplit/v1alpha1:spec.matches': 'matches exist from v1alpha3 on',
  'TrafficSplit/v1alpha2:spec.matches': 'matches exist from v1alpha3 on',
};

function toIssue(kind: SmiKind, version: string, error: ErrorObject, object: ObjectRef): Issue {
  const at = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return issue('SKIFF_E_SCHEMA', joinPath(at, String(params.missingProperty)), 'is required', object);
    case 'additionalProperties': {
      const field = joinPath(at, String(params.additionalProperty));
      const hint = MOVED_FIELD_HINTS[`${kind}/${version}:${field}`];
      return issue('SKIFF_W_UNKNOWN_FIELD', field, `${version} has no such field; the API server would drop it${hint ? ` (${hint})` : ''}`, object);
    }
    case 'type':
      return issue('SKIFF_E_SCHEMA', at, `must be ${describeType(params.type)}`, object);
    case 'enum':
      return issue('SKIFF_E_SCHEMA', at, `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`, object);
    case 'minItems':
      return issue('SKIFF_E_SCHEMA', at, `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`, object);
    case 'minLength':
      return issue('SKIFF_E_SCHEMA', at, 'must not be empty', object);
    case 'minimum':
    case 'maximum':
      return issue('SKIFF_E_SCHEMA', at, `must be ${String(params.comparison)} ${String(params.limit)}`, object);
    default:
      return issue('SKIFF_E_SCHEMA', at, error.message ?? `fails the ${error.keyword} rule`, object);
  }
}

/** Validates a versioned object against its version's schema. */
export function validateSchema(kind: SmiKind, version: string, raw: unknown, object: ObjectRef): Issue[] {
  const validate = validatorFor(kind, version);
  if (!validate) return [];
  if (validate(raw)) return [];
  return (validate.errors ?? []).map((e) => toIssue(kind, version, e, object));
}
