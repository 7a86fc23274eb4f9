import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficMetrics } from '../control/traffic/query.ts';
import { fromQuantity, renderRows, rowOf } from './stat-view.ts';

const item = (metrics: Record<string, string>, backend?: TrafficMetrics['backend']): TrafficMetrics => ({
  kind: 'TrafficMetrics', apiVersion: 'metrics.smi-spec.io/v1alpha1', metadata: { name: 'x', creationTimestamp: '' }, timestamp: '', window: '30s',
  resource: { kind: 'TrafficSplit', name: 'web' }, ...(backend ? { backend } : {}),
  metrics: Object.entries(metrics).map(([name, value]) => ({ name, value, ...(name.startsWith('p') ? { unit: 'ms' } : {}) })),
});

test('quantities back to numbers', () => {
  equal(fromQuantity('296875m'), 296.875);
  equal(fromQuantity('12'), 12);
});

test('a TrafficSplit table: configured weight beside the observed share, success rate, rps, latencies, denials', () => {
  const rows = [
    rowOf('web', item({ p50_response_latency: '12500m', p99_response_latency: '250', success_count: '891', failure_count: '9', denied_count: '0' }, { apex: 'web', name: 'web-v1', weight: 90 })),
    rowOf('web', item({ success_count: '100', failure_count: '0', denied_count: '0', p50_response_latency: '13', p99_response_latency: '40' }, { apex: 'web', name: 'web-v2', weight: 10 })),
  ];
  deepStrictEqual(renderRows(rows, 30, false), [
    'NAME   APEX   LEAF     WEIGHT   OBSERVED   SUCCESS   RPS       LATENCY_P50   LATENCY_P99   DENIED',
    'web    web    web-v1   90%      90.0%      99.00%    30.0rps   13ms          250ms         0',
    'web    web    web-v2   10%      10.0%      100.00%   3.3rps    13ms          40ms          0',
  ]);
});

test('a resource without requests shows dashes, not zeros that look like data', () => {
  deepStrictEqual(renderRows([rowOf('idle', item({ success_count: '0', failure_count: '0', denied_count: '2' }))], 30, true), [
    'NAME   SUCCESS   RPS      LATENCY_P50   LATENCY_P99   DENIED   LATENCY_P90   SUCCESS_COUNT   FAILURE_COUNT',
    'idle   -         0.0rps   -             -             2        -             0               0',
  ]);
});
