/**
 * Small builders for structural OpenAPI v3 schemas (the dialect CRDs require). These schemas
 * are the single source of truth: smi-crds/ is generated from them (scripts/generate-crds.ts)
 * and ajv validates objects against them (validate/schema.ts).
 */

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  items?: StructuralSchema;
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

export function object(description: string, properties: Record<string, StructuralSchema>, required?: string[]): StructuralSchema {
  return { type: 'object', description, properties, ...(required && required.length > 0 ? { required } : {}) };
}

export function string(description: string, extra: Partial<StructuralSchema> = {}): StructuralSchema {
  return { type: 'string', description, ...extra };
}

export function integer(description: string, extra: Partial<StructuralSchema> = {}): StructuralSchema {
  return { type: 'integer', description, ...extra };
}

export function boolean(description: string): StructuralSchema {
  return { type: 'boolean', description };
}

export function array(description: string, items: StructuralSchema, extra: Partial<StructuralSchema> = {}): StructuralSchema {
  return { type: 'array', description, items, ...extra };
}

export function intOrString(description: string): StructuralSchema {
  return { description, 'x-kubernetes-int-or-string': true };
}

/** Any JSON value; the shape is checked by semantic validation (used for SMI `headers`). */
export function anyValue(description: string): StructuralSchema {
  return { description, 'x-kubernetes-preserve-unknown-fields': true };
}

/** The status Skiff writes on every SMI object. */
export const statusSchema: StructuralSchema = object('Written by Skiff; never by users.', {
  observedGeneration: integer('The generation this status describes.', { format: 'int64' }),
  conditions: array('Accepted, ResolvedRefs and Programmed, with reasons.', object('A condition.', {
    type: string('Condition type.'),
    status: string('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    reason: string('A CamelCase reason.'),
    message: string('A human-readable explanation.'),
    lastTransitionTime: string('When the status last changed.', { format: 'date-time' }),
    observedGeneration: integer('The generation this condition describes.', { format: 'int64' }),
  }, ['type', 'status']), { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  proxies: object('Proxies that applied the configuration derived from this generation.', {
    applied: integer('Proxies that acknowledged it.'),
    total: integer('Proxies it concerns.'),
  }),
});

/** Wraps a kind's top-level fields into the CRD's openAPIV3Schema. */
export function root(description: string, fields: Record<string, StructuralSchema>, required: string[] = []): StructuralSchema {
  return object(description, {
    apiVersion: string('APIVersion defines the versioned schema of this representation of an object.'),
    kind: string('Kind is a string value representing the REST resource this object represents.'),
    metadata: { type: 'object' },
    ...fields,
    status: statusSchema,
  }, required);
}
