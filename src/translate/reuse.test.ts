/**
 * A translation built on the previous one (translate.ts, "Incremental rebuilds") gives every
 * proxy exactly the config a translation from scratch gives, and reuses what the change left
 * alone: over every golden case's Services and pods, with every other case's SMI objects.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { deepFreeze, goldenSnapshots, inNewArrays as fresh, onePodChanged, oneServiceChanged, oneSliceChanged } from '../../test/support/golden.ts';
import { buildTopology, type PodInput, type Snapshot } from '../model/index.ts';
import type { Demand } from './outbound.ts';
import { MeshTranslation } from './translate.ts';

const cases = goldenSnapshots();

/**
 * Every proxy's config, as the controller asks (one demand per proxy, the same each time): in
 * turn every Service, on demand the first Service of the mesh, on demand all of them with TCP.
 */
function configsOf(t: MeshTranslation): string[] {
  const keys = t.topology.services.map((s) => s.key);
  const demands: (Demand | undefined)[] = [undefined, { services: new Set(keys.slice(0, 1)), tcp: false }, { services: new Set(keys), tcp: true }];
  return [...t.proxyIds()].map((id, i) => JSON.stringify(t.configOf(id, demands[i % demands.length])));
}

/**
 * `base`, then `next` translated on it, against `next` from scratch: every config (`got`, `scratch`),
 * and how many are the ones `base` gave. The model's reuse holds base's Services and pods from
 * here on (one build is remembered), so `next` takes the reuse path.
 */
function onPrevious(base: Snapshot, next: Snapshot): { got: string[]; scratch: string[]; reused: MeshTranslation; before: MeshTranslation; unchanged: number } {
  const scratch = configsOf(new MeshTranslation(buildTopology(fresh(next))));
  const before = new MeshTranslation(buildTopology(base));
  const previous = configsOf(before);
  before.serviceFor('warm.the-host-table', 'default'); // as a subscription does: the next translation may take the table over
  const reused = new MeshTranslation(buildTopology(next), before);
  const got = configsOf(reused);
  return { got, scratch, reused, before, unchanged: got.filter((c, i) => c === previous[i]).length };
}

test('built on the previous translation, every proxy gets the config a translation from scratch gives', () => {
  let compared = 0;
  let reusedConfigs = 0;
  for (const base of cases) {
    // Every other case's SMI objects; and this case's own without its TrafficTargets (the same
    // routes and policies, other access rules: only the inbound halves change).
    const variants = [...cases.map((c) => c.smi), base.smi.filter((o) => o.kind !== 'TrafficTarget')];
    for (const smi of variants) {
      const { got, scratch, reused, before, unchanged } = onPrevious(base, { ...base, smi });
      equal(reused.topology.pods, before.topology.pods, 'the same pods: the reuse path is taken');
      deepStrictEqual(got, scratch);
      compared += scratch.length;
      reusedConfigs += unchanged;
    }
  }
  ok(reusedConfigs > 0, 'some configs were unchanged');
  ok(compared > 1000, `${compared} configs compared`);
});

test('a weight edit rebuilds only the split root\'s entry, and reuses the configs of proxies that do not call it', () => {
  const base = cases.find((c) => c.smi.some((o) => o.kind === 'TrafficSplit' && o.hub)) as Snapshot;
  const topology = buildTopology(base);
  const before = new MeshTranslation(topology);
  const onDemand = (t: MeshTranslation, id: string) => t.configOf(id, { services: new Set(), tcp: false });
  const configs = new Map([...before.proxyIds()].map((id) => [id, onDemand(before, id)]));
  const root = topology.splits.find((s) => s.active)?.root as string;
  const edited = base.smi.map((o) => (o.kind === 'TrafficSplit' && o.hub ? { ...o, hub: { ...o.hub, spec: { ...(o.hub.spec as object), backends: ((o.hub.spec as { backends: { service: string; weight: number }[] }).backends).map((b, i) => ({ ...b, weight: i === 0 ? b.weight + 7 : b.weight })) } } } : o));
  const after = new MeshTranslation(buildTopology({ ...base, smi: edited as Snapshot['smi'] }), before);
  deepStrictEqual([...after.outbound.rebuiltEntries() ?? []], [root]);
  for (const id of after.proxyIds()) equal(onDemand(after, id), configs.get(id), `${id}: calls nothing, the very same config object`);
});

test('after one pod changed, every proxy gets the config a translation from scratch gives, and the others keep theirs', () => {
  let compared = 0;
  let kept = 0;
  for (const base of cases) {
    for (const i of base.pods.slice(0, 4).keys()) {
      for (const change of onePodChanged(base.pods, i)) {
        const { got, scratch, unchanged } = onPrevious(base, { ...base, pods: change.pods });
        deepStrictEqual(got, scratch, change.what);
        compared += got.length;
        kept += unchanged;
      }
    }
  }
  ok(compared > 500 && kept > 0, `${compared} configs compared, ${kept} unchanged`);
});

