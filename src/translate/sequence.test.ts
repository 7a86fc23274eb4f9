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
import { goldenSnapshots, inNewArrays as fresh } from '../../test/support/golden.ts';
import { random, step } from '../../test/support/walk.ts';
import { buildTopology, podsUpdatedFrom, type Snapshot } from '../model/index.ts';
import type { Demand } from './outbound.ts';
import { MeshTranslation } from './translate.ts';

const STEPS = 40;

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
