/**
 * TrafficSplits resolved against Services: which split owns each root (oldest wins), which
 * requests it applies to, and per root port the backends with their weights and shares.
 * Backends lacking the port, or missing, are excluded with a reason; splits do not nest.
 */
import type { HubTrafficSplit } from '../api/index.ts';
import type { HttpMatch } from '../config/index.ts';
import { issue, type Issue } from '../errors/issue.ts';
import type { SmiEntry } from './smi-objects.ts';
import type { RouteGroupNode, ServiceNode, SplitBackendNode, SplitNode } from './topology.ts';
import { byKey, compareStrings, key } from './keys.ts';

function olderFirst(a: SmiEntry, b: SmiEntry): number {
  return compareStrings(a.creationTimestamp ?? '', b.creationTimestamp ?? '') || compareStrings(a.key, b.key);
}

function percentages(backends: SplitBackendNode[]): void {
  const total = backends.reduce((sum, b) => sum + (b.excluded ? 0 : b.weight), 0);
  for (const b of backends) b.percent = b.excluded || total === 0 ? 0 : Math.round((b.weight / total) * 10000) / 100;
}

function resolveMatches(entry: SmiEntry, hub: HubTrafficSplit, groups: ReadonlyMap<string, RouteGroupNode>, issues: Issue[]): HttpMatch[] | undefined {
  if (!hub.spec.matches) return undefined;
  const matches: HttpMatch[] = [];
  hub.spec.matches.forEach((ref, i) => {
    const group = groups.get(key(entry.namespace, ref.name));
    if (!group || !group.active) {
      const why = group ? 'is invalid' : 'does not exist';
      issues.push(issue('SKIFF_E_SPLIT_ROUTE_GROUP_MISSING', `spec.matches[${i}].name`, `HTTPRouteGroup ${key(entry.namespace, ref.name)} ${why}; all traffic stays on the root service until it is fixed`, { kind: 'TrafficSplit', namespace: entry.namespace, name: entry.name }));
      return;
    }
    matches.push(...group.matches);
  });
  return matches;
}

export function buildSplits(entries: SmiEntry[], services: ReadonlyMap<string, ServiceNode>, groups: ReadonlyMap<string, RouteGroupNode>): SplitNode[] {
  const owners = new Map<string, string>();
  const nodes: SplitNode[] = [];
  const pending: { node: SplitNode; hub: HubTrafficSplit }[] = [];

  for (const entry of [...entries].sort(olderFirst)) {
    const ref = { kind: 'TrafficSplit', namespace: entry.namespace, name: entry.name };
    const issues = [...entry.issues];
    const node: SplitNode = { key: entry.key, namespace: entry.namespace, name: entry.name, sourceVersion: entry.sourceVersion, active: false, ports: [], issues };
    nodes.push(node);
    const hub = entry.hub as HubTrafficSplit | undefined;
    if (!hub || !entry.active) continue;
    const root = key(entry.namespace, hub.spec.service);
    node.root = root;
    if (!services.has(root)) {
      issues.push(issue('SKIFF_E_SPLIT_ROOT_MISSING', 'spec.service', `Service ${root} does not exist`, ref));
      continue;
    }
    const owner = owners.get(root);
    if (owner) {
      issues.push(issue('SKIFF_E_SPLIT_CONFLICT', 'spec.service', `TrafficSplit ${owner} already splits ${root}; only one split per root service is applied (the oldest)`, ref));
      continue;
    }
    const matches = resolveMatches(entry, hub, groups, issues);
    if (issues.some((i) => i.code === 'SKIFF_E_SPLIT_ROUTE_GROUP_MISSING')) continue;
    if (matches) node.matches = matches;
    owners.set(root, entry.key);
    node.active = true;
    pending.push({ node, hub });
  }

  for (const { node, hub } of pending) {
    const ref = { kind: 'TrafficSplit', namespace: node.namespace, name: node.name };
    const root = services.get(node.root as string) as ServiceNode;
    hub.spec.backends.forEach((b, i) => {
      const backendKey = key(node.namespace, b.service);
      if (!services.has(backendKey)) {
        node.issues.push(issue('SKIFF_W_SPLIT_BACKEND_MISSING', `spec.backends[${i}].service`, `Service ${backendKey} does not exist; it gets no traffic`, ref));
      } else if (owners.has(backendKey) && backendKey !== node.root) {
        node.issues.push(issue('SKIFF_W_SPLIT_NESTED', `spec.backends[${i}].service`, `${backendKey} is the root of TrafficSplit ${owners.get(backendKey)}; its pods get this share directly, splits do not nest`, ref));
      }
    });
    for (const rootPort of root.ports) {
      if (rootPort.protocol === 'udp') continue;
      const backends = hub.spec.backends.map((b, i): SplitBackendNode => {
        const svc = services.get(key(node.namespace, b.service));
        const out: SplitBackendNode = { service: key(node.namespace, b.service), weight: b.weight, percent: 0 };
        if (!svc) {
          out.excluded = 'service not found';
        } else if (!svc.ports.some((p) => p.port === rootPort.port && p.protocol !== 'udp')) {
          out.excluded = `no port ${rootPort.port}`;
          node.issues.push(issue('SKIFF_W_SPLIT_BACKEND_PORT', `spec.backends[${i}].service`, `Service ${out.service} has no port ${rootPort.port} (a port of ${node.root}); it gets none of that port's traffic`, ref));
        }
        return out;
      });
      percentages(backends);
      node.ports.push({ port: rootPort.port, backends });
    }
  }
  return nodes.sort(byKey);
}

/**
 * The Services with `split` set on the root of each active split. The nodes given are never
 * changed (a weight edit reuses them from the previous build): a root is a copy.
 */
export function withSplitRoots(services: readonly ServiceNode[], splits: readonly SplitNode[]): ServiceNode[] {
  const byRoot = new Map(splits.filter((s) => s.active && s.root !== undefined).map((s) => [s.root as string, s.key]));
  if (byRoot.size === 0) return [...services];
  return services.map((s) => {
    const split = byRoot.get(s.key);
    return split === undefined ? s : { ...s, split };
  });
}
