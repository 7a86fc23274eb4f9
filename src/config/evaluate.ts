/**
 * How a proxy decides, shared by the sidecar (hot path) and by `skiff explain` (one answer):
 * compiled HTTP matches, access decisions on the inbound side, route selection on the
 * outbound side. Everything is compiled once per config; deciding allocates nothing.
 */
import { compileFullMatch, type FullMatcher } from '../lib/regex.ts';
import type { AccessRule, HttpMatch, InboundConfig, InboundProtocol, OutboundPort, Route } from './types.ts';

export interface RequestFacts {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Value of a lower-case header name (repeated headers joined with ", "), or undefined. */
  header(name: string): string | undefined;
}

export type RequestPredicate = (request: RequestFacts) => boolean;

const NEVER: FullMatcher = { source: '', test: () => false };

function matcher(pattern: string): FullMatcher {
  const compiled = compileFullMatch(pattern);
  return compiled.ok ? compiled.matcher : NEVER;
}

export function compileHttpMatch(match: HttpMatch): RequestPredicate {
  const path = match.pathRegex === undefined ? undefined : matcher(match.pathRegex);
  const methods = match.methods ? new Set(match.methods) : undefined;
  const headers = (match.headers ?? []).map((h) => ({ name: h.name, value: matcher(h.regex) }));
  return (request) => {
    if (methods && !methods.has(request.method)) return false;
    if (path && !path.test(request.path)) return false;
    for (const h of headers) {
      const value = request.header(h.name);
      if (value === undefined || !h.value.test(value)) return false;
    }
    return true;
  };
}

/** Index of the first match that matches, or -1. */
export function compileAnyMatch(matches: readonly HttpMatch[]): (request: RequestFacts) => number {
  const predicates = matches.map(compileHttpMatch);
  return (request) => predicates.findIndex((p) => p(request));
}

export type AccessDecision =
  | { allowed: true; via?: string; route?: string; reason: string }
  | { allowed: false; reason: string };

interface CompiledRule {
  rule: AccessRule;
  sources: Set<string>;
  ports?: Set<number>;
  http?: (request: RequestFacts) => number;
}

/**
 * Decides who may come in. In permissive mode everyone, authenticated or not. In strict mode
 * the caller must be authenticated (mTLS) and some rule must allow the identity, port,
 * protocol and, for HTTP rules, the request.
 */
export function compileInbound(inbound: InboundConfig): (identity: string | undefined, port: number, protocol: InboundProtocol, request?: RequestFacts) => AccessDecision {
  const rules: CompiledRule[] = inbound.rules.map((rule) => ({
    rule,
    sources: new Set(rule.sources),
    ...(rule.ports ? { ports: new Set(rule.ports) } : {}),
    ...(rule.http ? { http: compileAnyMatch(rule.http) } : {}),
  }));
  return (identity, port, protocol, request) => {
    if (inbound.accessMode === 'permissive') return { allowed: true, reason: 'permissive namespace' };
    if (identity === undefined) return { allowed: false, reason: 'unauthenticated caller (no mesh certificate) in a strict namespace' };
    let identityKnown = false;
    for (const c of rules) {
      if (!c.sources.has(identity)) continue;
      identityKnown = true;
      if (c.ports && !c.ports.has(port)) continue;
      if (!c.rule.protocols.includes(protocol)) continue;
      if (!c.http) return { allowed: true, via: c.rule.via, reason: `allowed by TrafficTarget ${c.rule.via}` };
      if (protocol !== 'http' || !request) continue;
      const i = c.http(request);
      if (i >= 0) return { allowed: true, via: c.rule.via, route: c.rule.http?.[i]?.name, reason: `allowed by TrafficTarget ${c.rule.via}, route ${c.rule.http?.[i]?.name}` };
    }
    return {
      allowed: false,
      reason: identityKnown
        ? `no TrafficTarget allows ${identity} this ${protocol === 'http' ? 'route' : protocol === 'udp' ? 'datagram' : 'connection'} on port ${port}`
        : `no TrafficTarget allows ${identity}`,
    };
  };
}

/**
 * The identity a datagram's source address stands for (inbound `datagramSources`), or
 * undefined: an address no rule lets send UDP is no identity at all.
 */
export function compileDatagramSources(inbound: InboundConfig): (address: string) => string | undefined {
  const byAddress = new Map<string, string>();
  for (const source of inbound.datagramSources ?? []) for (const address of source.addresses) byAddress.set(address, source.identity);
  return (address) => byAddress.get(address.startsWith('::ffff:') ? address.slice(7) : address);
}

/** Picks the route of an outbound port for a request: the first whose `match` and `require` both match. */
export function compileRoutes(port: OutboundPort): (request: RequestFacts) => Route | undefined {
  const compiled = port.routes.map((route) => ({
    route,
    match: route.match ? compileAnyMatch(route.match) : undefined,
    require: route.require ? compileAnyMatch(route.require) : undefined,
  }));
  return (request) => compiled.find((c) => (!c.match || c.match(request) >= 0) && (!c.require || c.require(request) >= 0))?.route;
}
