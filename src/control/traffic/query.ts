/**
 * TrafficMetrics from stored series (pure): the items of a kind, one resource, or one
 * resource's edges, over a window. Metrics are summed over the pods of each resource and
 * their latency histograms merged exactly; values are Kubernetes quantities, latencies in `ms`
 * as the reference implementations give them ("296875m" = 296.875 ms).
 *
 * - A resource's own metrics are what its pods' sidecars received (inbound, server side), as
 *   `linkerd viz stat` and smi-metrics count them. A TrafficSplit has one item per backend:
 *   what clients sent to the apex and the split sent to that backend (outbound, client side).
 * - Edges come from both ends of each request: from the resource's own sidecars
 *   (`to`/`client` for what it sent, `from`/`server` for what it received) and from its
 *   peers' sidecars (`from`/`client`: what callers sent to it, `to`/`server`: what its
 *   destinations received from it). Both are given; an end without a sidecar has only one.
 */
import { LatencyHistogram, type BucketPairs } from '../../lib/latency-histogram.ts';
import { edgeResources, METRICS_API_VERSION, RESOURCE_KINDS, resourcesOf, type Catalog, type ObjectReference, type ResourcePlural } from './kinds.ts';
import type { StoredSeries } from './store.ts';

/** What a replica needs to compute its part of an answer; plain data, sent between replicas. */
export interface PartialQuery {
  resource: ResourcePlural;
  /** Namespaced kinds: one namespace, or all when absent. */
  namespace?: string;
  name?: string;
  edges: boolean;
  /** Edges only: the kind to name the other ends in (a Skiff extension, `?edgeKind=`); default the resource's own. */
  edgeKind?: ResourcePlural;
  windowMs: number;
}

export interface MetricsQuery extends PartialQuery {
  /** The label selector's verdict on a resource; absent: every resource. */
  selected?: (namespace: string | undefined, name: string) => boolean;
  now: number;
}

export interface Metric {
  name: string;
  unit?: string;
  value: string;
}

export interface TrafficMetrics {
  kind: 'TrafficMetrics';
  apiVersion: typeof METRICS_API_VERSION;
  metadata: { name: string; namespace?: string; creationTimestamp: string };
  timestamp: string;
  window: string;
  resource: ObjectReference;
  edge?: { direction: 'to' | 'from'; side: 'client' | 'server'; resource: ObjectReference };
  backend?: { apex: string; name: string; weight: number };
  metrics: Metric[];
}

export interface TrafficMetricsList {
  kind: 'TrafficMetricsList';
  apiVersion: typeof METRICS_API_VERSION;
  metadata: Record<string, never>;
  resource: ObjectReference;
  items: TrafficMetrics[];
}

