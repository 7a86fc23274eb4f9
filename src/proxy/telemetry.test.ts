import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AGGREGATES, OVERFLOW_WORKLOAD, Telemetry, type RequestLabels } from './telemetry.ts';

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

test('a caller claiming a new workload per request cannot grow the metrics without end: past the cap they count on one overflow series', async () => {
  const telemetry = new Telemetry();
  const claimed = (i: number): RequestLabels => ({ ...labels('web'), direction: 'inbound', source_workload: `w${i}` });
  for (let i = 0; i < MAX_AGGREGATES + 5000; i++) telemetry.observe(claimed(i), 200, 1);
  const text = await telemetry.registry.metrics();
  const series = text.split('\n').filter((l) => l.startsWith('skiff_requests_total{'));
  assert.ok(series.length <= MAX_AGGREGATES + 1, `${series.length} series`);
  const overflow = series.filter((l) => l.includes('direction="inbound"') && l.includes(`source_workload="${OVERFLOW_WORKLOAD}"`));
  assert.deepEqual(overflow.map((l) => l.split(' ').at(-1)), ['5000'], 'the 5,000 past the cap on one series');
});

test('datagrams count per application port and result', async () => {
  const telemetry = new Telemetry();
  telemetry.countDatagram(9093, 'relayed');
  telemetry.countDatagram(9093, 'relayed');
  telemetry.countDatagram(9093, 'denied');
  telemetry.countDatagram(5353, 'relayed');
  const text = await telemetry.registry.metrics();
  assert.match(text, /skiff_udp_datagrams_total\{port="9093",result="relayed"\} 2\n/);
  assert.match(text, /skiff_udp_datagrams_total\{port="9093",result="denied"\} 1\n/);
  assert.match(text, /skiff_udp_datagrams_total\{port="5353",result="relayed"\} 1\n/);
});
