/**
 * Real traffic in a cluster: pods run as processes (test node agent) with Skiff sidecars that
 * bootstrap by ServiceAccount token and stream their configs from the controller; SMI objects
 * go through the API server (conversion and validation webhooks included).
 */
import { equal, ok } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { KubernetesController } from '../../src/control/kubernetes.ts';
import { tokenReviewVerifier } from '../../src/control/kubernetes-identity.ts';
import { waitFor } from '../support/wait.ts';
import { startCluster, type TestCluster } from './harness.ts';
import { FakeKubelet } from './kubelet.ts';
import { installSmi } from './smi-setup.ts';

const NODE = 'skiff-node';

describe('traffic through sidecars in a cluster', () => {
  let cluster: TestCluster;
  let smi: { stop(): Promise<void> };
  let controller: KubernetesController;
  let distribution: DistributionServer;
  let kubelet: FakeKubelet;
  let dir: string;
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const create = async (path: string, body: unknown) => {
    const res = await cluster.api('POST', path, body);
    ok(res.status === 201, `${path}: ${JSON.stringify(res.body)}`);
  };
  const pod = (name: string, sa: string, labels: Record<string, string>, app?: { version: string }) => create('/api/v1/namespaces/store/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
    spec: {
      nodeName: NODE, serviceAccountName: sa,
      containers: [
        app ? { name: 'app', image: 'node:24-alpine', command: ['node', 'examples/bookstore/apps/bookstore.mjs'], env: [{ name: 'VERSION', value: app.version }], ports: [{ name: 'http', containerPort: 8080 }] } : { name: 'app', image: 'busybox' },
        { name: 'skiff-proxy', image: 'skiff' },
      ],
    },
  });
  /** A request as the app of `from` would send it, through its sidecar. */
  const send = async (from: string, method: string, path: string) => {
    const ip = kubelet.ip(`store/${from}`);
    ok(ip, `${from} runs`);
    const res = await request(`http://${ip}:15001${path}`, { method: method as 'GET', headers: { host: 'bookstore.store' }, dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const version = async (from = 'buyer-0') => {
    const res = await send(from, 'GET', '/books');
    return res.status === 200 ? (JSON.parse(res.body) as { version: string }).version : `status ${res.status}`;
  };
  const splitPath = (v: string) => `/apis/split.smi-spec.io/${v}/namespaces/store/trafficsplits`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-traffic-'));
    cluster = await startCluster({ controllerManager: true });
    smi = await installSmi(cluster);
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    controller = new KubernetesController({ kubeconfig: kc, statusIntervalMs: 500 });
    await controller.start();
    const ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    writeFileSync(join(dir, 'trust.pem'), ca.trustBundle());
    distribution = new DistributionServer({ controller: controller.controller, ca, host: '127.0.0.1', port: 0, verifyToken: tokenReviewVerifier(kc) });
    const url = await distribution.start();
    kubelet = new FakeKubelet(cluster, { nodeName: NODE, controlUrl: url, trustBundleFile: join(dir, 'trust.pem'), dir, subnet: 200 + (process.pid % 40) });
    await kubelet.start();

    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'store', annotations: { 'skiff.dev/access': 'strict' } } });
    for (const sa of ['bookstore', 'buyer', 'thief']) await create('/api/v1/namespaces/store/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } });
    for (const [name, selector] of [['bookstore', { app: 'bookstore' }], ['bookstore-v1', { app: 'bookstore', version: 'v1' }], ['bookstore-v2', { app: 'bookstore', version: 'v2' }]] as const) {
      await create('/api/v1/namespaces/store/services', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    }
    await create('/apis/specs.smi-spec.io/v1alpha4/namespaces/store/httproutegroups', { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name: 'api' }, spec: { matches: [{ name: 'browse', pathRegex: '/books', methods: ['GET'] }] } });
    await create('/apis/access.smi-spec.io/v1alpha3/namespaces/store/traffictargets', { apiVersion: 'access.smi-spec.io/v1alpha3', kind: 'TrafficTarget', metadata: { name: 'buyer-browses' }, spec: { destination: { kind: 'ServiceAccount', name: 'bookstore', namespace: 'store' }, rules: [{ kind: 'HTTPRouteGroup', name: 'api', matches: ['browse'] }], sources: [{ kind: 'ServiceAccount', name: 'buyer', namespace: 'store' }] } });
    await create(splitPath('v1alpha2'), { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 'bookstore' }, spec: { service: 'bookstore', backends: [{ service: 'bookstore-v1', weight: 90 }, { service: 'bookstore-v2', weight: 10 }] } });
    await pod('bookstore-v1-0', 'bookstore', { app: 'bookstore', version: 'v1' }, { version: 'v1' });
    // v2 comes from a Deployment: kube-controller-manager makes its ReplicaSet and Pod.
    await create('/apis/apps/v1/namespaces/store/deployments', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bookstore-v2' },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'bookstore', version: 'v2' } },
        template: {
          metadata: { labels: { app: 'bookstore', version: 'v2' } },
          spec: { serviceAccountName: 'bookstore', containers: [
            { name: 'app', image: 'node:24-alpine', command: ['node', 'examples/bookstore/apps/bookstore.mjs'], env: [{ name: 'VERSION', value: 'v2' }], ports: [{ name: 'http', containerPort: 8080 }] },
            { name: 'skiff-proxy', image: 'skiff' },
          ] },
        },
      },
    });
    await pod('buyer-0', 'buyer', { app: 'buyer' });
    await pod('thief-0', 'thief', { app: 'thief' });
    await waitFor('every sidecar applied its config', () => {
      const proxies = controller.controller.proxyStatus();
      return proxies.length === 4 && proxies.every((p) => p.upToDate);
    }, 60_000).catch((err: Error) => { throw new Error(`${err.message}\n${kubelet.output.slice(-20).join('\n')}`); });
    await waitFor('the bookstore answers the buyer', async () => (await version()).startsWith('v'), 30_000);
  });

  after(async () => {
    await kubelet?.stop();
    await distribution?.close();
    await controller?.stop();
    await smi?.stop();
    await cluster?.stop();
    await agent.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a v1alpha2 TrafficSplit sends about 10% to v2, per request', async () => {
    let v2 = 0;
    for (let i = 0; i < 300; i++) {
      const v = await version();
      ok(v === 'v1' || v === 'v2', v);
      if (v === 'v2') v2++;
    }
    ok(Math.abs(v2 - 30) < 4.5 * Math.sqrt(300 * 0.1 * 0.9), `${v2} of 300 went to v2`);
  });

  test('with real pod IPs, kube-controller-manager writes EndpointSlices for the services', async () => {
    if (!process.env.SKIFF_POD_CIDR) return; // loopback pod IPs cannot be in EndpointSlices
    const slices = await waitFor('an EndpointSlice for bookstore-v2', async () => {
      const list = (await cluster.api('GET', '/apis/discovery.k8s.io/v1/namespaces/store/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dbookstore-v2')).body as { items: { endpoints?: { addresses: string[] }[] }[] };
      return list.items.some((s) => (s.endpoints ?? []).length > 0) && list.items;
    });
    ok(slices[0]?.endpoints?.[0]?.addresses[0]?.startsWith('10.244.'));
  });

  test('the Deployment\'s pod is known as its workload', () => {
    const v2 = controller.controller.topology?.pods.find((p) => p.name.startsWith('bookstore-v2-'));
    ok(v2?.meshed, 'kube-controller-manager created the pod and it runs with a sidecar');
    equal(v2?.workload.kind, 'Deployment');
    equal(v2?.workload.name, 'bookstore-v2');
  });

  test('the v1alpha3 TrafficTarget allows exactly the buyer on the listed route; everything else is 403', async () => {
    equal((await send('thief-0', 'GET', '/books')).status, 403);
    equal((await send('buyer-0', 'POST', '/books/1/buy')).status, 403, 'an unlisted route');
  });

  test('a TrafficPolicy applied with kubectl changes traffic: faults abort the buyer\'s requests until it is deleted', async () => {
    const policy = 'apiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: chaos\n  namespace: store\nspec:\n  targetRefs:\n  - kind: Service\n    name: bookstore\n  - kind: Service\n    name: no-such-service\n  faultInjection:\n    abort:\n      status: 418\n      percent: 100\n';
    const kubectl = (args: string[], stdin?: string) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.env.KUBECTL_BIN as string, ['--kubeconfig', cluster.kubeconfigPath, ...args]);
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += String(d); });
      child.on('close', (status) => resolve({ status, stderr }));
      child.stdin.end(stdin ?? '');
    });
    const applied = await kubectl(['apply', '-f', '-'], policy);
    equal(applied.status, 0, applied.stderr);
    await waitFor('the buyer gets 418 from the injected fault', async () => (await send('buyer-0', 'GET', '/books')).status === 418, 10_000);
    const topologyPolicy = controller.controller.topology?.policies.find((p) => p.key === 'store/chaos');
    ok(topologyPolicy?.issues.some((i) => i.code === 'SKIFF_E_POLICY_TARGET_MISSING' && i.message.includes('store/no-such-service')), 'the missing target is reported');
    const status = await waitFor('the policy\'s status names the missing target', async () => {
      const got = (await cluster.api('GET', '/apis/policy.skiff.dev/v1alpha1/namespaces/store/trafficpolicies/chaos')).body as { status?: { conditions?: { type: string; status: string; message: string }[] } };
      const resolved = got.status?.conditions?.find((c) => c.type === 'ResolvedRefs');
      return resolved?.status === 'False' && resolved.message.includes('store/no-such-service') && got.status;
    }, 10_000);
    equal(status.conditions?.find((c) => c.type === 'Accepted')?.status, 'True');
    const deleted = await kubectl(['delete', 'trafficpolicy', 'chaos', '-n', 'store']);
    equal(deleted.status, 0, deleted.stderr);
    await waitFor('the fault is gone', async () => (await send('buyer-0', 'GET', '/books')).status === 200, 10_000);
  });

  test('kubectl apply of the split as v1alpha4 with new weights moves the traffic to 50/50', async () => {
    const applied = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.env.KUBECTL_BIN as string, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', '-']);
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += String(d); });
      child.on('close', (status) => resolve({ status, stderr }));
      child.stdin.end('apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: bookstore\n  namespace: store\nspec:\n  service: bookstore\n  backends:\n  - service: bookstore-v1\n    weight: 50\n  - service: bookstore-v2\n    weight: 50\n');
    });
    equal(applied.status, 0, applied.stderr);
    await waitFor('the buyer\'s sidecar has the new weights', () => controller.controller.proxies.get('store/buyer-0')?.config.outbound.services.find((s) => s.name === 'bookstore')?.ports[0]?.routes[0]?.backends[0]?.weight === 50 && controller.controller.proxyStatus().find((p) => p.proxy === 'store/buyer-0')?.upToDate);
    let v2 = 0;
    for (let i = 0; i < 300; i++) if ((await version()) === 'v2') v2++;
    ok(Math.abs(v2 - 150) < 4.5 * Math.sqrt(300 * 0.25), `${v2} of 300 went to v2`);
  });

  test('a weight change through the v1alpha4 API takes effect; deleting the split restores plain routing', async () => {
    const path = `${splitPath('v1alpha4')}/bookstore`;
    await waitFor('the update is accepted', async () => {
      const current = (await cluster.api('GET', path)).body as { spec: { backends: { weight: number }[] } };
      current.spec.backends[0]!.weight = 0;
      current.spec.backends[1]!.weight = 100;
      return (await cluster.api('PUT', path, current)).status === 200;
    });
    await waitFor('all requests go to v2', async () => {
      for (let i = 0; i < 10; i++) if ((await version()) !== 'v2') return false;
      return true;
    }, 10_000);
    equal((await cluster.api('DELETE', path)).status, 200);
    const seen = await waitFor('both versions answer again', async () => {
      const versions = new Set<string>();
      for (let i = 0; i < 40; i++) versions.add(await version());
      return versions.has('v1') && versions.has('v2') && versions;
    }, 10_000);
    equal(seen.size, 2);
  });
});
