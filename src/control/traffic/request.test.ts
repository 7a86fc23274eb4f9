import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { API_PREFIX, parseMetricsRequest } from './request.ts';

const parse = (path: string, query: Record<string, unknown> = {}) => parseMetricsRequest(`${API_PREFIX}${path}`, query);

test('every path of the spec and smi-metrics, with the attributes RBAC sees', () => {
  const cases: [string, object][] = [
    ['', { kind: 'discovery' }],
    ['/deployments', { resource: 'deployments', edges: false, access: { verb: 'list', resource: 'deployments' } }],
    ['/namespaces', { resource: 'namespaces', edges: false, access: { verb: 'list', resource: 'namespaces' } }],
    ['/namespaces/shop', { resource: 'namespaces', name: 'shop', access: { verb: 'get', resource: 'namespaces', name: 'shop' } }],
    ['/namespaces/shop/edges', { resource: 'namespaces', name: 'shop', edges: true, access: { verb: 'get', resource: 'namespaces', subresource: 'edges', name: 'shop' } }],
    ['/namespaces/shop/pods', { resource: 'pods', namespace: 'shop', access: { verb: 'list', resource: 'pods', namespace: 'shop' } }],
    ['/namespaces/shop/trafficsplits/web', { resource: 'trafficsplits', namespace: 'shop', name: 'web', access: { verb: 'get', resource: 'trafficsplits', namespace: 'shop', name: 'web' } }],
    ['/namespaces/shop/deployments/web/edges', { resource: 'deployments', namespace: 'shop', name: 'web', edges: true, access: { verb: 'get', resource: 'deployments', subresource: 'edges', namespace: 'shop', name: 'web' } }],
    ['/nodes/node-1/edges', { resource: 'nodes', name: 'node-1', edges: true }],
  ];
  for (const [path, want] of cases) {
    const got = parse(path);
    equal(got.ok, true, path);
    if (!got.ok) continue;
    const r = got.request as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) {
      if (k === 'access') for (const [ak, av] of Object.entries(v as object)) equal((r.access as Record<string, unknown>)[ak], av, `${path} access.${ak}`);
      else deepStrictEqual(r[k], v, `${path} ${k}`);
    }
  }
});

test('the window: 30s by default, Go-style durations between 5s and 5m', () => {
  const windowOf = (t?: string) => {
    const r = parse('/pods', t === undefined ? {} : { t });
    return r.ok && r.request.kind === 'metrics' ? r.request.windowMs : r.ok ? -1 : r.status.code;
  };
  equal(windowOf(), 30_000);
  equal(windowOf('1m30s'), 90_000);
  equal(windowOf('5m'), 300_000);
  equal(windowOf('1s'), 400);
  equal(windowOf('6m'), 400);
  equal(windowOf('soon'), 400);
});

test('unknown resources and paths are 404 Status, malformed parameters 400, never an exception', () => {
  const codeOf = (path: string, query: Record<string, unknown> = {}) => {
    const r = parseMetricsRequest(path, query);
    return r.ok ? 200 : [r.status.code, r.status.kind, r.status.reason];
  };
  deepStrictEqual(codeOf(`${API_PREFIX}/widgets`), [404, 'Status', 'NotFound']);
  deepStrictEqual(codeOf(`${API_PREFIX}/deployments/web`), [404, 'Status', 'NotFound'], 'a namespaced kind needs its namespace');
  deepStrictEqual(codeOf(`${API_PREFIX}/namespaces/shop/nodes`), [404, 'Status', 'NotFound']);
  deepStrictEqual(codeOf(`${API_PREFIX}/namespaces/shop/pods/web/logs`), [404, 'Status', 'NotFound']);
  deepStrictEqual(codeOf(`${API_PREFIX}/namespaces/Shop!/pods`), [404, 'Status', 'NotFound']);
  deepStrictEqual(codeOf('/apis/other.group/v1/pods'), [404, 'Status', 'NotFound']);
  deepStrictEqual(codeOf(`${API_PREFIX}/pods`, { labelSelector: 'app=(' }), [400, 'Status', 'BadRequest']);
  deepStrictEqual(codeOf(`${API_PREFIX}/pods`, { labelSelector: ['a=b', 'c=d'] }), [400, 'Status', 'BadRequest']);
  deepStrictEqual(codeOf(`${API_PREFIX}/pods`, { t: ['1m', '2m'] }), [400, 'Status', 'BadRequest']);
  deepStrictEqual(codeOf(`${API_PREFIX}/pods`, { edgeKind: 'pods' }), [400, 'Status', 'BadRequest'], 'edgeKind belongs to edges');
  deepStrictEqual(codeOf(`${API_PREFIX}/namespaces/a/pods/b/edges`, { edgeKind: 'widgets' }), [400, 'Status', 'BadRequest']);
  equal(codeOf(`${API_PREFIX}/namespaces/a/deployments/b/edges`, { edgeKind: 'pods' }), 200);
});
