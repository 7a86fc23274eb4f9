/**
 * An updated Services-and-pods build (services-update.ts) is exactly a build from scratch:
 * over every golden case, each pod in turn removed, flipped ready/unready, relabelled, and
 * cloned under a new name; unchanged pods and Services keep their very nodes.
 */
import { equal, ok } from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deepFreeze, GOLDEN_DIR, inNewArrays as fresh, loadCase } from '../../test/support/golden.ts';
import { buildTopology } from './build.ts';
import { podsUpdatedFrom } from './services-update.ts';
import type { PodInput, Snapshot } from './snapshot.ts';

const cases = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.in.yaml')).sort().map((f) => deepFreeze(loadCase(join(GOLDEN_DIR, f))));

/** Each way one pod can change. */
function variants(pods: readonly PodInput[]): { what: string; pods: PodInput[] }[] {
  return pods.flatMap((pod, i) => {
    const with_ = (p: PodInput | undefined) => pods.flatMap((q, j) => (j === i ? (p ? [p] : []) : [q]));
    return [
      { what: `${pod.name} removed`, pods: with_(undefined) },
      { what: `${pod.name} ready=${!pod.ready}`, pods: with_({ ...pod, ready: !pod.ready }) },
      { what: `${pod.name} relabelled`, pods: with_({ ...pod, labels: { moved: 'elsewhere' } }) },
      { what: `${pod.name} cloned`, pods: [...pods, { ...pod, name: `${pod.name}-clone`, ip: pod.ip ? '10.99.99.99' : undefined }] },
    ];
  });
}

test('updated for one changed pod, the topology is the one a build from scratch gives', () => {
  let updates = 0;
  for (const base of cases) {
    for (const v of variants(base.pods)) {
      const next: Snapshot = { ...base, pods: v.pods };
      const scratch = JSON.stringify(buildTopology(fresh(next)));
      const before = buildTopology(base);
      const after = buildTopology(next);
      if (podsUpdatedFrom(after.pods) === before.pods) updates++;
      equal(JSON.stringify(after), scratch, v.what);
    }
  }
  ok(updates > 100, `${updates} builds were updates`);
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
