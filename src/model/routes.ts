/** HTTPRouteGroup, TCPRoute and UDPRoute nodes: the route vocabulary splits and targets refer to. */
import type { HubHTTPRouteGroup, HubHttpMatch, HubPortRouteSpec } from '../api/index.ts';
import type { HttpMatch } from '../config/index.ts';
import type { SmiEntry } from './smi-objects.ts';
import type { PortRouteNode, RouteGroupNode } from './topology.ts';
import { byKey, sortedUnique } from './keys.ts';

/** A route group match in the form proxies evaluate (`*` dropped, header names lower-cased). */
export function toHttpMatch(group: string, m: HubHttpMatch): HttpMatch {
  const out: HttpMatch = { name: `${group}/${m.name}` };
  if (m.pathRegex !== undefined) out.pathRegex = m.pathRegex;
  if (m.methods && m.methods.length > 0 && !m.methods.includes('*')) out.methods = sortedUnique(m.methods);
  if (m.headers && m.headers.length > 0) out.headers = m.headers.map((h) => ({ name: h.name.toLowerCase(), regex: h.value }));
  return out;
}

export function buildRouteGroups(entries: SmiEntry[]): RouteGroupNode[] {
  return entries.map((e): RouteGroupNode => {
    const hub = e.hub as HubHTTPRouteGroup | undefined;
    return {
      key: e.key, namespace: e.namespace, name: e.name, active: e.active,
      matches: (hub?.spec.matches ?? []).map((m) => toHttpMatch(e.name, m)),
      issues: e.issues,
    };
  }).sort(byKey);
}

export function buildPortRoutes(entries: SmiEntry[]): PortRouteNode[] {
  return entries.map((e): PortRouteNode => {
    const spec = e.hub?.spec as HubPortRouteSpec | undefined;
    const ports = spec?.matches?.ports;
    return {
      key: `${e.kind}/${e.key}`, kind: e.kind as 'TCPRoute' | 'UDPRoute', namespace: e.namespace, name: e.name, active: e.active,
      ...(ports && ports.length > 0 ? { ports: sortedUnique(ports) } : {}),
      issues: e.issues,
    };
  }).sort(byKey);
}
