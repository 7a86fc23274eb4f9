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
 * large mesh) is reused while its inputs are the very same arrays: sources hand over an
 * unchanged kind's array again, and a TrafficSplit weight edit then rebuilds only the SMI part.
 */
import { issue, type Issue } from '../errors/issue.ts';
import type { Snapshot } from './snapshot.ts';
import { ACCESS_MODE_KEY } from './snapshot.ts';
import type { NamespaceNode, Topology } from './topology.ts';
import { buildServicesAndPods, type ServiceBuild } from './services.ts';
import { groupSmiObjects } from './smi-objects.ts';
import { buildPortRoutes, buildRouteGroups } from './routes.ts';
import { buildSplits, withSplitRoots } from './splits.ts';
import { buildTargets } from './targets.ts';
import { buildPolicies } from './policies.ts';
import { compareStrings } from './keys.ts';

function buildNamespaces(snapshot: Snapshot, used: Iterable<string>): NamespaceNode[] {
  const declared = new Map(snapshot.namespaces.map((n) => [n.name, n]));
  const names = new Set<string>([...declared.keys(), ...used]);
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
  if (lastBase && lastBase.mesh === mesh && lastBase.inputs.every((input, i) => input === inputs[i])) return lastBase.build;
  const build = buildServicesAndPods(snapshot);
  lastBase = { inputs, mesh, build };
  return build;
}

export function buildTopology(snapshot: Snapshot): Topology {
  const { byKind, issues } = groupSmiObjects(snapshot.smi);
  const { services: plainServices, pods, issues: serviceIssues } = servicesAndPods(snapshot);
  const routeGroups = buildRouteGroups(byKind.HTTPRouteGroup);
  const portRoutes = buildPortRoutes([...byKind.TCPRoute, ...byKind.UDPRoute]);
  const serviceMap = new Map(plainServices.map((s) => [s.key, s]));
  const splits = buildSplits(byKind.TrafficSplit, serviceMap, new Map(routeGroups.map((g) => [g.key, g])));
  const services = withSplitRoots(plainServices, splits);
  const targets = buildTargets(byKind.TrafficTarget, {
    groups: new Map(routeGroups.map((g) => [g.key, g])),
    portRoutes: new Map(portRoutes.map((r) => [r.key, r])),
    trustDomain: snapshot.mesh.trustDomain,
  });
  const policies = buildPolicies(byKind.TrafficPolicy, serviceMap, new Map(routeGroups.map((g) => [g.key, g])));
  const used = [...services, ...pods, ...splits, ...targets, ...routeGroups, ...portRoutes, ...policies].map((n) => n.namespace);
  return {
    mesh: { ...snapshot.mesh },
    namespaces: buildNamespaces(snapshot, used),
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
