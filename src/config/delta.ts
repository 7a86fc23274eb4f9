/**
 * Config deltas: what changed between two versions of one proxy's config, so a weight change
 * sends the one Service it touched instead of the whole config (ARCHITECTURE.md, "Deltas").
 *
 * A delta names the version it applies to (`base`) and the one it makes (`hash`); the parts
 * of the config that changed whole (mesh, proxy, inbound), and per Service and per cluster
 * what was added or changed and what was removed. The outbound half keeps a canonical order
 * (Services by `namespace/name`, each Service's clusters in the order of its ports), so the
 * receiver rebuilds exactly the config the control plane hashed, and checks the hash: any
 * difference and it asks for the whole config again.
 */
import { proxyConfigHash, sha256 } from './hash.ts';
import type { Cluster, OutboundConfig, OutboundService, ProxyConfig } from './types.ts';

export const DELTA_EVENT = 'delta';

export interface ConfigDelta {
  base: string;
  hash: string;
  mesh?: ProxyConfig['mesh'];
  proxy?: ProxyConfig['proxy'];
  inbound?: ProxyConfig['inbound'];
  /** The new `outbound.onDemand` (present when it changed; false: removed). */
  onDemand?: boolean;
  services?: OutboundService[];
  clusters?: Cluster[];
  removeServices?: string[];
  removeClusters?: string[];
}

const serviceKey = (s: OutboundService) => `${s.namespace}/${s.name}`;

/** JSON of config parts, once per object: they are immutable and shared by many proxies. */
const jsonOf = new WeakMap<object, string>();
function json(value: object): string {
  let text = jsonOf.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    jsonOf.set(value, text);
  }
  return text;
}

/**
 * An outbound half's JSON, exactly as JSON.stringify writes the object applyDelta builds
 * (services, clusters, then onDemand when set), from each Service's and cluster's JSON kept
 * per object: a delta replaces a few of them, the rest are not serialised again.
 */
function outboundJson(outbound: OutboundConfig): string {
  return `{"services":[${outbound.services.map(json).join(',')}],"clusters":[${outbound.clusters.map(json).join(',')}]${outbound.onDemand ? ',"onDemand":true' : ''}}`;
}

type OutboundDelta = Pick<ConfigDelta, 'onDemand' | 'services' | 'clusters' | 'removeServices' | 'removeClusters'>;

/** Outbound diffs by pair of (shared) outbound objects: proxies sharing both share the work. */
const outboundDiffs = new WeakMap<OutboundConfig, WeakMap<OutboundConfig, OutboundDelta>>();

function diffParts<T extends object>(from: readonly T[], to: readonly T[], keyOf: (t: T) => string): { set: T[]; remove: string[] } {
  const before = new Map(from.map((t) => [keyOf(t), t]));
  const set: T[] = [];
  for (const t of to) {
    const old = before.get(keyOf(t));
    before.delete(keyOf(t));
    if (old !== t && (old === undefined || json(old) !== json(t))) set.push(t);
  }
  return { set, remove: [...before.keys()] };
}

function diffOutbound(from: OutboundConfig, to: OutboundConfig): OutboundDelta {
  let byTarget = outboundDiffs.get(from);
  const cached = byTarget?.get(to);
  if (cached) return cached;
  const services = diffParts(from.services, to.services, serviceKey);
  const clusters = diffParts(from.clusters, to.clusters, (c) => c.name);
  const delta: OutboundDelta = {
    ...(Boolean(from.onDemand) !== Boolean(to.onDemand) ? { onDemand: Boolean(to.onDemand) } : {}),
    ...(services.set.length ? { services: services.set } : {}),
    ...(clusters.set.length ? { clusters: clusters.set } : {}),
    ...(services.remove.length ? { removeServices: services.remove } : {}),
    ...(clusters.remove.length ? { removeClusters: clusters.remove } : {}),
  };
  if (!byTarget) {
    byTarget = new WeakMap();
    outboundDiffs.set(from, byTarget);
  }
  byTarget.set(to, delta);
  return delta;
}

