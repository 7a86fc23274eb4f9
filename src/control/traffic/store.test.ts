import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficSeries } from '../../config/index.ts';
import { ENTRY_BYTES, RETENTION_MS, SLOT_MS, TrafficStore } from './store.ts';

const reporter = { namespace: 'shop', pod: 'web-0', kind: 'Deployment', name: 'web' };
const series = (success: number, buckets = 1): TrafficSeries => ({ direction: 'inbound', peer: {}, success, failure: 0, denied: 0, latency: Array.from({ length: buckets }, (_, i) => [i, 1] as [number, number]) });
const T0 = 1_800_000_000_000;

test('a window holds the reports that arrived within it; older ones expire after the retention', () => {
  const store = new TrafficStore();
  store.ingest(reporter, [series(1)], T0);
  store.ingest(reporter, [series(2)], T0 + 20_000);
  const sum = (w: number, now: number) => store.window(w, now).entries.reduce((n, e) => n + e.success, 0);
  equal(sum(30_000, T0 + 25_000), 3);
  equal(sum(10_000, T0 + 25_000), 2);
  equal(sum(RETENTION_MS, T0 + RETENTION_MS + 10_000), 2, 'the first report expired');
  equal(store.window(30_000, T0 + 25_000).coveredMs, 30_000);
});

test('past its byte budget the store drops its oldest slots first and says how much it still covers', () => {
  const store = new TrafficStore({ maxBytes: 10 * (ENTRY_BYTES + 8) });
  for (let slot = 0; slot < 6; slot++) store.ingest(reporter, [series(slot), series(slot)], T0 + slot * SLOT_MS);
  ok(store.bytes <= 10 * (ENTRY_BYTES + 8));
  equal(store.size, 10);
  equal(store.evicted, 2);
  const now = T0 + 5 * SLOT_MS + 1;
  const window = store.window(60_000, now);
  deepStrictEqual([...new Set(window.entries.map((e) => e.success))], [1, 2, 3, 4, 5], 'the newest traffic is always kept');
  equal(window.coveredMs, now - (T0 + SLOT_MS), 'complete only since the evicted slot ended');
});

test('one report bigger than the whole budget is cut and the loss counted', () => {
  const store = new TrafficStore({ maxBytes: 3 * (ENTRY_BYTES + 8 * 10) });
  const result = store.ingest(reporter, Array.from({ length: 5 }, () => series(1, 10)), T0);
  deepStrictEqual(result, { stored: 3, dropped: 2 });
  equal(store.dropped, 2);
});
