/**
 * TrafficTargets resolved to access rules: who (source identities) may reach whom (the
 * destination identity) on which ports, protocols and HTTP routes.
 *
 * Within one TrafficTarget, TCPRoute ports scope its HTTPRouteGroup rules (the spec's L7
 * example pairs an HTTP route group with a TCPRoute "carrying the port"): when a target has
 * both, its HTTP rules apply on the TCPRoutes' ports and its TCP rules allow only non-HTTP
 * traffic. A target with only TCPRoutes allows all traffic, HTTP included, on their ports.
 */
import type { HubRule, HubTrafficTarget } from '../api/index.ts';
import { issue, type Issue, type ObjectRef } from '../errors/issue.ts';
import type { SmiEntry } from './smi-objects.ts';
import type { PortRouteNode, RouteGroupNode, TargetNode, TargetRuleNode } from './topology.ts';
import { byKey, key, sortedUnique, spiffeId } from './keys.ts';

interface Lookup {
  groups: ReadonlyMap<string, RouteGroupNode>;
  portRoutes: ReadonlyMap<string, PortRouteNode>;
  trustDomain: string;
}

function rulesPath(sourceVersion: string): string {
  return sourceVersion.endsWith('/v1alpha1') ? 'specs' : 'spec.rules';
}

function resolveRule(entry: SmiEntry, rule: HubRule, path: string, lookup: Lookup, issues: Issue[], ref: ObjectRef): TargetRuleNode | 'missing' {
  if (rule.kind === 'HTTPRouteGroup') {
    const group = lookup.groups.get(key(entry.namespace, rule.name));
    if (!group || !group.active) {
      issues.push(issue('SKIFF_E_TARGET_ROUTE_MISSING', `${path}.name`, `HTTPRouteGroup ${key(entry.namespace, rule.name)} ${group ? 'is invalid' : 'does not exist'}; this rule allows nothing`, ref));
      return 'missing';
    }
    let http = group.matches;
    if (rule.matches && rule.matches.length > 0) {
      const byName = new Map(group.matches.map((m) => [m.name.slice(group.name.length + 1), m]));
      http = [];
      rule.matches.forEach((name, j) => {
        const m = byName.get(name);
        if (m) http.push(m);
        else issues.push(issue('SKIFF_E_TARGET_MATCH_MISSING', `${path}.matches[${j}]`, `HTTPRouteGroup ${group.key} has no match named "${name}"`, ref));
      });
    } else if (group.matches.length === 0) {
      issues.push(issue('SKIFF_W_TARGET_RULE_ALLOWS_NOTHING', path, `HTTPRouteGroup ${group.key} has no matches, so this rule allows no request`, ref));
    }
    return { kind: rule.kind, name: rule.name, protocols: ['http'], http };
  }
  const route = lookup.portRoutes.get(`${rule.kind}/${key(entry.namespace, rule.name)}`);
  if (!route || !route.active) {
    issues.push(issue('SKIFF_E_TARGET_ROUTE_MISSING', `${path}.name`, `${rule.kind} ${key(entry.namespace, rule.name)} ${route ? 'is invalid' : 'does not exist'}; this rule allows nothing`, ref));
    return 'missing';
  }
  return { kind: rule.kind, name: rule.name, protocols: rule.kind === 'UDPRoute' ? ['udp'] : ['tcp', 'http'], ...(route.ports ? { ports: route.ports } : {}) };
}

function intersect(ports: number[] | undefined, allowed: number[] | undefined): number[] | undefined {
  if (allowed === undefined) return ports;
  if (ports === undefined) return allowed;
  return ports.filter((p) => allowed.includes(p));
}

export function buildTargets(entries: SmiEntry[], lookup: Lookup): TargetNode[] {
  return entries.map((entry): TargetNode => {
    const ref = { kind: 'TrafficTarget', namespace: entry.namespace, name: entry.name };
    const issues = [...entry.issues];
    const node: TargetNode = { key: entry.key, namespace: entry.namespace, name: entry.name, sourceVersion: entry.sourceVersion, active: false, sources: [], rules: [], issues };
    const hub = entry.hub as HubTrafficTarget | undefined;
    if (!hub || !entry.active) return node;
    const { destination, sources = [], rules = [] } = hub.spec;
    node.destination = spiffeId(lookup.trustDomain, destination.namespace ?? entry.namespace, destination.name);
    node.sources = sortedUnique(sources.map((s) => spiffeId(lookup.trustDomain, s.namespace ?? entry.namespace, s.name)));
    const base = rulesPath(entry.sourceVersion);
    const resolved = rules.map((r, i) => resolveRule(entry, r, `${base}[${i}]`, lookup, issues, ref));
    const found = resolved.filter((r): r is TargetRuleNode => r !== 'missing');
    const tcpRules = rules.map((r, i) => ({ r, res: resolved[i] as TargetRuleNode | 'missing' })).filter(({ r }) => r.kind === 'TCPRoute');
    // Decided on the declared rules, so that a broken HTTPRouteGroup reference never turns
    // its TCPRoute into an allow-everything rule.
    if (rules.some((r) => r.kind === 'HTTPRouteGroup') && tcpRules.length > 0) {
      // A missing TCPRoute scopes to no port, so a broken reference never widens access.
      const scope = tcpRules.some(({ res }) => res !== 'missing' && res.ports === undefined)
        ? undefined
        : sortedUnique(tcpRules.flatMap(({ res }) => (res === 'missing' ? [] : res.ports ?? [])));
      for (const r of found) {
        if (r.kind === 'HTTPRouteGroup' && scope !== undefined) r.ports = scope;
        if (r.kind === 'TCPRoute') r.protocols = ['tcp'];
      }
    }
    const port = destination.port;
    node.rules = found.map((r) => {
      const ports = intersect(r.ports, port === undefined ? undefined : [port]);
      const out: TargetRuleNode = { kind: r.kind, name: r.name, protocols: r.protocols };
      if (ports !== undefined) out.ports = ports;
      if (r.http) out.http = r.http;
      return out;
    });
    node.active = true;
    return node;
  }).sort(byKey);
}