test('after an EndpointSlice changed (alone, or with the pod it names), every proxy gets the config a translation from scratch gives', () => {
  let compared = 0;
  let kept = 0;
  for (const golden of cases) {
    const pod = golden.pods.find((p) => p.meshed && p.ip);
    if (!pod) continue;
    const base: Snapshot = {
      ...golden,
      services: [...golden.services, { namespace: pod.namespace, name: 'by-slices', ports: [{ name: 'http', port: 8081 }] }],
      endpointSlices: [...golden.endpointSlices, { namespace: pod.namespace, name: 'by-slices-1', service: 'by-slices', ports: [{ name: 'http', port: 8081 }], endpoints: [{ addresses: [pod.ip as string], pod: pod.name, ready: true }] }],
    };
    const i = base.endpointSlices.length - 1;
    const podChanges = [{ what: 'alone', pods: base.pods }, ...onePodChanged(base.pods, base.pods.indexOf(pod))];
    for (const change of oneSliceChanged(base.endpointSlices, i)) {
      for (const podChange of podChanges) {
        const { got, scratch, unchanged } = onPrevious(base, { ...base, endpointSlices: change.endpointSlices, pods: podChange.pods });
        deepStrictEqual(got, scratch, `${change.what}, ${podChange.what}`);
        compared += got.length;
        kept += unchanged;
      }
    }
  }
  ok(compared > 500 && kept > 0, `${compared} configs compared, ${kept} unchanged`);
});

test('after a Service changed (removed, reselected, renumbered, readdressed, cloned), every proxy gets the config a translation from scratch gives, and hosts name the same Services', () => {
  let compared = 0;
  let kept = 0;
  for (const base of cases) {
    for (const i of base.services.keys()) {
      for (const change of oneServiceChanged(base.services, i, base.pods)) {
        const next = { ...base, services: change.services };
        const { got, scratch, reused, before, unchanged } = onPrevious(base, next);
        deepStrictEqual(got, scratch, change.what);
        ok(reused.topology.pods !== before.topology.pods, 'the update path was taken');
        const svc = base.services[i] as Snapshot['services'][number];
        if (change.what.endsWith('cloned')) {
          // Entries are ordered by key, not by a position an added Service would shift: only the new one is built.
          const carried = svc.ports.some((p) => (p.protocol ?? 'TCP').toUpperCase() !== 'UDP');
          deepStrictEqual([...reused.outbound.rebuiltEntries() ?? []], carried ? [`${svc.namespace}/${svc.name}-clone`] : [], change.what);
        }
        // The host table: every Service's names and address, before and after the change, resolve as from scratch.
        const fromScratch = new MeshTranslation(buildTopology(fresh(next)));
        for (const s of [...base.services, ...change.services]) {
          for (const host of [`${s.name}.${s.namespace}`, `${s.name}-clone.${s.namespace}`, ...(s.clusterIP ? [s.clusterIP] : []), '10.96.99.99', '10.96.99.98']) {
            equal(reused.serviceFor(host, s.namespace), fromScratch.serviceFor(host, s.namespace), `${change.what}: ${host}`);
          }
        }
        compared += got.length;
        kept += unchanged;
      }
    }
  }
  ok(compared > 500 && kept > 0, `${compared} configs compared, ${kept} unchanged`);
});

test('a pod an EndpointSlice names changes: the Service its slice belongs to is built again, with the pod\'s new identity', () => {
  const sample = cases.find((c) => c.pods.some((p) => p.meshed && p.ip)) as Snapshot;
  const pod = sample.pods.find((p) => p.meshed && p.ip) as PodInput;
  const base: Snapshot = deepFreeze({
    ...sample,
    services: [...sample.services, { namespace: pod.namespace, name: 'by-slice', ports: [{ name: 'http', port: 8081 }] }],
    endpointSlices: [...sample.endpointSlices, { namespace: pod.namespace, name: 'by-slice-1', service: 'by-slice', ports: [{ name: 'http', port: 8081 }], endpoints: [{ addresses: [pod.ip as string], pod: pod.name, ready: true }] }],
  });
  const next: Snapshot = { ...base, pods: base.pods.map((p) => (p === pod ? { ...p, serviceAccount: 'someone-else' } : p)) };
  const { got, scratch } = onPrevious(base, next);
  ok(scratch.some((c) => c.includes('/sa/someone-else') && c.includes('by-slice')));
  deepStrictEqual(got, scratch);
});
