/**
 * A latency histogram that merges exactly: fixed logarithmic buckets (the DDSketch mapping),
 * so the histograms of many sidecars and many report windows add up bucket by bucket to the
 * histogram of all their requests together, and every quantile read from it is within 1 %
 * (relative) of a value that really occurred at that rank.
 *
 * Bucket i holds values in (γ^(i-1), γ^i] with γ = (1 + α) / (1 − α), α = 0.01; its value is
 * 2γ^i / (γ + 1), at most α away from anything in it. Milliseconds from 1 µs to 134 hours
 * fit in indices −345 … 1000; smaller values count in the lowest bucket, larger in the highest.
 * Only occupied buckets are stored and sent, as sorted `[index, count]` pairs.
 */

export const LATENCY_RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + LATENCY_RELATIVE_ACCURACY) / (1 - LATENCY_RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
export const MIN_LATENCY_BUCKET = Math.ceil(Math.log(0.001) / LOG_GAMMA);
export const MAX_LATENCY_BUCKET = 1000;

/** The bucket a latency in milliseconds counts in. */
export function latencyBucket(ms: number): number {
  if (!(ms > 0.001)) return MIN_LATENCY_BUCKET;
  return Math.min(MAX_LATENCY_BUCKET, Math.ceil(Math.log(ms) / LOG_GAMMA));
}

/** The value a bucket stands for, in milliseconds. */
export function latencyBucketValue(index: number): number {
  return (2 * GAMMA ** index) / (GAMMA + 1);
}

export type BucketPairs = [number, number][];

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  total = 0;

  add(ms: number, count = 1): void {
    this.addBucket(latencyBucket(ms), count);
  }

  /** Adds `count` to bucket `index` (a bucket from the wire or another histogram). */
  addBucket(index: number, count: number): void {
    this.counts.set(index, (this.counts.get(index) ?? 0) + count);
    this.total += count;
  }

  /** Adds buckets as sent on the wire (or as another histogram's `pairs()`). */
  merge(pairs: BucketPairs): void {
    for (const [i, n] of pairs) this.addBucket(i, n);
  }

  /** Occupied buckets, sorted by index. */
  pairs(): BucketPairs {
    return [...this.counts].sort((a, b) => a[0] - b[0]);
  }

  get size(): number {
    return this.counts.size;
  }

  /**
   * The value at quantile q (0…1): the bucket holding the element of rank ⌊q·(n − 1)⌋ in
   * sorted order (the lower nearest rank). Undefined for an empty histogram.
   */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (this.total - 1));
    let seen = 0;
    for (const [i, n] of this.pairs()) {
      seen += n;
      if (seen > rank) return latencyBucketValue(i);
    }
    return undefined;
  }
}
