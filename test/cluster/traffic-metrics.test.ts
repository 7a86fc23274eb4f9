/**
 * The TrafficMetrics API behind a real kube-apiserver's aggregation layer: the APIService,
 * discovery (`kubectl api-resources`), `kubectl get --raw` on the spec's paths returning the
 * numbers the sidecars reported, RBAC at the aggregator, and the server's own trust boundary
 * attacked directly: no certificate, a forged front proxy, a wrong CN, no user, a user RBAC
 * does not allow (our SubjectAccessReview), malformed and slow requests.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { MeshController } from '../../src/control/controller.ts';
import { startAggregatedApi } from '../../src/control/traffic/aggregated.ts';
import { localTraffic, meshTrafficBackend } from '../../src/control/traffic/backend.ts';
import { TrafficStore } from '../../src/control/traffic/store.ts';
import { LatencyHistogram } from '../../src/lib/latency-histogram.ts';
import { createCertificate } from '../../src/lib/x509.ts';
import { generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { startCluster, type TestCluster } from './harness.ts';
import { waitFor } from '../support/wait.ts';

// Inside the test network namespace 10.244.0.0/16 is local: the API server reaches this address.
const ADDRESS = '10.244.0.44';
const SHOP = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web, pod-template-hash: 6f7d}, ownerReferences: [{kind: ReplicaSet, name: web-6f7d, controller: true, apiVersion: apps/v1, uid: x}]}
spec: {containers: [{name: web, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: buyer-0, namespace: shop, labels: {app: buyer}}
spec: {containers: [{name: buyer}]}
`;

describe('the TrafficMetrics API behind the aggregation layer', () => {
  let cluster: TestCluster;
  let api: Awaited<ReturnType<typeof startAggregatedApi>>;
  let url: string;
  const latency = new LatencyHistogram();
  const refusals: Record<string, unknown>[] = [];

  before(async () => {
    cluster = await startCluster();
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    const controller = new MeshController();
    const { documents } = parseYamlText('shop.yaml', SHOP);
    controller.update(snapshotFromDocuments(documents.map((d) => d.value), { allocate: (_ns, pod) => (pod === 'web-0' ? '10.1.0.2' : '10.1.0.3') }));
    controller.rebuild();
    // What the sidecars would have reported: 40 successes, 2 failures and 5 denials at web-0.
    const store = new TrafficStore();
    for (let i = 0; i < 42; i++) latency.add(10 + i);
    store.ingest({ namespace: 'shop', pod: 'web-0', kind: 'Deployment', name: 'web' }, [
      { direction: 'inbound', peer: { namespace: 'shop', pod: 'buyer-0', kind: 'Pod', name: 'buyer-0' }, service: 'shop/web', success: 40, failure: 2, denied: 5, latency: latency.pairs() },
    ]);
    const serving = cluster.servingCertificate(['skiff-controller.skiff-system.svc']);
    api = await startAggregatedApi({ kubeconfig: kc, host: ADDRESS, port: 0, certificate: () => serving, backend: meshTrafficBackend(localTraffic(controller, store), { kubeconfig: kc }), log: (event, detail) => refusals.push({ event, ...detail }), handshakeTimeoutMs: 1000 });
    const port = (api.app.server.address() as { port: number }).port;
    url = `https://${ADDRESS}:${port}`;
    const b64 = Buffer.from(cluster.caPem).toString('base64');
    const created = await cluster.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Namespace
metadata: {name: skiff-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: skiff-controller, namespace: skiff-system}
spec: {ports: [{name: metrics-api, port: 8444, targetPort: ${port}}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: skiff-controller, namespace: skiff-system}
subsets: [{addresses: [{ip: ${ADDRESS}}], ports: [{name: metrics-api, port: ${port}}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: skiff-controller-1, namespace: skiff-system, labels: {kubernetes.io/service-name: skiff-controller}}
addressType: IPv4
endpoints: [{addresses: [${ADDRESS}], conditions: {ready: true}}]
ports: [{name: metrics-api, port: ${port}, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.metrics.smi-spec.io}
spec: {group: metrics.smi-spec.io, version: v1alpha1, service: {namespace: skiff-system, name: skiff-controller, port: 8444}, caBundle: ${b64}, groupPriorityMinimum: 100, versionPriority: 100}
`);
    equal(created.status, 0, created.stderr);
    await waitFor('the APIService Available', async () => {
      const s = (await cluster.api('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.metrics.smi-spec.io')).body as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
      return s.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
    }, 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(((await cluster.api('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.metrics.smi-spec.io')).body as { status?: unknown }).status)}`);
    });
  });
  after(async () => {
    await api?.stop();
    await cluster?.stop();
  });

  const raw = async (path: string, ...extra: string[]) => {
    const r = await cluster.kubectl(['get', '--raw', `/apis/metrics.smi-spec.io/v1alpha1${path}`, ...extra]);
    return { ...r, body: r.status === 0 ? JSON.parse(r.stdout) as { kind: string; items?: { resource: { name: string }; edge?: { direction: string; side: string; resource: { name?: string } }; metrics: { name: string; value: string; unit?: string }[] }[]; metrics?: { name: string; value: string }[] } : undefined };
  };

  test('kubectl sees the API: discovery lists every kind, and get --raw returns the reported numbers', async () => {
    // The API server's discovery picks the new group up on its own schedule.
    const resources = await waitFor('the group in discovery', async () => {
      const r = await cluster.kubectl(['api-resources', '--api-group=metrics.smi-spec.io', '-o', 'name']);
      return r.status === 0 && r.stdout.includes('metrics.smi-spec.io') && r;
    }, 30_000);
    for (const kind of ['namespaces', 'nodes', 'pods', 'replicationcontrollers', 'services', 'daemonsets', 'deployments', 'replicasets', 'statefulsets', 'jobs', 'trafficsplits']) {
      ok(resources.stdout.split('\n').includes(`${kind}.metrics.smi-spec.io`), `${kind} in ${resources.stdout}`);
    }
    const one = await raw('/namespaces/shop/deployments/web?t=1m');
    equal(one.status, 0, one.stderr);
    equal(one.body?.kind, 'TrafficMetrics');
    const value = (name: string) => one.body?.metrics?.find((m) => m.name === name)?.value;
    deepStrictEqual([value('success_count'), value('failure_count'), value('denied_count')], ['40', '2', '5']);
    const p50 = Number(value('p50_response_latency')?.replace(/m$/, '')) / 1000;
    ok(Math.abs(p50 - 30) / 30 <= 0.01, `p50 ${p50} ms of 10…51 ms`);
    const edges = await raw('/namespaces/shop/deployments/web/edges?t=1m');
    deepStrictEqual(edges.body?.items?.map((e) => [e.edge?.direction, e.edge?.side, e.edge?.resource.name]), [['from', 'server', 'buyer-0']]);
    const list = await raw('/deployments');
    equal(list.body?.kind, 'TrafficMetricsList');
    const missing = await raw('/namespaces/shop/widgets');
    ok(missing.status !== 0 && /NotFound|not found|404/i.test(missing.stderr), missing.stderr);
    const bad = await raw('/pods?t=forever');
    ok(bad.status !== 0 && /BadRequest|400|not a duration/i.test(bad.stderr), bad.stderr);
  });

  test('a user without RBAC permission is refused by the aggregation layer; with the view role, allowed', async () => {
    const denied = await raw('/namespaces/shop/deployments/web', '--as=alice');
    ok(denied.status !== 0 && /forbidden/i.test(denied.stderr), denied.stderr);
    const granted = await cluster.kubectl(['apply', '-f', '-'], `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: traffic-metrics-reader}
rules: [{apiGroups: [metrics.smi-spec.io], resources: ["*"], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads-metrics, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: traffic-metrics-reader}
subjects: [{kind: User, name: alice}]
`);
    equal(granted.status, 0, granted.stderr);
    const allowed = await waitFor('alice allowed', async () => {
      const r = await raw('/namespaces/shop/deployments/web', '--as=alice');
      return r.status === 0 && r;
    }, 20_000);
    equal(allowed.body?.kind, 'TrafficMetrics');
    const elsewhere = await raw('/namespaces/kube-system/pods', '--as=alice');
    ok(elsewhere.status !== 0 && /forbidden/i.test(elsewhere.stderr), 'only in the namespace she was given');
  });

  /** A request straight to the server, as an attacker inside the cluster network would send it. */
  const direct = async (path: string, cert?: { certPem: string; keyPem: string }, headers: Record<string, string | string[]> = {}) => {
    const dispatcher = new Agent({ connect: { ca: cluster.caPem, servername: 'skiff-controller.skiff-system.svc', ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
    try {
      const res = await request(`${url}/apis/metrics.smi-spec.io/v1alpha1${path}`, { dispatcher, headers });
      return { status: res.statusCode, body: await res.body.json() as { kind?: string; reason?: string; message?: string } };
    } finally {
      await dispatcher.close();
    }
  };

  test('only the front proxy is believed: no certificate, a forged one, a wrong CN or no user is 401', async () => {
    const asAdmin = { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' };
    const none = await direct('/namespaces/shop/deployments/web', undefined, asAdmin);
    deepStrictEqual([none.status, none.body.kind, none.body.reason], [401, 'Status', 'Unauthorized']);
    // A look-alike of the front proxy's certificate from a CA of the attacker's own.
    const keys = generateKeyPair();
    const caKeys = generateKeyPair();
    const now = Date.now();
    const fakeCa = createCertificate({ commonName: 'skiff-test-front-proxy-ca', organization: 'skiff-test', publicKey: caKeys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), isCA: true }, undefined, caKeys.privateKey);
    const forged = { certPem: createCertificate({ commonName: 'front-proxy-client', organization: 'skiff-test', publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), isCA: false }, { certificatePem: fakeCa, privateKey: caKeys.privateKey }), keyPem: privateKeyPem(keys.privateKey) };
    equal((await direct('/namespaces/shop/deployments/web', forged, asAdmin)).status, 401, 'a forged front proxy');
    equal((await direct('/namespaces/shop/deployments/web', cluster.frontProxyCertificate('someone-else'), asAdmin)).status, 401, 'the right CA, a CN not in requestheader-allowed-names');
    equal((await direct('/namespaces/shop/deployments/web', cluster.frontProxyClient, {})).status, 401, 'the front proxy naming no user');
    const ok200 = await direct('/namespaces/shop/deployments/web', cluster.frontProxyClient, asAdmin);
    equal(ok200.status, 200, JSON.stringify(ok200.body));
    ok(refusals.filter((r) => r.status === 401).length >= 4, 'every refusal is logged for the operator');
  });

  test('our own SubjectAccessReview refuses a user RBAC does not allow, even with the front proxy\'s certificate', async () => {
    const bob = await direct('/namespaces/shop/deployments/web/edges', cluster.frontProxyClient, { 'x-remote-user': 'bob' });
    deepStrictEqual([bob.status, bob.body.kind, bob.body.reason], [403, 'Status', 'Forbidden']);
    ok(bob.body.message?.includes('deployments/edges'), bob.body.message);
    const discovery = await direct('', cluster.frontProxyClient, { 'x-remote-user': 'carol', 'x-remote-group': 'system:authenticated' });
    equal(discovery.status, 200, 'discovery is allowed to every authenticated user, as Kubernetes does');
  });

  test('malformed, oversized and slow requests get an answer or a closed connection, never a crash', async () => {
    const admin = { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' };
    for (const [path, code] of [['/pods?t=-1s', 400], ['/pods?labelSelector=%28', 400], ['/%2e%2e/%2e%2e/api/v1/secrets', 404], [`/namespaces/${'a'.repeat(300)}/pods`, 404]] as const) {
      const r = await direct(path, cluster.frontProxyClient, admin);
      deepStrictEqual([r.status, r.body.kind], [code, 'Status'], path);
    }
    const huge = await direct('/pods', cluster.frontProxyClient, { ...admin, 'x-padding': 'x'.repeat(20_000) }).catch((err: Error) => ({ status: 0, body: { message: err.message } }));
    ok(huge.status === 431 || huge.status === 0, `oversized headers: ${huge.status}`);
    // A client that connects and never starts its TLS handshake is cut off (handshake timeout 1 s here).
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const socket = netConnect({ host: ADDRESS, port: Number(new URL(url).port) });
      socket.on('error', () => resolve(Date.now() - started));
      socket.on('close', () => resolve(Date.now() - started));
    });
    ok(closed < 5000, `closed after ${closed} ms`);
    equal((await direct('/namespaces/shop/deployments/web', cluster.frontProxyClient, admin)).status, 200, 'still serving');
  });
});
