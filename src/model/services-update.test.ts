/**
 * An updated Services-and-pods build (services-update.ts) is exactly a build from scratch:
 * over every golden case, each pod in turn removed, flipped ready/unready, relabelled, and
 * cloned under a new name; each EndpointSlice removed, flipped, emptied and cloned, alone and
 * with each pod change; each Service removed, reselected, renumbered, readdressed and cloned,
 * alone and with a pod change; unchanged pods and Services keep their very nodes.
 */
import { equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSnapshots, inNewArrays as fresh, onePodChanged, oneServiceChanged, oneSliceChanged } from '../../test/support/golden.ts';
import { buildTopology } from './build.ts';
import { podsUpdatedFrom, servicesChangedIn } from './services-update.ts';
import type { PodInput, Snapshot } from './snapshot.ts';

const cases = goldenSnapshots();

/** `next` built right after `base` equals `next` built from scratch; what the second build was. */
function builtOnBase(base: Snapshot, next: Snapshot, what: string): { update: boolean; servicesChanged: boolean } {
  const scratch = JSON.stringify(buildTopology(fresh(next)));
  const before = buildTopology(base);
  const after = buildTopology(next);
  equal(JSON.stringify(after), scratch, what);
  return { update: podsUpdatedFrom(after.pods) === before.pods, servicesChanged: servicesChangedIn(after.pods) };
}

test('updated for one changed pod, the topology is the one a build from scratch gives', () => {
  let updates = 0;
  for (const base of cases) {
    for (const v of base.pods.flatMap((_, i) => onePodChanged(base.pods, i))) {
      if (builtOnBase(base, { ...base, pods: v.pods }, v.what).update) updates++;
    }
  }
  ok(updates > 100, `${updates} builds were updates`);
});

test('updated for a changed EndpointSlice, alone or with a changed pod, the topology is the one a build from scratch gives', () => {
  // Every case gets a Service without a selector, with a slice naming its first pod and one naming an address only.
  let updates = 0;
  let compared = 0;
  for (const golden of cases) {
    const pod = golden.pods[0];
    const namespace = pod?.namespace ?? golden.services[0]?.namespace ?? 'default';
    const base: Snapshot = {
      ...golden,
      services: [...golden.services, { namespace, name: 'by-slices', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }],
      endpointSlices: [
        ...golden.endpointSlices,
        { namespace, name: 'by-slices-a', service: 'by-slices', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: [pod?.ip ?? '10.98.0.1'], ready: true, ...(pod ? { pod: pod.name } : {}) }] },
        { namespace, name: 'by-slices-b', service: 'by-slices', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['10.98.0.2'], ready: false }] },
      ],
    };
    const podChanges = [{ what: 'no pod change', pods: base.pods }, ...base.pods.flatMap((_, i) => onePodChanged(base.pods, i))];
    for (const sliceChange of base.endpointSlices.flatMap((_, i) => oneSliceChanged(base.endpointSlices, i))) {
      for (const podChange of podChanges) {
        if (builtOnBase(base, { ...base, pods: podChange.pods, endpointSlices: sliceChange.endpointSlices }, `${sliceChange.what}, ${podChange.what}`).update) updates++;
        compared++;
      }
    }
  }
  ok(updates === compared && updates > 1000, `${updates} of ${compared} builds were updates`);
});

test('updated for a changed Service, alone or with a changed pod, the topology is the one a build from scratch gives', () => {
  let updates = 0;
  let compared = 0;
  for (const base of cases) {
    for (const i of base.services.keys()) {
      for (const change of oneServiceChanged(base.services, i, base.pods)) {
        const podChanges = [{ what: 'no pod change', pods: base.pods }, ...base.pods.slice(0, 3).flatMap((_, k) => onePodChanged(base.pods, k))];
        for (const podChange of podChanges) {
          const built = builtOnBase(base, { ...base, services: change.services, pods: podChange.pods }, `${change.what}, ${podChange.what}`);
          if (built.update && built.servicesChanged) updates++;
          compared++;
        }
      }
    }
  }
  ok(updates === compared && updates > 1000, `${updates} of ${compared} builds were updates`);
});

test('a Service changed: the pods it did not and does not select, and the other Services, keep their nodes', () => {
  const base = cases.find((c) => c.pods.length >= 4 && c.services.filter((s) => s.selector).length >= 3) as Snapshot;
  const before = buildTopology(base);
  const changed = base.services.find((s) => s.selector) as Snapshot['services'][number];
  const after = buildTopology({ ...base, services: base.services.map((s) => (s === changed ? { ...s, clusterIP: '10.96.99.97' } : s)) });
  equal(podsUpdatedFrom(after.pods), before.pods);
  const selected = new Set((before.services.find((s) => s.name === changed.name)?.ports ?? []).flatMap((p) => p.endpoints.map((e) => e.pod)));
  ok(selected.size > 0 && selected.size < after.pods.length);
  for (const pod of after.pods) equal(pod === before.pods.find((p) => p.key === pod.key), !selected.has(pod.key), pod.key);
  for (const s of after.services) if (!s.split) equal(s === before.services.find((b) => b.key === s.key), s.name !== changed.name, s.key);
});

test('a pod turning unready: the other pods, and the Services not selecting it, keep their nodes', () => {
  const base = cases.find((c) => c.pods.length >= 4 && c.services.length >= 3) as Snapshot;
  const before = buildTopology(base);
  const changed = base.pods[0] as PodInput;
  const after = buildTopology({ ...base, pods: base.pods.map((p) => (p === changed ? { ...p, ready: !p.ready } : p)) });
  equal(podsUpdatedFrom(after.pods), before.pods);
  for (const pod of after.pods) equal(pod === before.pods.find((p) => p.key === pod.key), pod.name !== changed.name, pod.key);
  const selecting = new Set(after.services.filter((s) => s.ports.some((p) => p.endpoints.some((e) => e.pod === `${changed.namespace}/${changed.name}`))).map((s) => s.key));
  ok(selecting.size > 0);
  for (const s of after.services) equal(s === before.services.find((b) => b.key === s.key), !selecting.has(s.key) && !s.split, s.key);
});
