/**
 * Mesh traffic between real pods on the real node: the bookstore's apps (an image built from
 * examples/bookstore/apps) beside Skiff sidecars (Skiff's image) that bootstrap with their
 * pod's projected ServiceAccount token against the control plane, get their certificates and
 * configs, and carry the traffic over mTLS between pod IPs on the CNI bridge. Load runs in
 * client pods, which report what they saw in their termination message. SMI objects and
 * TrafficPolicies go through the API server (conversion and validating webhooks included), by
 * kubectl and by the API.
 */
import { equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { buildAppImage, buildImage, buildPauseImage, PAUSE_IMAGE } from '../../scripts/build-image.ts';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { tokenReviewVerifier } from '../../src/control/kubernetes-identity.ts';
import { KubernetesController } from '../../src/control/kubernetes.ts';
import { PORTS } from '../../src/lib/ports.ts';
import { startCluster, type TestCluster } from '../cluster/harness.ts';
import { startNode, type TestNode } from '../cluster/node.ts';
import { installSmi } from '../cluster/smi-setup.ts';
import { waitFor } from '../support/wait.ts';

const NODE_IP = process.env.SKIFF_NODE_IP ?? '10.250.0.2';
const ROOT = join(import.meta.dirname, '..', '..');
const APPS_IMAGE = 'localhost/skiff-examples:test';
type ContainerStatus = { name: string; state?: { terminated?: { exitCode: number; message?: string } } };

describe('mesh traffic between real pods', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let controller: KubernetesController;
  let distribution: DistributionServer;
  let smi: { stop(): Promise<void> };
  let skiffImage = '';
  let controlUrl = '';
  const work = mkdtempSync(join(tmpdir(), 'skiff-node-traffic-'));
  const create = async (path: string, body: unknown) => {
    const res = await cluster.api('POST', path, body);
    ok(res.status === 201, `${path}: ${JSON.stringify(res.body)}`);
  };

  /** The Skiff sidecar as a pod runs it: bootstrap by projected token, config stream, health probe. */
  const sidecar = () => ({
    name: 'skiff-proxy', image: skiffImage, imagePullPolicy: 'Never',
    args: ['proxy', '--control', controlUrl, '--proxy-id', 'store/$(POD_NAME)', '--certs', '/run/skiff/certs', '--trust-bundle', '/trust/ca.pem',
      '--bootstrap-token-file', '/var/run/secrets/skiff/token', '--app-host', '$(POD_IP)'],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    readinessProbe: { httpGet: { path: '/ready', port: PORTS.health }, periodSeconds: 1 },
    volumeMounts: [{ name: 'certs', mountPath: '/run/skiff/certs' }, { name: 'trust', mountPath: '/trust', readOnly: true }, { name: 'token', mountPath: '/var/run/secrets/skiff', readOnly: true }],
  });
  const volumes = [
    { name: 'certs', emptyDir: {} },
    { name: 'trust', configMap: { name: 'skiff-trust' } },
    { name: 'token', projected: { sources: [{ serviceAccountToken: { audience: 'skiff', expirationSeconds: 3600, path: 'token' } }] } },
  ];
  const app = (script: string[], env: Record<string, string> = {}) => ({
    name: 'app', image: APPS_IMAGE, imagePullPolicy: 'Never', command: ['/usr/local/bin/node', ...script],
    env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'PORT', value: '8080' }, ...Object.entries(env).map(([name, value]) => ({ name, value }))],
  });

  /** Runs a load pod whose app sends `count` requests through its sidecar and reports the statuses and versions it saw. */
  async function load(name: string, sa: string, method: string, path: string, count: number): Promise<{ statuses: Record<string, number>; versions: Record<string, number> }> {
    const script = `const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const once = () => new Promise((resolve) => { const req = http.request({ host: '127.0.0.1', port: ${PORTS.outbound}, method: '${method}', path: 'http://bookstore.store${path}', agent, headers: { host: 'bookstore.store' } }, (res) => { let b = ''; res.on('data', (c) => { b += c; }); res.on('end', () => resolve({ status: res.statusCode, body: b })); }); req.on('error', () => resolve({ status: 0, body: '' })); req.end(); });
(async () => {
  const deadline = Date.now() + 60000;
  for (;;) { const r = await once(); if (r.status !== 0 && r.status !== 503) break; if (Date.now() > deadline) break; await new Promise((r) => setTimeout(r, 250)); }
  const statuses = {}; const versions = {};
  for (let i = 0; i < ${count}; i++) { const r = await once(); statuses[r.status] = (statuses[r.status] || 0) + 1; try { const v = JSON.parse(r.body).version; if (v) versions[v] = (versions[v] || 0) + 1; } catch {} }
  require('node:fs').writeFileSync('/dev/termination-log', JSON.stringify({ statuses, versions }));
  process.exit(0);
})();`;
    await create('/api/v1/namespaces/store/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: sa } }, spec: { serviceAccountName: sa, restartPolicy: 'Never', containers: [app(['-e', script]), sidecar()], volumes } });
    const done = await waitFor(`${name} to report`, async () => {
      const p = (await cluster.api('GET', `/api/v1/namespaces/store/pods/${name}`)).body as { status?: { containerStatuses?: ContainerStatus[] } };
      return p.status?.containerStatuses?.find((c) => c.name === 'app')?.state?.terminated;
    }, 120_000).catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    equal(done.exitCode, 0);
    await cluster.api('DELETE', `/api/v1/namespaces/store/pods/${name}?gracePeriodSeconds=0`);
    return JSON.parse(done.message ?? '{}') as { statuses: Record<string, number>; versions: Record<string, number> };
  }

  before(async () => {
    const built = await buildImage(join(work, 'skiff.oci.tar'));
    skiffImage = built.name;
    cluster = await startCluster({ controllerManager: true, forPods: { address: NODE_IP } });
    for (const ns of ['default', 'kube-system']) await waitFor(`the default ServiceAccount of ${ns}`, async () => (await cluster.api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, 30_000);
    smi = await installSmi(cluster);
    node = await startNode(cluster, {
      nodeIp: NODE_IP, podSubnet: '10.244.1.0/24', sandboxImage: PAUSE_IMAGE, schedulerAndProxy: true,
      images: [buildPauseImage(join(work, 'pause.oci.tar')), built.file, buildAppImage(join(work, 'apps.oci.tar'), APPS_IMAGE, join(ROOT, 'examples', 'bookstore', 'apps'))],
    });
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    controller = new KubernetesController({ kubeconfig: kc, statusIntervalMs: 500 });
    await controller.start();
    const ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    distribution = new DistributionServer({ controller: controller.controller, ca, host: NODE_IP, port: 0, verifyToken: tokenReviewVerifier(kc) });
    controlUrl = await distribution.start();

    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'store', annotations: { 'skiff.dev/access': 'strict' } } });
    await waitFor('the store namespace\'s default ServiceAccount', async () => (await cluster.api('GET', '/api/v1/namespaces/store/serviceaccounts/default')).status === 200, 30_000);
    for (const sa of ['bookstore', 'buyer', 'thief']) await create('/api/v1/namespaces/store/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } });
    await create('/api/v1/namespaces/store/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'skiff-trust' }, data: { 'ca.pem': ca.trustBundle() } });
    for (const [name, selector] of [['bookstore', { app: 'bookstore' }], ['bookstore-v1', { app: 'bookstore', version: 'v1' }], ['bookstore-v2', { app: 'bookstore', version: 'v2' }]] as const) {
      await create('/api/v1/namespaces/store/services', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    }
    await create('/apis/specs.smi-spec.io/v1alpha4/namespaces/store/httproutegroups', { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: 'api' }, spec: { matches: [{ name: 'browse', pathRegex: '/books', methods: ['GET'] }] } });
    await create('/apis/access.smi-spec.io/v1alpha3/namespaces/store/traffictargets', { apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: 'buyer-browses' }, spec: { destination: { kind: 'ServiceAccount', name: 'bookstore', namespace: 'store' }, rules: [{ kind: 'HTTPRouteGroup', name: 'api', matches: ['browse'] }], sources: [{ kind: 'ServiceAccount', name: 'buyer', namespace: 'store' }] } });
    await create('/apis/split.smi-spec.io/v1alpha2/namespaces/store/trafficsplits', { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 'bookstore' }, spec: { service: 'bookstore', backends: [{ service: 'bookstore-v1', weight: 90 }, { service: 'bookstore-v2', weight: 10 }] } });
    for (const version of ['v1', 'v2']) {
      await create('/apis/apps/v1/namespaces/store/deployments', {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `bookstore-${version}` },
        spec: { replicas: 1, selector: { matchLabels: { app: 'bookstore', version } }, template: {
          metadata: { labels: { app: 'bookstore', version } },
          spec: { serviceAccountName: 'bookstore', containers: [{ ...app(['/apps/bookstore.mjs'], { VERSION: version }), ports: [{ name: 'http', containerPort: 8080 }] }, sidecar()], volumes },
        } },
      });
    }
    await waitFor('both bookstore pods to be Ready', async () => {
      const list = (await cluster.api('GET', '/api/v1/namespaces/store/pods?labelSelector=app%3Dbookstore')).body as { items?: { status?: { conditions?: { type: string; status: string }[] } }[] };
      return (list.items ?? []).filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2;
    }, 120_000).catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
  });
  after(async () => {
    try {
      await node?.stop();
    } finally {
      await distribution?.close();
      await controller?.stop();
      await smi?.stop();
      await cluster?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('the buyer\'s requests are split 90/10 per request between the versions, over mTLS between pods', async () => {
    const seen = await load('buyer-load', 'buyer', 'GET', '/books', 300);
    equal(seen.statuses['200'], 300, JSON.stringify(seen));
    const v2 = seen.versions.v2 ?? 0;
    ok(Math.abs(v2 - 30) < 4.5 * Math.sqrt(300 * 0.1 * 0.9), `${v2} of 300 went to v2`);
  });

  test('the thief, and the buyer on a route no TrafficTarget lists, get 403', async () => {
    const thief = await load('thief-load', 'thief', 'GET', '/books', 20);
    equal(thief.statuses['403'], 20, JSON.stringify(thief));
    const buying = await load('buyer-buys', 'buyer', 'POST', '/books/1/buy', 10);
    equal(buying.statuses['403'], 10, JSON.stringify(buying));
  });

  test('kube-controller-manager\'s EndpointSlices carry the pod IPs, and each pod is known as its Deployment', async () => {
    const slices = await waitFor('an EndpointSlice for bookstore-v2', async () => {
      const list = (await cluster.api('GET', '/apis/discovery.k8s.io/v1/namespaces/store/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dbookstore-v2')).body as { items: { endpoints?: { addresses: string[] }[] }[] };
      return list.items.some((i) => (i.endpoints ?? []).length > 0) && list.items;
    });
    ok(slices[0]?.endpoints?.[0]?.addresses[0]?.startsWith('10.244.1.'));
    const v2 = controller.controller.topology?.pods.find((p) => p.name.startsWith('bookstore-v2-'));
    ok(v2?.meshed, 'the pod runs a skiff-proxy container');
    equal(`${v2?.workload.kind}/${v2?.workload.name}`, 'Deployment/bookstore-v2');
  });

  test('a TrafficPolicy applied with kubectl injects faults until it is deleted; its status names a missing target', async () => {
    const policy = 'apiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: chaos\n  namespace: store\nspec:\n  targetRefs:\n  - kind: Service\n    name: bookstore\n  - kind: Service\n    name: no-such-service\n  faultInjection:\n    abort:\n      status: 418\n      percent: 100\n';
    equal((await cluster.kubectl(['apply', '-f', '-'], policy)).status, 0);
    await waitFor('the policy is in the configs', () => controller.controller.topology?.policies.find((p) => p.key === 'store/chaos')?.active);
    const aborted = await load('buyer-chaos', 'buyer', 'GET', '/books', 10);
    equal(aborted.statuses['418'], 10, JSON.stringify(aborted));
    const status = await waitFor('the policy\'s status names the missing target', async () => {
      const got = (await cluster.api('GET', '/apis/policy.skiff.dev/v1alpha1/namespaces/store/trafficpolicies/chaos')).body as { status?: { conditions?: { type: string; status: string; message: string }[] } };
      const resolved = got.status?.conditions?.find((c) => c.type === 'ResolvedRefs');
      return resolved?.status === 'False' && resolved.message.includes('store/no-such-service') && got.status;
    }, 10_000);
    equal(status.conditions?.find((c) => c.type === 'Accepted')?.status, 'True');
    equal((await cluster.kubectl(['delete', 'trafficpolicy', 'chaos', '-n', 'store'])).status, 0);
    await waitFor('the policy is gone from the configs', () => !controller.controller.topology?.policies.some((p) => p.key === 'store/chaos'));
    const calm = await load('buyer-calm', 'buyer', 'GET', '/books', 10);
    equal(calm.statuses['200'], 10, JSON.stringify(calm));
  });

  test('kubectl apply of the split as v1alpha4 moves traffic to 50/50; a weight change through the API to 0/100; deleting the split restores plain routing', async () => {
    const applied = await cluster.kubectl(['apply', '-f', '-'], 'apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: bookstore\n  namespace: store\nspec:\n  service: bookstore\n  backends:\n  - service: bookstore-v1\n    weight: 50\n  - service: bookstore-v2\n    weight: 50\n');
    equal(applied.status, 0, applied.stderr);
    await waitFor('the new weights are in the topology', () => controller.controller.topology?.splits.find((s) => s.key === 'store/bookstore')?.ports[0]?.backends[0]?.weight === 50);
    const half = await load('buyer-half', 'buyer', 'GET', '/books', 300);
    const v2 = half.versions.v2 ?? 0;
    ok(Math.abs(v2 - 150) < 4.5 * Math.sqrt(300 * 0.25), `${v2} of 300 went to v2`);
    const path = '/apis/split.smi-spec.io/v1alpha4/namespaces/store/trafficsplits/bookstore';
    await waitFor('the update is accepted', async () => {
      const current = (await cluster.api('GET', path)).body as { spec: { backends: { weight: number }[] } };
      current.spec.backends[0]!.weight = 0;
      current.spec.backends[1]!.weight = 100;
      return (await cluster.api('PUT', path, current)).status === 200;
    });
    await waitFor('0/100 is in the topology', () => controller.controller.topology?.splits.find((s) => s.key === 'store/bookstore')?.ports[0]?.backends[0]?.weight === 0);
    const all = await load('buyer-all-v2', 'buyer', 'GET', '/books', 30);
    equal(all.versions.v2, 30, JSON.stringify(all));
    equal((await cluster.api('DELETE', path)).status, 200);
    await waitFor('the split is gone', () => !controller.controller.topology?.splits.some((s) => s.key === 'store/bookstore'));
    const plain = await load('buyer-plain', 'buyer', 'GET', '/books', 60);
    ok((plain.versions.v1 ?? 0) > 0 && (plain.versions.v2 ?? 0) > 0, `both versions answer the root service again: ${JSON.stringify(plain)}`);
  });
});
