/**
 * A translation built on the previous one (translate.ts, "Incremental rebuilds") gives every
 * proxy exactly the config a translation from scratch gives, and reuses what the change left
 * alone: over every golden case's Services and pods, with every other case's SMI objects.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deepFreeze, GOLDEN_DIR, inNewArrays as fresh, loadCase } from '../../test/support/golden.ts';
import { buildTopology, type PodInput, type Snapshot } from '../model/index.ts';
import type { Demand } from './outbound.ts';
import { MeshTranslation } from './translate.ts';

const cases = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.in.yaml')).sort().map((f) => deepFreeze(loadCase(join(GOLDEN_DIR, f))));

/**
 * Every proxy's config, as the controller asks (one demand per proxy, the same each time): in
 * turn every Service, on demand the first Service of the mesh, on demand all of them with TCP.
 */
function configsOf(t: MeshTranslation): string[] {
  const keys = t.topology.services.map((s) => s.key);
  const demands: (Demand | undefined)[] = [undefined, { services: new Set(keys.slice(0, 1)), tcp: false }, { services: new Set(keys), tcp: true }];
  return [...t.proxyIds()].map((id, i) => JSON.stringify(t.configOf(id, demands[i % demands.length])));
}

test('built on the previous translation, every proxy gets the config a translation from scratch gives', () => {
  let compared = 0;
  let reusedConfigs = 0;
  for (const base of cases) {
    // Every other case's SMI objects; and this case's own without its TrafficTargets (the same
    // routes and policies, other access rules: only the inbound halves change).
    const variants = [...cases.map((c) => c.smi), base.smi.filter((o) => o.kind !== 'TrafficTarget')];
    for (const smi of variants) {
      const next: Snapshot = { ...base, smi };
      const scratch = configsOf(new MeshTranslation(buildTopology(fresh(next))));
      // The model's reuse holds base's Services and pods from here on (one build is remembered).
      const before = new MeshTranslation(buildTopology(base));
      const previous = configsOf(before);
      const reused = new MeshTranslation(buildTopology(next), before);
      equal(reused.topology.pods, before.topology.pods, 'the same pods: the reuse path is taken');
      const got = configsOf(reused);
      deepStrictEqual(got, scratch);
      compared += scratch.length;
      reusedConfigs += got.filter((c, i) => c === previous[i]).length;
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
    for (const [i, pod] of base.pods.slice(0, 4).entries()) {
      const changes: PodInput[][] = [
        base.pods.filter((_, j) => j !== i),
        base.pods.map((p, j) => (j === i ? { ...p, ready: !p.ready } : p)),
        base.pods.map((p, j) => (j === i ? { ...p, labels: { moved: 'elsewhere' } } : p)),
        [...base.pods, { ...pod, name: `${pod.name}-clone`, ip: pod.ip ? '10.99.99.99' : undefined }],
      ];
      for (const pods of changes) {
        const next: Snapshot = { ...base, pods };
        const scratch = configsOf(new MeshTranslation(buildTopology(fresh(next))));
        const before = new MeshTranslation(buildTopology(base));
        const previous = configsOf(before);
        const reused = new MeshTranslation(buildTopology(next), before);
        const got = configsOf(reused);
        deepStrictEqual(got, scratch, `${pod.name}`);
        compared += got.length;
        kept += got.filter((c, k) => c === previous[k]).length;
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
  const scratch = configsOf(new MeshTranslation(buildTopology(fresh(next))));
  const before = new MeshTranslation(buildTopology(base));
  configsOf(before);
  const reused = new MeshTranslation(buildTopology(next), before);
  ok(scratch.some((c) => c.includes('/sa/someone-else') && c.includes('by-slice')));
  deepStrictEqual(configsOf(reused), scratch);
});
