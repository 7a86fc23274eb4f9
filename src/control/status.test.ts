import { deepStrictEqual, equal } from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildTopology, type Snapshot } from '../model/index.ts';
import { translateAll } from '../translate/index.ts';
import { GOLDEN_DIR, loadCase } from '../../test/support/golden.ts';
import { desiredStatuses, progressOf, type ProxyProgress } from './status.ts';

const flagger = loadCase(join(GOLDEN_DIR, 'flagger-v1alpha2-initialized-all-to-primary.in.yaml'));

function statusOf(snapshot: Snapshot, stale: (id: string) => boolean, withoutRoutes: (id: string) => boolean = () => false) {
  const topology = buildTopology(snapshot);
  const proxies: ProxyProgress[] = [...translateAll(topology)].map(([id, config]) => ({
    id, upToDate: !stale(id), outbound: withoutRoutes(id) ? { services: [], clusters: [] } : config.outbound,
  }));
  const all = desiredStatuses(topology, progressOf(topology, proxies), new Map());
  const split = all.find((s) => s.kind === 'TrafficSplit' && s.name === 'podinfo');
  return { proxies: split?.status.proxies, programmed: split?.status.conditions?.find((c) => c.type === 'Programmed')?.reason, ids: proxies.map((p) => p.id) };
}

test('Programmed counts the proxies of ready pods that route the split\'s root, and each must be up to date', () => {
  const all = statusOf(flagger, () => false);
  equal(all.ids.length, 4, 'podinfo-primary, podinfo (canary), loadtester: their pods');
  deepStrictEqual(all.proxies, { applied: 4, total: 4 });
  equal(all.programmed, 'Programmed');
  const stale = all.ids[0] as string;
  deepStrictEqual(statusOf(flagger, (id) => id === stale).proxies, { applied: 3, total: 4 });
  equal(statusOf(flagger, (id) => id === stale).programmed, 'Pending');
});

test('a starting or terminating pod (not ready) does not hold a split at Pending', () => {
  const stale = statusOf(flagger, () => false).ids[0] as string;
  const notReady: Snapshot = { ...flagger, pods: flagger.pods.map((p) => (`${p.namespace}/${p.name}` === stale ? { ...p, ready: false } : p)) };
  const s = statusOf(notReady, (id) => id === stale);
  deepStrictEqual(s.proxies, { applied: 3, total: 3 });
  equal(s.programmed, 'Programmed');
});

test('a proxy that does not route the root Service is not one of the split\'s callers', () => {
  const other = statusOf(flagger, () => false).ids[1] as string;
  deepStrictEqual(statusOf(flagger, (id) => id === other, (id) => id === other).proxies, { applied: 3, total: 3 });
});
