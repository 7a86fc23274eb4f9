/**
 * Pods by key, as the translation looks them up: made once from a pods array, or, for an array
 * the model updated, as the next version of the previous index with the pods that changed
 * (lib/layered-map: the cost of the change, not of 50,000 pods). `include` picks the pods held
 * (the translation's proxies are the meshed ones; the entries read every pod).
 */
import { LayeredMap } from '../lib/layered-map.ts';
import type { PodChanges, PodNode } from '../model/index.ts';

type Include = (pod: PodNode) => boolean;
const every: Include = () => true;

export function podIndex(pods: readonly PodNode[], include: Include = every): LayeredMap<string, PodNode> {
  const byKey = new Map<string, PodNode>();
  for (const p of pods) if (include(p)) byKey.set(p.key, p);
  return LayeredMap.of(byKey);
}

export function podIndexChanged(previous: LayeredMap<string, PodNode>, changes: PodChanges, include: Include = every): LayeredMap<string, PodNode> {
  return previous.with(changes.added.filter(include).map((p) => [p.key, p] as const), changes.removed.map((p) => p.key));
}
