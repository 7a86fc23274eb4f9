/**
 * model: buildTopology(snapshot) → Topology. Pure: no I/O, no clock, no randomness, and the
 * snapshot is never mutated. Broken objects become inactive nodes carrying their issues.
 *
 *   Services + Pods/EndpointSlices ─► services.ts ─► ServiceNode, PodNode (identity, inbound ports)
 *   HTTPRouteGroup/TCPRoute/UDPRoute ─► routes.ts  ─► RouteGroupNode, PortRouteNode
 *   TrafficSplit  ─► splits.ts  (roots, matches, per-port backends and shares)
 *   TrafficTarget ─► targets.ts (identities, rules with ports, protocols, HTTP matches)
 *   TrafficPolicy ─► policies.ts (fields as numbers, resolved targets, conflicts)
 *
 * Nodes are never changed once built, so the Services-and-pods part (most of the work in a
 * large mesh) is reused while its inputs are the very same arrays, and the access part (route
 * groups, port routes, targets) while the same parsed objects come in: sources hand over what
 * did not change as it was, and a TrafficSplit weight edit then rebuilds splits and policies.
 * When only Services, pods or EndpointSlices changed, the build is updated
 * (services-update.ts): the changed ones and the pods and Services they concern.
 */
import { issue, type Issue } from '../errors/issue.ts';
import type { EndpointSliceInput, PodInput, ServiceInput, Snapshot } from './snapshot.ts';
import { updateServicesAndPods } from './services-update.ts';
import { ACCESS_MODE_KEY } from './snapshot.ts';
import type { NamespaceNode, PortRouteNode, RouteGroupNode, TargetNode, Topology } from './topology.ts';
import type { ParsedObject } from '../api/index.ts';
import { buildServicesAndPods, type ServiceBuild } from './services.ts';
import { groupSmiObjects, type SmiByKind } from './smi-objects.ts';
import { buildPortRoutes, buildRouteGroups } from './routes.ts';
import { buildSplits, withSplitRoots } from './splits.ts';
import { buildTargets } from './targets.ts';
import { buildPolicies } from './policies.ts';
import { compareStrings } from './keys.ts';

function buildNamespaces(snapshot: Snapshot, users: readonly (readonly { namespace: string }[])[]): NamespaceNode[] {
  const declared = new Map(snapshot.namespaces.map((n) => [n.name, n]));
  const names = new Set<string>(declared.keys());
  for (const list of users) for (const n of list) names.add(n.namespace);
  return [...names].sort(compareStrings).map((name) => {
    const ns = declared.get(name);
    const value = ns?.annotations?.[ACCESS_MODE_KEY] ?? ns?.labels?.[ACCESS_MODE_KEY];
    const issues: Issue[] = [];
    let accessMode = snapshot.mesh.defaultAccessMode;
    if (value === 'permissive' || value === 'strict') {
      accessMode = value;
    } else if (value !== undefined) {
      issues.push(issue('SKIFF_W_NAMESPACE_ACCESS_MODE', `metadata.annotations.${ACCESS_MODE_KEY}`, `"${value}" is not permissive or strict; the mesh default (${accessMode}) applies`, { kind: 'Namespace', name }));
    }
    return { name, accessMode, issues };
  });
}

/** The last Services-and-pods build and the inputs it came from (compared by reference; the mesh settings by value). */
let lastBase: { inputs: readonly unknown[]; mesh: string; build: ServiceBuild } | undefined;

function servicesAndPods(snapshot: Snapshot): ServiceBuild {
  const inputs = [snapshot.services, snapshot.pods, snapshot.endpointSlices, snapshot.namespaces];
  const mesh = JSON.stringify(snapshot.mesh);
  const same = (i: number) => lastBase?.inputs[i] === inputs[i];
  if (lastBase && lastBase.mesh === mesh && same(3)) {
    if (same(0) && same(1) && same(2)) return lastBase.build;
    // Services, pods or EndpointSlices changed (a pod turning ready, one more replica, a Service applied): the changed ones and what they concern.
    const updated = updateServicesAndPods(lastBase.build, { services: lastBase.inputs[0] as ServiceInput[], pods: lastBase.inputs[1] as PodInput[], endpointSlices: lastBase.inputs[2] as EndpointSliceInput[] }, snapshot);
    if (updated) {
      lastBase = { inputs, mesh, build: updated };
      return updated;
    }
  }
  const build = buildServicesAndPods(snapshot);
  lastBase = { inputs, mesh, build };
  return build;
}

