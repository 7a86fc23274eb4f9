/**
 * A translation built on the previous one (translate.ts, "Incremental rebuilds") gives every
 * proxy exactly the config a translation from scratch gives, and reuses what the change left
 * alone: over every golden case's Services and pods, with every other case's SMI objects.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deepFreeze, GOLDEN_DIR, loadCase } from '../../test/support/golden.ts';
import { buildTopology, type Snapshot } from '../model/index.ts';
import type { Demand } from './outbound.ts';
import { MeshTranslation } from './translate.ts';

const cases = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.in.yaml')).sort().map((f) => deepFreeze(loadCase(join(GOLDEN_DIR, f))));
const fresh = (s: Snapshot): Snapshot => ({ ...s, services: [...s.services], pods: [...s.pods], endpointSlices: [...s.endpointSlices], namespaces: [...s.namespaces], smi: [...s.smi] });

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
