/**
 * api: the SMI API layer. Pure (no I/O): types for every SMI kind and version, the structural
 * schemas that are the single source of truth for both validation and smi-crds/, semantic
 * validation with stable codes, and lossless conversion of every version to one hub.
 *
 *   YAML/JSON document ──► parseSmiObject ──► { hub, issues }
 *                             │  schema (ajv) + semantic rules
 *                             └► toHub / fromHub / convert   (convert/)
 */
export * from './meta.ts';
export * from './parse.ts';
export { convert, fromHub, toHub, ConversionError, PRESERVE_ANNOTATION } from './convert/index.ts';
export { SCHEMAS, HTTP_METHODS, type StructuralSchema } from './schemas/index.ts';
export { parseQuantityMilli, formatMilli } from './convert/quantity.ts';
export type * from './types/common.ts';
export type * from './types/hub.ts';
export type * from './types/split.ts';
export type * from './types/access.ts';
export type * from './types/specs.ts';
export type * from './types/metrics.ts';
export type * from './types/policy.ts';
export { parseDuration } from './validate/policy.ts';
