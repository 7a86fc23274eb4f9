/**
 * Long runs of changes, as a controller sees them: each translation built on the one before,
 * over many successive changes of pods, Services and EndpointSlices (two seeded random walks per
 * golden case), never back to a build from scratch. At every step the topology, every proxy's
 * config (whole, scoped and on demand) and how hosts resolve equal a translation from scratch.
 * The single-change tests (reuse.test.ts, services-update.test.ts) cannot see state an update
 * carries on to the next one.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSnapshots, inNewArrays as fresh, onePodChanged, oneServiceChanged, oneSliceChanged } from '../../test/support/golden.ts';
import { buildTopology, podsUpdatedFrom, type Snapshot } from '../model/index.ts';
import type { Demand } from './outbound.ts';
import { MeshTranslation } from './translate.ts';

const STEPS = 40;

/** A small deterministic generator (mulberry32), so a failure names a walk that can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random change of the snapshot's Services, pods or slices (or two at once), with what it was. */
function step(s: Snapshot, rnd: () => number): { next: Snapshot; what: string } {
  const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(rnd() * list.length)];
  const podChange = () => (s.pods.length > 0 ? pick(onePodChanged(s.pods, Math.floor(rnd() * s.pods.length))) : undefined);
  const serviceChange = () => (s.services.length > 0 ? pick(oneServiceChanged(s.services, Math.floor(rnd() * s.services.length), s.pods)) : undefined);
  const sliceChange = () => (s.endpointSlices.length > 0 ? pick(oneSliceChanged(s.endpointSlices, Math.floor(rnd() * s.endpointSlices.length))) : undefined);
  const kind = rnd();
  if (kind < 0.4) {
    const c = podChange();
    return c ? { next: { ...s, pods: c.pods }, what: c.what } : { next: s, what: 'nothing' };
  }
  if (kind < 0.75) {
    const c = serviceChange();
    return c ? { next: { ...s, services: c.services }, what: c.what } : { next: s, what: 'nothing' };
  }
  if (kind < 0.85) {
    const c = sliceChange();
    return c ? { next: { ...s, endpointSlices: c.endpointSlices }, what: c.what } : { next: s, what: 'nothing' };
  }
  // A Service and a pod in one rebuild (as Argo Rollouts re-points a Service while pods turn ready).
  const a = serviceChange();
  const b = podChange();
  return { next: { ...s, ...(a ? { services: a.services } : {}), ...(b ? { pods: b.pods } : {}) }, what: `${a?.what ?? '-'} and ${b?.what ?? '-'}` };
}

/** Every proxy's config as a controller asks for it: whole, on demand for the first Services, on demand with TCP. */
function configsOf(t: MeshTranslation, demands: Map<string, Demand | undefined>): Map<string, string> {
  const keys = t.topology.services.map((s) => s.key);
  const options: (Demand | undefined)[] = [undefined, { services: new Set(keys.slice(0, 2)), tcp: false }, { services: new Set(keys.slice(-1)), tcp: true }];
  const out = new Map<string, string>();
  for (const [i, id] of [...t.proxyIds()].entries()) {
    // A proxy keeps its demand object while it asks for nothing new (the controller replaces it only on a change).
    if (!demands.has(id)) demands.set(id, options[i % options.length]);
    out.set(id, JSON.stringify(t.configOf(id, demands.get(id))));
  }
  return out;
}

/** How every Service's names and address resolve for a proxy in its namespace. */
function hostsOf(t: MeshTranslation, s: Snapshot): (string | undefined)[] {
  return s.services.flatMap((svc) => [`${svc.name}.${svc.namespace}`, ...(svc.clusterIP ? [svc.clusterIP] : [])].map((host) => t.serviceFor(host, svc.namespace)));
}

test('over 40 successive changes of pods, Services and slices, each translation built on the last equals one from scratch', () => {
  let steps = 0;
  let updates = 0;
  for (const [n, base] of goldenSnapshots().flatMap((c) => [c, c]).entries()) {
    const rnd = random(1000 + n);
    const demands = new Map<string, Demand | undefined>();
    let snapshot = base;
    let translation = new MeshTranslation(buildTopology(snapshot));
    configsOf(translation, demands);
    translation.release();
    // The walk first, uninterrupted: a build from scratch in between would end the model's chain of updates.
    const walk: { what: string; next: Snapshot; topology: string; configs: Map<string, string>; demands: Map<string, Demand | undefined>; hosts: (string | undefined)[] }[] = [];
    for (let i = 0; i < STEPS; i++) {
      const { next, what } = step(snapshot, rnd);
      const topology = buildTopology(next);
      if (podsUpdatedFrom(topology.pods) === translation.topology.pods) updates++;
      const built = new MeshTranslation(topology, translation);
      const configs = configsOf(built, demands);
      built.release();
      walk.push({ what, next, topology: JSON.stringify(topology), configs, demands: new Map(demands), hosts: hostsOf(built, next) });
      snapshot = next;
      translation = built;
    }
    for (const [i, s] of walk.entries()) {
      const where = `case ${n}, step ${i}: ${walk.slice(0, i + 1).map((w) => w.what).join(' → ')}`;
      const topology = buildTopology(fresh(s.next));
      equal(s.topology, JSON.stringify(topology), where);
      const scratch = new MeshTranslation(topology);
      deepStrictEqual(s.configs, configsOf(scratch, s.demands), where);
      deepStrictEqual(s.hosts, hostsOf(scratch, s.next), where);
      steps++;
    }
  }
  ok(steps > 1000 && updates > steps / 3, `${steps} steps, ${updates} of them updates`);
});
