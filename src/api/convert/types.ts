/** The shape every kind's converter has: read a version into hub spec, write hub spec as a version. */
import type { Preserved } from '../types/hub.ts';
import type { PreservePayload } from './preserve.ts';

export type Json = Record<string, unknown>;

export interface ReadResult<S> {
  spec: S;
  /** Spelling details of the version read, plus hints carried in from other versions. */
  hints: Preserved;
}

export interface WriteResult {
  /** Top-level fields of the versioned object other than apiVersion, kind, metadata and status. */
  fields: Json;
  /** Hub content the version could not express. */
  lost: Json;
  /** Hints the version did not use. */
  hints: Preserved;
}

export interface KindConverter<S> {
  read(raw: Json, version: string, payload: PreservePayload): ReadResult<S>;
  write(spec: S, hints: Preserved | undefined, version: string): WriteResult;
}

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
}

export function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

export function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

/** Copies `value` into `target[key]` only when it is defined, keeping absence as absence. */
export function put<T extends object>(target: T, key: string, value: unknown): T {
  if (value !== undefined) (target as Json)[key] = clone(value);
  return target;
}