/** The SMI kinds access control is made of: their nodes depend on nothing else. */
const ACCESS_KINDS: ReadonlySet<string> = new Set(['TrafficTarget', 'HTTPRouteGroup', 'TCPRoute', 'UDPRoute']);
/** The last build of route groups, port routes and targets, and the parsed objects (by reference) it came from. */
let lastAccess: { inputs: readonly ParsedObject[]; trustDomain: string; routeGroups: RouteGroupNode[]; portRoutes: PortRouteNode[]; targets: TargetNode[] } | undefined;

/** Route groups, port routes and targets; the previous ones while the same parsed objects come in (a weight edit leaves them). */
function accessPart(snapshot: Snapshot, byKind: SmiByKind): NonNullable<typeof lastAccess> {
  const inputs = snapshot.smi.filter((p) => p.kind !== undefined && ACCESS_KINDS.has(p.kind));
  const trustDomain = snapshot.mesh.trustDomain;
  if (lastAccess && lastAccess.trustDomain === trustDomain && lastAccess.inputs.length === inputs.length && lastAccess.inputs.every((p, i) => p === inputs[i])) return lastAccess;
  const routeGroups = buildRouteGroups(byKind.HTTPRouteGroup);
  const portRoutes = buildPortRoutes([...byKind.TCPRoute, ...byKind.UDPRoute]);
  const targets = buildTargets(byKind.TrafficTarget, { groups: new Map(routeGroups.map((g) => [g.key, g])), portRoutes: new Map(portRoutes.map((r) => [r.key, r])), trustDomain });
  lastAccess = { inputs, trustDomain, routeGroups, portRoutes, targets };
  return lastAccess;
}

/** The last grouping of SMI objects and the parsed objects (by reference) it came from (a pod or endpoint change leaves them). */
let lastGrouped: { inputs: readonly ParsedObject[]; grouped: ReturnType<typeof groupSmiObjects> } | undefined;

export function buildTopology(snapshot: Snapshot): Topology {
  if (lastGrouped?.inputs !== snapshot.smi) lastGrouped = { inputs: snapshot.smi, grouped: groupSmiObjects(snapshot.smi) };
  const { byKind, issues } = lastGrouped.grouped;
  const { services: plainServices, pods, issues: serviceIssues } = servicesAndPods(snapshot);
  const { routeGroups, portRoutes, targets } = accessPart(snapshot, byKind);
  const serviceMap = new Map(plainServices.map((s) => [s.key, s]));
  const splits = buildSplits(byKind.TrafficSplit, serviceMap, new Map(routeGroups.map((g) => [g.key, g])));
  const services = withSplitRoots(plainServices, splits);
  const policies = buildPolicies(byKind.TrafficPolicy, serviceMap, new Map(routeGroups.map((g) => [g.key, g])));
  return {
    mesh: { ...snapshot.mesh },
    namespaces: buildNamespaces(snapshot, [services, pods, splits, targets, routeGroups, portRoutes, policies]),
    services,
    pods,
    splits,
    targets,
    routeGroups,
    portRoutes,
    policies,
    issues: [...(snapshot.issues ?? []), ...issues, ...serviceIssues],
  };
}

/** Every issue in the topology, object by object. */
export function allIssues(topology: Topology): Issue[] {
  const nodes = [topology.namespaces, topology.services, topology.splits, topology.targets, topology.routeGroups, topology.portRoutes, topology.policies].flat();
  return [...topology.issues, ...nodes.flatMap((n) => n.issues)];
}