/** A number as a Kubernetes quantity with milli precision: 12 → "12", 1.5 → "1500m". */
export function quantity(n: number): string {
  const milli = Math.round(n * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

export function formatWindow(ms: number): string {
  const s = Math.round(ms / 1000);
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/**
 * One item before its quantiles are read: counts and latency buckets, which add up exactly
 * across replicas (each holds different reports) before anything is rendered.
 */
export interface PartialItem {
  resource: ObjectReference;
  edge?: TrafficMetrics['edge'];
  backend?: TrafficMetrics['backend'];
  success: number;
  failure: number;
  denied: number;
  latency: BucketPairs;
}

class Totals {
  success = 0;
  failure = 0;
  denied = 0;
  readonly latency = new LatencyHistogram();

  add(e: StoredSeries): void {
    this.success += e.success;
    this.failure += e.failure;
    this.denied += e.denied;
    for (let k = 0; k < e.latency.length; k += 2) this.latency.addBucket(e.latency[k] as number, e.latency[k + 1] as number);
  }
}

interface Item {
  resource: ObjectReference;
  edge?: TrafficMetrics['edge'];
  backend?: TrafficMetrics['backend'];
  totals: Totals;
}

const refKey = (r: ObjectReference) => `${r.kind ?? ''}/${r.namespace ?? ''}/${r.name ?? ''}`;

/** The items a query asks for, from this store's series (the serving replica merges every replica's). */
export function partialMetrics(entries: readonly StoredSeries[], catalog: Catalog, q: PartialQuery): PartialItem[] {
  const info = RESOURCE_KINDS[q.resource];
  const items = new Map<string, Item>();
  const wanted = (namespace: string | undefined, name: string) =>
    (!info.namespaced || q.namespace === undefined || namespace === q.namespace) && (q.name === undefined || name === q.name);
  const ref = (namespace: string | undefined, name: string): ObjectReference => ({ kind: info.kind, ...(info.namespaced && namespace ? { namespace } : {}), name });
  const item = (resource: ObjectReference, extra: Omit<Item, 'resource' | 'totals'> = {}) => {
    const key = itemKey({ resource, ...extra });
    let it = items.get(key);
    if (!it) {
      it = { resource, ...extra, totals: new Totals() };
      items.set(key, it);
    }
    return it;
  };

  if (q.resource === 'trafficsplits') {
    // What clients sent through a split, by `apex|backend`, gathered in one pass over the series.
    const sent = new Map<string, StoredSeries[]>();
    for (const e of entries) {
      if (e.direction !== 'outbound' || !e.backend) continue;
      const key = `${e.service ?? ''}|${e.backend}`;
      const list = sent.get(key);
      if (list) list.push(e);
      else sent.set(key, [e]);
    }
    for (const split of catalog.splits) {
      if (!wanted(split.namespace, split.name)) continue;
      const apex = `${split.namespace}/${split.apex}`;
      for (const b of split.backends) {
        const backend = { apex: split.apex, name: b.service, weight: b.weight };
        const resource = ref(split.namespace, split.name);
        if (!q.edges) item(resource, { backend });
        for (const e of sent.get(`${apex}|${split.namespace}/${b.service}`) ?? []) {
          if (!q.edges) item(resource, { backend }).totals.add(e);
          else for (const client of edgeResources(e.reporter, q.edgeKind ?? 'deployments', catalog)) item(resource, { backend, edge: { direction: 'from', side: 'client', resource: client } }).totals.add(e);
        }
      }
    }
  } else {
    if (!q.edges) {
      // Every resource of the kind with a meshed pod is listed, with or without traffic.
      for (const pod of catalog.pods.values()) for (const name of resourcesOf({ namespace: pod.namespace, pod: pod.name }, q.resource, catalog)) if (wanted(pod.namespace, name)) item(ref(pod.namespace, name));
    }
    const otherKind = q.edgeKind ?? q.resource;
    for (const e of entries) {
      const ownNamespace = e.reporter.namespace;
      for (const name of resourcesOf(e.reporter, q.resource, catalog)) {
        if (!wanted(ownNamespace, name)) continue;
        if (!q.edges) {
          if (e.direction === 'inbound') item(ref(ownNamespace, name)).totals.add(e);
          continue;
        }
        const edge = e.direction === 'outbound' ? { direction: 'to', side: 'client' } as const : { direction: 'from', side: 'server' } as const;
        for (const other of edgeResources(e.peer, otherKind, catalog)) item(ref(ownNamespace, name), { edge: { ...edge, resource: other } }).totals.add(e);
      }
      if (!q.edges || !e.peer.namespace) continue;
      for (const name of resourcesOf(e.peer, q.resource, catalog)) {
        if (!wanted(e.peer.namespace, name)) continue;
        const edge = e.direction === 'outbound' ? { direction: 'from', side: 'client' } as const : { direction: 'to', side: 'server' } as const;
        for (const other of edgeResources(e.reporter, otherKind, catalog)) item(ref(e.peer.namespace, name), { edge: { ...edge, resource: other } }).totals.add(e);
      }
    }
  }

  return [...items.values()].map((it) => ({
    resource: it.resource, ...(it.edge ? { edge: it.edge } : {}), ...(it.backend ? { backend: it.backend } : {}),
    success: it.totals.success, failure: it.totals.failure, denied: it.totals.denied, latency: it.totals.latency.pairs(),
  }));
}

const itemKey = (it: Pick<PartialItem, 'resource' | 'edge' | 'backend'>) =>
  `${refKey(it.resource)}|${it.backend?.name ?? ''}|${it.edge ? `${it.edge.direction}/${it.edge.side}/${refKey(it.edge.resource)}` : ''}`;

/** Adds up the partial answers of several replicas, item by item. */
export function mergePartials(parts: readonly (readonly PartialItem[])[]): PartialItem[] {
  const merged = new Map<string, { item: PartialItem; latency: LatencyHistogram }>();
  for (const part of parts) {
    for (const it of part) {
      const key = itemKey(it);
      const have = merged.get(key);
      if (!have) {
        const latency = new LatencyHistogram();
        latency.merge(it.latency);
        merged.set(key, { item: { ...it }, latency });
        continue;
      }
      have.item.success += it.success;
      have.item.failure += it.failure;
      have.item.denied += it.denied;
      have.latency.merge(it.latency);
    }
  }
  return [...merged.values()].map(({ item, latency }) => ({ ...item, latency: latency.pairs() }));
}

function metricsOf(it: PartialItem): Metric[] {
  const h = new LatencyHistogram();
  h.merge(it.latency);
  const out: Metric[] = [];
  for (const [q, name] of [[0.99, 'p99_response_latency'], [0.9, 'p90_response_latency'], [0.5, 'p50_response_latency']] as const) {
    const v = h.quantile(q);
    if (v !== undefined) out.push({ name, unit: 'ms', value: quantity(v) });
  }
  out.push({ name: 'success_count', value: quantity(it.success) }, { name: 'failure_count', value: quantity(it.failure) }, { name: 'denied_count', value: quantity(it.denied) });
  return out;
}

/** The answer: items the selector keeps (it filters resources, never the traffic counted in them), sorted, quantiles read, `window` the span really covered. */
export function renderMetrics(all: readonly PartialItem[], q: MetricsQuery, coveredMs = q.windowMs): TrafficMetricsList {
  const info = RESOURCE_KINDS[q.resource];
  const selected = q.selected;
  const items = selected ? all.filter((it) => selected(it.resource.namespace, it.resource.name ?? '')) : all;
  const timestamp = new Date(q.now).toISOString();
  const window = formatWindow(Math.min(q.windowMs, coveredMs));
  const sorted = items.toSorted((a, b) => refKey(a.resource).localeCompare(refKey(b.resource)) || (a.backend?.name ?? '').localeCompare(b.backend?.name ?? '')
    || (a.edge ? `${a.edge.direction}${a.edge.side}${refKey(a.edge.resource)}` : '').localeCompare(b.edge ? `${b.edge.direction}${b.edge.side}${refKey(b.edge.resource)}` : ''));
  return {
    kind: 'TrafficMetricsList', apiVersion: METRICS_API_VERSION, metadata: {},
    resource: { kind: info.kind, ...(info.namespaced && q.namespace ? { namespace: q.namespace } : {}), ...(q.name ? { name: q.name } : {}) },
    items: sorted.map((it) => ({
      kind: 'TrafficMetrics', apiVersion: METRICS_API_VERSION,
      metadata: { name: it.resource.name ?? '', ...(it.resource.namespace ? { namespace: it.resource.namespace } : {}), creationTimestamp: timestamp },
      timestamp, window, resource: it.resource,
      ...(it.edge ? { edge: it.edge } : {}), ...(it.backend ? { backend: it.backend } : {}),
      metrics: metricsOf(it),
    })),
  };
}

/** One store's answer, rendered (local mode and tests). */
export function trafficMetrics(entries: readonly StoredSeries[], catalog: Catalog, q: MetricsQuery): TrafficMetricsList {
  return renderMetrics(partialMetrics(entries, catalog, q), q);
}
