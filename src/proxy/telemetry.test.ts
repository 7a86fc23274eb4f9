import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Telemetry, type RequestLabels } from './telemetry.ts';

const labels = (workload: string): RequestLabels => ({
  direction: 'outbound', source_namespace: 'shop', source_workload_kind: 'Deployment', source_workload: 'buyer',
  destination_namespace: 'shop', destination_workload_kind: 'Deployment', destination_workload: workload, destination_service: 'web', route: 'all',
});

test('identity-keyed counters: one description per pair, the same Prometheus series as string-keyed counting, a report series per pair', async () => {
  const telemetry = new Telemetry();
  const route = {};
  const [v1, v2] = [{}, {}];
  let described = 0;
  const describe = (workload: string) => () => {
    described++;
    return { labels: labels(workload), series: { direction: 'outbound' as const, peer: { namespace: 'shop', pod: `${workload}-0`, kind: 'Deployment', name: workload }, service: 'shop/web' } };
  };
  for (let i = 0; i < 3; i++) telemetry.count(telemetry.countersFor(route, v1, describe('web-v1')), 200, undefined, 3);
  telemetry.count(telemetry.countersFor(route, v2, describe('web-v2')), 503, 'no-healthy-upstream', 1);
  // A new config state (a new route object) describes again but counts on the same Prometheus series.
  telemetry.count(telemetry.countersFor({}, v1, describe('web-v1')), 200, undefined, 3);
  telemetry.observe(labels('web-v1'), 200, 3);
  assert.equal(described, 3);
  const text = await telemetry.registry.metrics();
  assert.match(text, /skiff_requests_total\{[^}]*destination_workload="web-v1"[^}]*status_code="200"\} 5/);
  assert.match(text, /skiff_requests_total\{[^}]*destination_workload="web-v2"[^}]*status_code="503"\} 1/);
  const series = telemetry.traffic.drain();
  assert.deepEqual(series.map((s) => [s.peer.name, s.success, s.failure, s.denied]).sort(), [['web-v1', 4, 0, 0], ['web-v2', 0, 1, 0]]);
});
