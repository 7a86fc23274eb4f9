/**
 * Reuse of the Services-and-pods part between builds (build.ts): a topology built on the
 * previous build's nodes is exactly the one built from scratch, whatever SMI objects come and
 * go over the same Services and pods; nodes are shared, never changed.
 */
import { equal, notEqual } from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSnapshots, inNewArrays as fresh } from '../../test/support/golden.ts';
import { buildTopology } from './build.ts';
import type { Snapshot } from './snapshot.ts';

const cases = goldenSnapshots();
const json = (s: Snapshot) => JSON.stringify(buildTopology(s));

test('over the same Services and pods, any SMI objects give the topology a build from scratch gives', () => {
  let compared = 0;
  for (const base of cases) {
    // Every other case's SMI objects in turn on this case's Services and pods (splits appear,
    // move and disappear; roots gain and lose their split).
    for (const other of cases) {
      const next: Snapshot = { ...base, smi: other.smi };
      buildTopology(base);
      const reused = json(next);
      equal(reused, json(fresh(next)), `${base.services.map((s) => s.name).join(',')} with the SMI objects of another case`);
      compared++;
    }
  }
  equal(compared, cases.length * cases.length);
});

test('a weight edit shares every pod and every Service but the split root', () => {
  const base = cases.find((c) => c.smi.some((o) => o.kind === 'TrafficSplit' && o.hub)) as Snapshot;
  const first = buildTopology(base);
  const second = buildTopology({ ...base, smi: [...base.smi] });
  equal(second.pods, first.pods, 'the pods array itself');
  const roots = new Set(first.services.filter((s) => s.split).map((s) => s.key));
  for (const [i, s] of second.services.entries()) {
    if (roots.has(s.key)) notEqual(s, first.services[i], 'a root is a copy carrying its split');
    else equal(s, first.services[i]);
  }
  equal(buildTopology(fresh(base)).pods === first.pods, false, 'new input arrays: built again');
});