const changed = (a: object, b: object) => a !== b && json(a) !== json(b);

/** The delta from one config to the next (the control plane, per stream). */
export function diffConfigs(from: ProxyConfig, to: ProxyConfig): ConfigDelta {
  return {
    base: from.hash,
    hash: to.hash,
    ...(changed(from.mesh, to.mesh) ? { mesh: to.mesh } : {}),
    ...(changed(from.proxy, to.proxy) ? { proxy: to.proxy } : {}),
    ...(changed(from.inbound, to.inbound) ? { inbound: to.inbound } : {}),
    ...diffOutbound(from.outbound, to.outbound),
  };
}

/** The outbound part of a delta as JSON (`,"services":…}`, or `}`), once per pair of outbound halves. */
const outboundDeltaJson = new WeakMap<OutboundDelta, string>();

/**
 * `JSON.stringify(diffConfigs(from, to))`, written from parts serialised once: the outbound
 * part once for every proxy that shares both outbound halves (a weight change sends the same
 * Service to all its callers), each changed whole part once per object.
 */
export function deltaJson(from: ProxyConfig, to: ProxyConfig): string {
  const outbound = diffOutbound(from.outbound, to.outbound);
  let tail = outboundDeltaJson.get(outbound);
  if (tail === undefined) {
    const text = JSON.stringify(outbound);
    tail = text === '{}' ? '}' : `,${text.slice(1)}`;
    outboundDeltaJson.set(outbound, tail);
  }
  const part = (key: string, a: object, b: object) => (changed(a, b) ? `,"${key}":${json(b)}` : '');
  return `{"base":${JSON.stringify(from.hash)},"hash":${JSON.stringify(to.hash)}${part('mesh', from.mesh, to.mesh)}${part('proxy', from.proxy, to.proxy)}${part('inbound', from.inbound, to.inbound)}${tail}`;
}

/**
 * The config a delta makes of `base`, in canonical order, with its hash checked; or a
 * problem (wrong base, malformed delta, hash mismatch): the caller then asks for the whole config.
 */
export function applyDelta(base: ProxyConfig, delta: ConfigDelta): { config: ProxyConfig } | { problem: string } {
  if (delta.base !== base.hash) return { problem: `the delta is for ${String(delta.base).slice(0, 12)}, the proxy has ${base.hash.slice(0, 12)}` };
  try {
    const services = new Map(base.outbound.services.map((s) => [serviceKey(s), s]));
    for (const key of delta.removeServices ?? []) services.delete(key);
    for (const s of delta.services ?? []) services.set(serviceKey(s), s);
    const clusters = new Map(base.outbound.clusters.map((c) => [c.name, c]));
    for (const name of delta.removeClusters ?? []) clusters.delete(name);
    for (const c of delta.clusters ?? []) clusters.set(c.name, c);
    const ordered = [...services.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
    const orderedClusters: Cluster[] = [];
    for (const s of ordered) {
      for (const p of s.ports) {
        const cluster = clusters.get(`${serviceKey(s)}:${p.port}`);
        if (cluster) orderedClusters.push(cluster);
      }
    }
    const onDemand = delta.onDemand ?? Boolean(base.outbound.onDemand);
    const outbound: OutboundConfig = { services: ordered, clusters: orderedClusters, ...(onDemand ? { onDemand: true as const } : {}) };
    const body = { mesh: delta.mesh ?? base.mesh, proxy: delta.proxy ?? base.proxy, inbound: delta.inbound ?? base.inbound, outbound };
    const hash = proxyConfigHash(body, sha256(outboundJson(outbound)));
    if (hash !== delta.hash) return { problem: `the config the delta makes hashes to ${hash.slice(0, 12)}, not ${String(delta.hash).slice(0, 12)}` };
    return { config: { schema: base.schema, hash, ...body } };
  } catch (err) {
    return { problem: `the delta cannot be applied: ${(err as Error).message}` };
  }
}
