/** The TrafficMetrics catalog (kinds.ts) from the mesh's snapshot and topology. Pure. */
import type { Snapshot, Topology } from '../../model/index.ts';
import type { Catalog, PodFacts, SplitFacts } from './kinds.ts';

const nameOf = (key: string) => key.slice(key.indexOf('/') + 1);

export function buildCatalog(snapshot: Snapshot, topology: Topology): Catalog {
  const services = new Map(topology.pods.map((p) => [p.key, p.services.map(nameOf)]));
  const pods = new Map<string, PodFacts>();
  for (const p of snapshot.pods) {
    if (!p.meshed) continue;
    const key = `${p.namespace}/${p.name}`;
    const owners = [p.controller, p.owner].filter((o): o is { kind: string; name: string } => o !== undefined)
      .filter((o, i, all) => all.findIndex((x) => x.kind === o.kind && x.name === o.name) === i);
    pods.set(key, { namespace: p.namespace, name: p.name, labels: p.labels, ...(p.nodeName ? { node: p.nodeName } : {}), owners, services: services.get(key) ?? [] });
  }
  const splitLabels = new Map(snapshot.smi.filter((o) => o.kind === 'TrafficSplit').map((o) => [`${o.ref.namespace ?? ''}/${o.ref.name ?? ''}`, o.hub?.metadata.labels ?? {}]));
  const splits: SplitFacts[] = topology.splits.filter((s) => s.root).map((s) => {
    const backends = new Map<string, number>();
    for (const port of s.ports) for (const b of port.backends) if (!backends.has(b.service)) backends.set(b.service, b.weight);
    return {
      namespace: s.namespace, name: s.name, apex: nameOf(s.root as string),
      backends: [...backends].map(([service, weight]) => ({ service: nameOf(service), weight })),
      labels: splitLabels.get(`${s.namespace}/${s.name}`) ?? {},
    };
  });
  return {
    pods,
    namespaceLabels: new Map(snapshot.namespaces.map((n) => [n.name, n.labels ?? {}])),
    serviceLabels: new Map(snapshot.services.map((s) => [`${s.namespace}/${s.name}`, s.labels ?? {}])),
    splits,
  };
}
