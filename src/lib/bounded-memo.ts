/**
 * A memo of what requests repeat (the Host they name): at most `size` entries, and when full it
 * starts over, so a flood of distinct keys costs a clear now and then, never memory. Callers
 * keep only answers worth keeping (hosts found, authorities valid), so refusals never displace them.
 */
export class BoundedMemo<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.size) this.entries.clear();
    this.entries.set(key, value);
  }

  get count(): number {
    return this.entries.size;
  }
}
