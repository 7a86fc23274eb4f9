/**
 * An immutable map whose next version costs what changed, not what it holds: versions share
 * one base Map, and each carries a small overlay of the keys set or removed since that base.
 * When the overlay outgrows a sixteenth of the base (at least 256 keys) the next version is
 * flattened into a new base. The model's and the translation's pod indexes are these: a pod
 * turning ready in a mesh of 50,000 makes a version with one key changed, where copying or
 * rebuilding the index took ~10–25 ms each (bench/rebuild).
 *
 * Iteration gives the base's order, a replaced key in its place, added keys after.
 */
const GONE: unique symbol = Symbol('gone');

export class LayeredMap<K, V> implements Iterable<[K, V]> {
  private readonly base: ReadonlyMap<K, V>;
  private readonly overlay: ReadonlyMap<K, V | typeof GONE>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, overlay: ReadonlyMap<K, V | typeof GONE>, size: number) {
    this.base = base;
    this.overlay = overlay;
    this.size = size;
  }

  /** A version holding `entries` (a Map given here is owned by the result: it must not change after). */
  static of<K, V>(entries: Map<K, V> | Iterable<[K, V]>): LayeredMap<K, V> {
    const base = entries instanceof Map ? entries : new Map(entries);
    return new LayeredMap(base, new Map(), base.size);
  }

  get(key: K): V | undefined {
    const over = this.overlay.get(key);
    if (over !== undefined) return over === GONE ? undefined : over;
    return this.base.get(key);
  }

  has(key: K): boolean {
    const over = this.overlay.get(key);
    return over === undefined ? this.base.has(key) : over !== GONE;
  }

  /** The next version: `set` entries put (after `remove` keys are taken out); this version stays as it is. */
  with(set: Iterable<readonly [K, V]>, remove: Iterable<K> = []): LayeredMap<K, V> {
    const overlay = new Map(this.overlay);
    let size = this.size;
    for (const key of remove) {
      if (!this.hasIn(overlay, key)) continue;
      size--;
      if (this.base.has(key)) overlay.set(key, GONE);
      else overlay.delete(key);
    }
    for (const [key, value] of set) {
      if (!this.hasIn(overlay, key)) size++;
      overlay.set(key, value);
    }
    if (overlay.size <= Math.max(256, this.base.size >> 4)) return new LayeredMap(this.base, overlay, size);
    const flat = new Map(this.base);
    for (const [key, value] of overlay) {
      if (value === GONE) flat.delete(key);
      else flat.set(key, value);
    }
    return new LayeredMap(flat, new Map(), flat.size);
  }

  private hasIn(overlay: ReadonlyMap<K, V | typeof GONE>, key: K): boolean {
    const over = overlay.get(key);
    return over === undefined ? this.base.has(key) : over !== GONE;
  }

  *entries(): IterableIterator<[K, V]> {
    const overlay = this.overlay;
    if (overlay.size === 0) {
      yield* this.base;
      return;
    }
    for (const [key, value] of this.base) {
      const over = overlay.get(key);
      if (over === undefined) yield [key, value];
      else if (over !== GONE) yield [key, over];
    }
    for (const [key, over] of overlay) if (over !== GONE && !this.base.has(key)) yield [key, over];
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
