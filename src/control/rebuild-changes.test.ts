/**
 * The controller's rebuild asks only the proxies a change can reach (MeshTranslation.changes):
 * over long random walks of changes (pods, Services, slices, split weights, subscriptions),
 * every proxy's config after every rebuild equals what a translation from scratch gives it,
 * and the proxies that left are gone; and a weight edit asks no proxy but the split's callers.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSnapshots, inNewArrays as fresh } from '../../test/support/golden.ts';
import { random, step, weightEdit } from '../../test/support/walk.ts';
import { buildTopology, type Snapshot } from '../model/index.ts';
import { MeshTranslation, type Demand } from '../translate/index.ts';
import { MeshController } from './controller.ts';

const STEPS = 30;
const NOTHING: Demand = { services: new Set(), tcp: false };

/** Every proxy's config as the controller holds it, and as a translation from scratch makes it for the same demands. */
function compare(controller: MeshController, snapshot: Snapshot, where: string): void {
  const scratch = new MeshTranslation(buildTopology(fresh(snapshot)));
  const expected = new Map([...scratch.proxyIds()].map((id) => [id, JSON.stringify(scratch.configOf(id, controller.proxies.get(id)?.demand ?? NOTHING))]));
  const held = new Map([...controller.proxies].map(([id, r]) => [id, JSON.stringify(r.config)]));
  deepStrictEqual(held, expected, where);
}

test('over 30 successive changes and subscriptions, the proxies a rebuild asks end with the configs a translation from scratch gives every proxy', () => {
  let steps = 0;
  let weightEdits = 0;
  for (const [n, base] of goldenSnapshots().flatMap((c) => [c, c]).entries()) {
    const rnd = random(7000 + n);
    const controller = new MeshController();
    let snapshot = base;
    controller.update(snapshot);
    controller.rebuild();
    const trail: string[] = [];
    for (let i = 0; i < STEPS; i++) {
      const kind = rnd();
      const ids = [...controller.proxies.keys()];
      const services = buildTopology(snapshot).services.map((s) => s.key);
      if (kind < 0.15 && ids.length > 0 && services.length > 0) {
        // A proxy subscribes to one more Service (with or without TCP up front), between rebuilds.
        const id = ids[Math.floor(rnd() * ids.length)] as string;
        const key = services[Math.floor(rnd() * services.length)] as string;
        controller.demand(id, { services: [key], tcp: rnd() < 0.3 });
        trail.push(`${id} subscribes to ${key}`);
      } else {
        const { next, what } = kind < 0.45 ? weightEdit(snapshot, rnd) : step(snapshot, rnd);
        if (what.startsWith('weights')) weightEdits++;
        trail.push(what);
        snapshot = next;
        controller.update(snapshot);
        controller.rebuild();
      }
      compare(controller, snapshot, `case ${n}, step ${i}: ${trail.join(' → ')}`);
      steps++;
    }
  }
  ok(steps > 500 && weightEdits > steps / 10, `${steps} steps, ${weightEdits} weight edits`);
});

test('a weight edit asks only the proxies whose outbound half holds the split\'s root', () => {
  const base = goldenSnapshots().find((s) => s.smi.some((o) => o.kind === 'TrafficSplit') && s.pods.length > 2 && buildTopology(s).splits.some((sp) => sp.active && sp.root !== undefined)) as Snapshot;
  const split = buildTopology(base).splits.find((sp) => sp.active && sp.root !== undefined);
  ok(split?.root);
  const root = split.root;
  const before = new MeshTranslation(buildTopology(base));
  // One proxy calls the root, the others nothing yet.
  const caller = [...before.proxyIds()][0];
  const calls: Demand = { services: new Set([root]), tcp: false };
  const demandOf = (id: string): Demand => (id === caller ? calls : NOTHING);
  for (const id of before.proxyIds()) before.configOf(id, demandOf(id));
  before.release();
  // The split's first backend weighs one more.
  const next = { ...base, smi: base.smi.map((o) => (o.hub?.kind === 'TrafficSplit' && `${o.ref.namespace}/${o.ref.name}` === split.key
    ? { ...o, hub: { ...o.hub, spec: { ...o.hub.spec, backends: o.hub.spec.backends.map((b, i) => (i === 0 ? { ...b, weight: b.weight + 1 } : b)) } } } : o)) };
  const after = new MeshTranslation(buildTopology(next), before);
  const changes = after.changes();
  ok(changes, 'built on the previous translation with the same inbound inputs');
  const callers = [...after.proxyIds()].filter((id) => demandOf(id) !== NOTHING);
  deepStrictEqual(changes.changed.sort(), callers.sort());
  ok(callers.length < after.size, `${callers.length} of ${after.size} proxies`);
  equal(new MeshTranslation(buildTopology(next), undefined).changes(), undefined);
});
