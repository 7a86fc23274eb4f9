/**
 * The TrafficMetrics API's HTTP side, the same wherever it is served: the aggregated API
 * server of `skiff controller` (behind the API server's front proxy and a SubjectAccessReview)
 * and local mode's status port. Every answer is JSON: a TrafficMetrics, a TrafficMetricsList,
 * the discovery documents, or a Kubernetes Status (400, 403, 404; never a 500 for bad input).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { matchesSelector } from '../../lib/label-selector.ts';
import { METRICS_GROUP, RESOURCE_KINDS, type Catalog, type ResourcePlural } from './kinds.ts';
import { renderMetrics, type PartialItem, type PartialQuery } from './query.ts';
import { API_PREFIX, apiGroup, apiResourceList, parseMetricsRequest, status, type AccessAttributes, type MetricsRequest, type Status } from './request.ts';

export interface TrafficMetricsBackend {
  /** The whole mesh's items for a query (every control plane replica's part, merged) and the window all of them cover. */
  partial(query: PartialQuery): Promise<{ items: PartialItem[]; coveredMs: number }>;
  catalog(): Catalog;
  /**
   * The names of the objects of a kind that a label selector selects, for kinds whose labels
   * the catalog does not hold (workloads, nodes): a LIST with labelSelector in a cluster.
   */
  selectNames?(resource: ResourcePlural, namespace: string | undefined, selector: string): Promise<Set<string>>;
}

/** Says whether the caller may do this; absent: everyone may (local mode, loopback). */
export type Authorizer = (request: FastifyRequest, access: AccessAttributes) => Promise<{ allowed: true } | { allowed: false; status: Status }>;

type Answer = { code: number; body: unknown };

async function selection(request: Extract<MetricsRequest, { kind: 'metrics' }>, backend: TrafficMetricsBackend, catalog: Catalog): Promise<((namespace: string | undefined, name: string) => boolean) | Status | undefined> {
  const selector = request.selector;
  if (!selector) return undefined;
  const labelsFrom = (map: ReadonlyMap<string, Record<string, string>>, key: (ns: string | undefined, name: string) => string) =>
    (ns: string | undefined, name: string) => matchesSelector(selector.parsed, map.get(key(ns, name)) ?? {});
  switch (request.resource) {
    case 'pods': return (ns, name) => matchesSelector(selector.parsed, catalog.pods.get(`${ns}/${name}`)?.labels ?? {});
    case 'namespaces': return labelsFrom(catalog.namespaceLabels, (_ns, name) => name);
    case 'services': return labelsFrom(catalog.serviceLabels, (ns, name) => `${ns}/${name}`);
    case 'trafficsplits': return (ns, name) => matchesSelector(selector.parsed, catalog.splits.find((s) => s.namespace === ns && s.name === name)?.labels ?? {});
    default: {
      if (!backend.selectNames) return status(400, 'BadRequest', `label selectors on ${request.resource} need the Kubernetes API; local mode filters pods, namespaces, services and trafficsplits only`);
      const names = await backend.selectNames(request.resource, request.namespace, selector.text);
      const namespaced = RESOURCE_KINDS[request.resource].namespaced;
      return (ns, name) => names.has(namespaced ? `${ns}/${name}` : name);
    }
  }
}

export async function answer(path: string, query: Record<string, unknown>, backend: TrafficMetricsBackend, authorize?: (access: AccessAttributes) => Promise<{ allowed: true } | { allowed: false; status: Status }>): Promise<Answer> {
  if (path === `/apis/${METRICS_GROUP}` || path === `/apis/${METRICS_GROUP}/`) {
    const verdict = await authorize?.({ kind: 'path', verb: 'get', path: `/apis/${METRICS_GROUP}` });
    return verdict && !verdict.allowed ? { code: verdict.status.code, body: verdict.status } : { code: 200, body: apiGroup() };
  }
  const parsed = parseMetricsRequest(path, query);
  if (!parsed.ok) return { code: parsed.status.code, body: parsed.status };
  const request = parsed.request;
  if (authorize) {
    const verdict = await authorize(request.access);
    if (!verdict.allowed) return { code: verdict.status.code, body: verdict.status };
  }
  if (request.kind === 'discovery') return { code: 200, body: apiResourceList() };
  const catalog = backend.catalog();
  const selected = await selection(request, backend, catalog);
  if (selected && typeof selected === 'object') return { code: selected.code, body: selected };
  const asked: PartialQuery = {
    resource: request.resource, edges: request.edges, windowMs: request.windowMs, ...(request.edgeKind ? { edgeKind: request.edgeKind } : {}),
    ...(request.namespace ? { namespace: request.namespace } : {}), ...(request.name ? { name: request.name } : {}),
  };
  const { items, coveredMs } = await backend.partial(asked);
  const list = renderMetrics(items, { ...asked, now: Date.now(), ...(selected ? { selected } : {}) }, coveredMs);
  if (request.name === undefined || request.edges) return { code: 200, body: list };
  const [one, ...more] = list.items;
  if (one && more.length === 0) return { code: 200, body: one };
  if (one) return { code: 200, body: list };
  const where = request.namespace ? ` in namespace ${request.namespace}` : '';
  return { code: 404, body: status(404, 'NotFound', `${request.resource} "${request.name}"${where} has no meshed pods and no traffic in the last ${request.windowMs / 1000}s`) };
}

/** Serves the API under /apis/metrics.smi-spec.io on a Fastify app. */
export function registerTrafficMetrics(app: FastifyInstance, backend: TrafficMetricsBackend, authorize?: Authorizer): void {
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.raw.url ?? '/').split('?')[0] as string;
    try {
      const result = await answer(path, request.query as Record<string, unknown>, backend, authorize ? (access) => authorize(request, access) : undefined);
      return await reply.code(result.code).header('content-type', 'application/json').send(result.body);
    } catch (err) {
      const s = status(503, 'ServiceUnavailable', `traffic metrics are unavailable: ${(err as Error).message}`);
      return reply.code(503).send(s);
    }
  };
  app.get(`/apis/${METRICS_GROUP}`, handle);
  app.get(API_PREFIX, handle);
  app.get(`${API_PREFIX}/*`, handle);
}
