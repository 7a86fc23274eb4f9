import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { LATENCY_RELATIVE_ACCURACY, LatencyHistogram, MAX_LATENCY_BUCKET, MIN_LATENCY_BUCKET, latencyBucket } from './latency-histogram.ts';

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 1 | s) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const exact = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))] as number;

test('every quantile is within the relative accuracy of the exact value at the same rank', () => {
  for (const seed of [1, 2, 3]) {
    const next = random(seed);
    // Log-normal around 40 ms with a long tail: what request latencies look like.
    const values = Array.from({ length: 5000 }, () => Math.exp(Math.log(40) + 1.2 * Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next())));
    const h = new LatencyHistogram();
    for (const v of values) h.add(v);
    const sorted = values.toSorted((a, b) => a - b);
    for (const q of [0, 0.5, 0.9, 0.99, 0.999, 1]) {
      const got = h.quantile(q) as number;
      const want = exact(sorted, q);
      ok(Math.abs(got - want) / want <= LATENCY_RELATIVE_ACCURACY + 1e-9, `seed ${seed} q${q}: ${got} vs ${want}`);
    }
  }
});

test('merging the buckets of parts gives exactly the histogram of the whole', () => {
  const next = random(7);
  const values = Array.from({ length: 3000 }, () => next() * 500);
  const whole = new LatencyHistogram();
  const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
  values.forEach((v, i) => {
    whole.add(v);
    parts[i % 3]?.add(v);
  });
  const merged = new LatencyHistogram();
  for (const p of parts) merged.merge(p.pairs());
  deepStrictEqual(merged.pairs(), whole.pairs());
  equal(merged.total, 3000);
});

test('values outside the range count in the end buckets; an empty histogram has no quantile', () => {
  equal(latencyBucket(0), MIN_LATENCY_BUCKET);
  equal(latencyBucket(-5), MIN_LATENCY_BUCKET);
  equal(latencyBucket(Number.NaN), MIN_LATENCY_BUCKET);
  equal(latencyBucket(1e12), MAX_LATENCY_BUCKET);
  equal(new LatencyHistogram().quantile(0.5), undefined);
});
