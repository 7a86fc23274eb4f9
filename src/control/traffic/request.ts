/**
 * What a TrafficMetrics URL asks for, parsed without I/O: the paths of the SMI spec and of
 * smi-metrics under /apis/metrics.smi-spec.io/v1alpha1, the window `t` and `labelSelector`,
 * and the authorization attributes the API server itself derives from the same path (so a
 * SubjectAccessReview asks exactly what RBAC would). Anything else is a Kubernetes Status.
 */
import { parseDuration } from '../../api/index.ts';
import { parseLabelSelector, type Selector } from '../../lib/label-selector.ts';
import { isResourcePlural, METRICS_API_VERSION, METRICS_GROUP, METRICS_VERSION, RESOURCE_KINDS, type ResourcePlural } from './kinds.ts';
import { RETENTION_MS, SLOT_MS } from './store.ts';

export const API_PREFIX = `/apis/${METRICS_API_VERSION}`;
export const DEFAULT_WINDOW_MS = 30_000;
export const MIN_WINDOW_MS = SLOT_MS;
export const MAX_WINDOW_MS = RETENTION_MS;

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'BadRequest' | 'NotFound' | 'Unauthorized' | 'Forbidden' | 'InternalError' | 'ServiceUnavailable' | 'TooManyRequests';
  code: number;
}

export function status(code: Status['code'], reason: Status['reason'], message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** The attributes of a SubjectAccessReview for this request. */
export type AccessAttributes =
  | { kind: 'resource'; verb: 'get' | 'list'; resource: string; subresource?: 'edges'; namespace?: string; name?: string }
  | { kind: 'path'; verb: 'get'; path: string };

export type MetricsRequest =
  | { kind: 'discovery'; access: AccessAttributes }
  | {
    kind: 'metrics'; access: AccessAttributes;
    resource: ResourcePlural; namespace?: string; name?: string; edges: boolean; edgeKind?: ResourcePlural;
    windowMs: number; selector?: { text: string; parsed: Selector };
  };

const NAME = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

export function parseMetricsRequest(path: string, query: Record<string, unknown>): { ok: true; request: MetricsRequest } | { ok: false; status: Status } {
  const bad = (message: string) => ({ ok: false as const, status: status(400, 'BadRequest', message) });
  const notFound = (message: string) => ({ ok: false as const, status: status(404, 'NotFound', message) });
  if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return notFound(`the server could not find the requested resource: ${path.slice(0, 200)}`);
  const parts = path.slice(API_PREFIX.length).split('/').filter((p) => p !== '');
  if (parts.length === 0) return { ok: true, request: { kind: 'discovery', access: { kind: 'path', verb: 'get', path: API_PREFIX } } };
  for (const p of parts) if (!NAME.test(p)) return notFound(`"${p.slice(0, 100)}" is not a resource or object name`);

  let resource: string;
  let namespace: string | undefined;
  let name: string | undefined;
  let edges = false;
  const [a, b, c, d, e] = parts;
  if (a === 'namespaces' && c !== undefined && c !== 'edges') {
    // /namespaces/{ns}/{resource}[/{name}[/edges]]
    namespace = b;
    resource = c;
    name = d;
    edges = e === 'edges';
    if ((e !== undefined && !edges) || parts.length > 5) return notFound(`unknown path ${path.slice(0, 200)}`);
    if (isResourcePlural(resource) && !RESOURCE_KINDS[resource].namespaced) return notFound(`${resource} are not namespaced`);
  } else {
    // /{resource}[/{name}[/edges]] — a list across namespaces, or one cluster-scoped object.
    resource = a as string;
    name = b;
    edges = c === 'edges';
    if ((c !== undefined && !edges) || parts.length > 3) return notFound(`unknown path ${path.slice(0, 200)}`);
    if (name !== undefined && isResourcePlural(resource) && RESOURCE_KINDS[resource].namespaced) return notFound(`${resource} are namespaced: use /namespaces/<namespace>/${resource}/${name}`);
  }
  if (!isResourcePlural(resource)) return notFound(`Unsupported resource: ${resource}; this API serves ${Object.keys(RESOURCE_KINDS).join(', ')}`);

  let windowMs = DEFAULT_WINDOW_MS;
  if (query.t !== undefined) {
    const parsed = typeof query.t === 'string' ? parseDuration(query.t) : undefined;
    if (parsed === undefined) return bad(`t=${String(query.t).slice(0, 50)} is not a duration such as 30s, 1m or 2m30s`);
    if (parsed < MIN_WINDOW_MS || parsed > MAX_WINDOW_MS) return bad(`t must be between ${MIN_WINDOW_MS / 1000}s and ${MAX_WINDOW_MS / 60_000}m (reports arrive every ${MIN_WINDOW_MS / 1000}s and are kept ${MAX_WINDOW_MS / 60_000}m)`);
    windowMs = parsed;
  }
  let edgeKind: ResourcePlural | undefined;
  if (query.edgeKind !== undefined) {
    if (typeof query.edgeKind !== 'string' || !isResourcePlural(query.edgeKind) || query.edgeKind === 'trafficsplits') return bad(`edgeKind must be one of ${Object.keys(RESOURCE_KINDS).filter((k) => k !== 'trafficsplits').join(', ')}`);
    if (!edges) return bad('edgeKind applies to the edges subresource only');
    edgeKind = query.edgeKind;
  }
  let selector: { text: string; parsed: Selector } | undefined;
  if (query.labelSelector !== undefined) {
    if (typeof query.labelSelector !== 'string') return bad('labelSelector must be given once');
    const parsed = parseLabelSelector(query.labelSelector);
    if (!parsed.ok) return bad(`labelSelector: ${parsed.problem}`);
    if (parsed.selector.length) selector = { text: query.labelSelector, parsed: parsed.selector };
  }
  const access: AccessAttributes = {
    kind: 'resource', verb: name === undefined ? 'list' : 'get', resource,
    ...(edges ? { subresource: 'edges' as const } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}),
  };
  return {
    ok: true,
    request: { kind: 'metrics', access, resource, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), edges, ...(edgeKind ? { edgeKind } : {}), windowMs, ...(selector ? { selector } : {}) },
  };
}

/** The discovery document (`kubectl api-resources` reads it). */
export function apiResourceList(): unknown {
  return {
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion: METRICS_API_VERSION,
    resources: Object.entries(RESOURCE_KINDS).flatMap(([plural, info]) => [
      { name: plural, singularName: info.singular, namespaced: info.namespaced, kind: 'TrafficMetrics', verbs: ['get', 'list'] },
      { name: `${plural}/edges`, singularName: '', namespaced: info.namespaced, kind: 'TrafficMetricsList', verbs: ['get'] },
    ]),
  };
}

export function apiGroup(): unknown {
  const version = { groupVersion: METRICS_API_VERSION, version: METRICS_VERSION };
  return { kind: 'APIGroup', apiVersion: 'v1', name: METRICS_GROUP, versions: [version], preferredVersion: version };
}
