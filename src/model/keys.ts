/** Keys and identities used across the model. */

export function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export { formatSpiffeId as spiffeId } from '../lib/spiffe.ts';

export function byKey<T extends { key: string }>(a: T, b: T): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedUnique<T extends string | number>(values: Iterable<T>): T[] {
  return [...new Set(values)].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : compareStrings(String(a), String(b))));
}
