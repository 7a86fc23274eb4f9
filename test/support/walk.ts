/**
 * Seeded random walks over a snapshot, as a controller sees changes: one change of the
 * Services, pods or slices (or two at once) per step, or a TrafficSplit's weights.
 * Shared by the translation's and the controller's long-run tests.
 */
import type { Snapshot } from '../../src/model/index.ts';
import { onePodChanged, oneServiceChanged, oneSliceChanged } from './golden.ts';

/** A small deterministic generator (mulberry32), so a failure names a walk that can be replayed. */
export function random(seed: number): () => number {
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
export function step(s: Snapshot, rnd: () => number): { next: Snapshot; what: string } {
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


/** One TrafficSplit's weights drawn anew (a canary step), or nothing when the snapshot has no split. */
export function weightEdit(s: Snapshot, rnd: () => number): { next: Snapshot; what: string } {
  const splits = s.smi.flatMap((o, i) => (o.kind === 'TrafficSplit' && o.hub?.kind === 'TrafficSplit' ? [i] : []));
  const at = splits[Math.floor(rnd() * splits.length)];
  if (at === undefined) return { next: s, what: 'nothing' };
  const object = s.smi[at] as Snapshot['smi'][number];
  const hub = object.hub as Extract<NonNullable<Snapshot['smi'][number]['hub']>, { kind: 'TrafficSplit' }>;
  const backends = hub.spec.backends.map((b) => ({ ...b, weight: Math.floor(rnd() * 4) * 25 }));
  const smi = s.smi.map((o, i) => (i === at ? { ...object, hub: { ...hub, spec: { ...hub.spec, backends } } } : o));
  return { next: { ...s, smi }, what: `weights of ${object.ref.namespace}/${object.ref.name}: ${backends.map((b) => b.weight).join('/')}` };
}
