/**
 * Carrying what a version cannot express through another version. When an object is written
 * in a version that lacks some of its content (a v1alpha4 split's `matches` seen as v1alpha2,
 * a v1alpha2 target's destination port seen as v1alpha3) or its spelling (v1alpha1 quantities),
 * that part is kept in one annotation on the converted object and restored on the way back:
 * the same technique Kubernetes uses for its own API versions.
 */
import type { ObjectMeta } from '../types/common.ts';
import type { Preserved } from '../types/hub.ts';

export const PRESERVE_ANNOTATION = 'conversion.skiff.dev/preserved';

export interface PreservePayload {
  /** Hub spec content the written version cannot express, by kind-specific key. */
  lost?: Record<string, unknown>;
  /** Spelling details of other versions. */
  hints?: Preserved;
  /** The object had no annotations before this one was added. */
  noAnnotations?: true;
}

export function isEmpty(value: object | undefined): boolean {
  return value === undefined || Object.keys(value).length === 0;
}

/** Removes Skiff's annotation from a copy of the metadata and returns its payload. */
export function extractPreserved(metadata: ObjectMeta): { metadata: ObjectMeta; payload: PreservePayload } {
  const copy = structuredClone(metadata ?? {});
  const raw = copy.annotations?.[PRESERVE_ANNOTATION];
  if (raw === undefined || !copy.annotations) return { metadata: copy, payload: {} };
  let payload: PreservePayload = {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) payload = parsed as PreservePayload;
  } catch {
    // A hand-edited, unreadable annotation carries nothing; the object's own fields still apply.
  }
  delete copy.annotations[PRESERVE_ANNOTATION];
  if (payload.noAnnotations && Object.keys(copy.annotations).length === 0) delete copy.annotations;
  return { metadata: copy, payload };
}

/** Adds the payload as an annotation to a copy of the metadata, when there is anything to carry. */
export function attachPreserved(metadata: ObjectMeta, lost: Record<string, unknown>, hints: Preserved): ObjectMeta {
  const copy = structuredClone(metadata);
  if (isEmpty(lost) && isEmpty(hints)) return copy;
  const payload: PreservePayload = {
    ...(isEmpty(lost) ? {} : { lost }),
    ...(isEmpty(hints) ? {} : { hints }),
    ...(copy.annotations === undefined ? { noAnnotations: true as const } : {}),
  };
  copy.annotations = { ...copy.annotations, [PRESERVE_ANNOTATION]: JSON.stringify(payload) };
  return copy;
}

/** Drops the keys a version consumed from the hints; what remains must travel in the annotation. */
export function without(hints: Preserved | undefined, keys: readonly (keyof Preserved)[]): Preserved {
  const rest: Preserved = { ...hints };
  for (const key of keys) delete rest[key];
  for (const key of Object.keys(rest) as (keyof Preserved)[]) if (rest[key] === undefined) delete rest[key];
  return rest;
}
