/**
 * A real node: kubelet, containerd and runc run Skiff's image as real pods with their own
 * network namespaces on a CNI bridge. A pod runs the CLI to completion; a sidecar pod gets its
 * config and certificate from a ConfigMap and a Secret and is Ready by kubelet's own probe on
 * the health port.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { buildAppImage } from '../../scripts/build-image.ts';
import { PORTS } from '../../src/lib/ports.ts';
import { buildTopology } from '../../src/model/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { translateAll } from '../../src/translate/index.ts';
import type { TestCluster } from '../cluster/harness.ts';
import type { TestNode } from '../cluster/node.ts';
import { meshYaml } from '../support/mesh.ts';
import { createTestPki } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';
import { runConformance } from '../../conformance/runner/main.ts';
import { CLUSTER_DNS, installCoreDns, installSkiff, ROOT, startRealNode } from './real-node.ts';
import { everyReplicaAgrees, perDestination, skiffDashboardView, skiffStat, waitForEdges, waitForTotal } from './traffic-metrics.ts';

type PodStatus = { status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { state?: Record<string, { exitCode?: number; reason?: string }> }[] } };

describe('a real node', () => {
  let cluster: TestCluster;
  let node: TestNode;
  let image: string;
  const work = mkdtempSync(join(tmpdir(), 'skiff-node-images-'));
  const pod = async (name: string) => (await cluster.api('GET', `/api/v1/namespaces/default/pods/${name}`)).body as PodStatus;
  const create = async (path: string, body: unknown) => {
    const res = await cluster.api('POST', path, body);
    equal(res.status, 201, JSON.stringify(res.body));
  };

  before(async () => {
    // The bookstore's apps under the image name its manifests use (IfNotPresent: no registry is asked).
    ({ cluster, node, image } = await startRealNode(work, (dir) => [buildAppImage(join(dir, 'apps.oci.tar'), 'docker.io/library/node:24-alpine', join(ROOT, 'examples', 'bookstore', 'apps'))]));
  });
  after(async () => {
    try {
      await node?.stop();
    } finally {
      await cluster?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('a pod from the Skiff image runs the CLI to completion', async () => {
    await create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'validate' }, spec: { nodeName: node.name, restartPolicy: 'Never', containers: [{ name: 'skiff', image, imagePullPolicy: 'Never', args: ['validate', '/app'] }] } });
    const done = await waitFor('the pod to finish', async () => {
      const p = await pod('validate');
      return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
    }, 90_000).catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
  });

  /** A sidecar container configured from the ConfigMap web-proxy and the Secret web-certs, with kubelet's readiness probe on its health port. */
  const sidecarSpec = () => ({
    containers: [{
      name: 'skiff-proxy', image, imagePullPolicy: 'Never',
      args: ['proxy', '--config', '/config/config.json', '--certs', '/certs'],
      ports: [{ name: 'health', containerPort: PORTS.health }, { name: 'mesh', containerPort: PORTS.inbound }],
      readinessProbe: { httpGet: { path: '/ready', port: PORTS.health }, periodSeconds: 1 },
      securityContext: { readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false },
      volumeMounts: [{ name: 'config', mountPath: '/config', readOnly: true }, { name: 'certs', mountPath: '/certs', readOnly: true }],
    }],
    volumes: [{ name: 'config', configMap: { name: 'web-proxy' } }, { name: 'certs', secret: { secretName: 'web-certs', defaultMode: 0o444 } }],
  });
  const readyPod = (what: string, find: () => Promise<PodStatus | undefined>) => waitFor(what, async () => {
    const p = await find();
    return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p;
  }, 90_000).catch(async (err: Error) => {
    const pods = (await cluster.api('GET', '/api/v1/namespaces/default/pods')).body as { items?: { metadata: { name: string }; spec?: { nodeName?: string }; status?: unknown }[] };
    throw new Error(`${err.message}\npods: ${JSON.stringify(pods.items?.map((p) => [p.metadata.name, p.spec?.nodeName, p.status]))}\n${node.logs()}`);
  });

  test('a sidecar pod, configured from a ConfigMap and a Secret, is Ready by kubelet\'s probe of its health port', async () => {
    const { documents } = parseYamlText('pod.yaml', meshYaml('default', 'strict', [{ name: 'web', ports: [8080] }]));
    const config = translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value)))).get('default/web-0');
    ok(config);
    const certs = join(work, 'certs');
    createTestPki().issue(certs, config.proxy.identity);
    await create('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-proxy' }, data: { 'config.json': JSON.stringify(config) } });
    await create('/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-certs' }, data: Object.fromEntries(['cert.pem', 'key.pem', 'ca.pem'].map((f) => [f, readFileSync(join(certs, f)).toString('base64')])) });
    await create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { app: 'web-pod' } }, spec: { nodeName: node.name, ...sidecarSpec() } });
    const ready = await readyPod('the sidecar pod to be Ready', () => pod('web-0'));
    ok(ready.status?.podIP?.startsWith('10.244.1.'), `pod IP ${ready.status?.podIP} from the CNI bridge`);
    const res = await fetch(`http://${ready.status?.podIP}:${PORTS.health}/ready`);
    equal(res.status, 200, 'the test reaches the pod over the bridge too');
  });

  test('a Deployment is scheduled onto the node by kube-scheduler, and its Service\'s ClusterIP reaches it through kube-proxy', async () => {
    await create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: sidecarSpec() } },
    });
    await create('/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'health', port: 80, targetPort: PORTS.health }] } });
    const ready = await readyPod('the Deployment\'s pod to be scheduled and Ready', async () => {
      const list = (await cluster.api('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body as { items?: (PodStatus & { spec?: { nodeName?: string } })[] };
      return list.items?.[0];
    }) as PodStatus & { spec?: { nodeName?: string } };
    equal(ready.spec?.nodeName, node.name, 'kube-scheduler placed it');
    const service = (await cluster.api('GET', '/api/v1/namespaces/default/services/web')).body as { spec: { clusterIP: string } };
    const res = await waitFor('the ClusterIP answers', async () => {
      const r = await fetch(`http://${service.spec.clusterIP}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return r?.status === 200 && r;
    }, 60_000).catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    equal(res.status, 200);
  });

  test('CoreDNS runs as a pod and pods resolve <service>.<namespace>.svc.cluster.local to the ClusterIP', async () => {
    await installCoreDns({ cluster, node, image });
    const service = (await cluster.api('GET', '/api/v1/namespaces/default/services/web')).body as { spec: { clusterIP: string } };
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([CLUSTER_DNS]);
    const answer = await waitFor('CoreDNS to answer through the kube-dns ClusterIP', () => resolver.resolve4('web.default.svc.cluster.local').catch(() => undefined), 30_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    deepStrictEqual(answer, [service.spec.clusterIP]);
    // Inside a pod, through kubelet's resolv.conf and the search path: exit 0 when the short form resolves to the ClusterIP.
    const script = `require('dns').promises.lookup('web.default').then((r) => process.exit(r.address === '${service.spec.clusterIP}' ? 0 : 3), (e) => { console.error(e.code); process.exit(e.code === 'ENOTFOUND' ? 5 : e.code === 'EAI_AGAIN' ? 6 : 4); })`;
    await create('/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'resolve' }, spec: { restartPolicy: 'Never', containers: [{ name: 'lookup', image, imagePullPolicy: 'Never', command: ['/usr/local/bin/node', '-e', script] }] } });
    const done = await waitFor('the lookup pod to finish', async () => {
      const p = await pod('resolve');
      return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
    }, 90_000).catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    equal(done.status?.phase, 'Succeeded', `the pod resolved the Service through CoreDNS: ${JSON.stringify(done.status?.containerStatuses)}`);
  });

  test('kubectl apply -k deploy/ alone installs the controller from the local image, and it becomes Available on the node', async () => {
    await installSkiff({ cluster, node, image });
    const root = await cluster.api('GET', '/api/v1/namespaces/skiff-system/secrets/skiff-ca');
    equal(root.status, 200, 'the controller created its CA root in the Secret, with its in-cluster credentials');
  });

  type Seen = { statuses: Record<string, number>; versions: Record<string, number>; first: { status: number; version?: string } };
  /**
   * Runs an injected client pod in the bookstore namespace; its app (no proxy setting) reports what it saw, and its first
   * request (made while waiting for the mesh) as `first`. It makes `count` requests, or fewer if told to stop (`stopLoad`).
   */
  async function load(name: string, sa: string, url: string, count: number, pauseMs = 0): Promise<Seen> {
    // A request that gets no answer in 10 s counts as 'timeout' (a proxy must never hang one), so the pod always reports.
    const script = `const once = () => fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(10000) }).then(async (r) => ({ status: r.status, body: await r.text() }), (e) => ({ status: e.name === 'TimeoutError' ? 'timeout' : 0, body: '' }));
(async () => {
  const deadline = Date.now() + 60000;
  let first;
  for (;;) { first = await once(); if ((first.status !== 0 && first.status !== 503) || Date.now() > deadline) break; await new Promise((r) => setTimeout(r, 250)); }
  let firstVersion; try { firstVersion = JSON.parse(first.body).version; } catch {}
  const statuses = {}; const versions = {};
  let stop = false; process.on('SIGUSR2', () => { stop = true; });
  for (let i = 0; i < ${count} && !stop; i++) { if (${pauseMs}) await new Promise((r) => setTimeout(r, ${pauseMs})); const r = await once(); statuses[r.status] = (statuses[r.status] || 0) + 1; try { const v = JSON.parse(r.body).version; if (v) versions[v] = (versions[v] || 0) + 1; } catch {} }
  require('node:fs').writeFileSync('/dev/termination-log', JSON.stringify({ statuses, versions, first: { status: first.status, version: firstVersion } }));
})();`;
    await create('/api/v1/namespaces/bookstore/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { serviceAccountName: sa, restartPolicy: 'Never', containers: [{ name: 'app', image: 'node:24-alpine', command: ['node', '-e', script] }] } });
    const done = await waitFor(`${name} to report`, async () => {
      const p = (await cluster.api('GET', `/api/v1/namespaces/bookstore/pods/${name}`)).body as { status?: { containerStatuses?: { name: string; state?: { terminated?: { exitCode: number; message?: string } } }[] } };
      return p.status?.containerStatuses?.find((c) => c.name === 'app')?.state?.terminated;
    }, 120_000).catch(async (err: Error) => { throw new Error(`${err.message}\n${await podReport(name)}\n${node.logs()}`); });
    equal(done.exitCode, 0);
    return JSON.parse(done.message ?? '{}') as Seen;
  }
  /** Tells a running `load` pod to finish after the request it is making. */
  async function stopLoad(name: string): Promise<void> {
    const told = await cluster.kubectl(['-n', 'bookstore', 'exec', name, '-c', 'app', '--', 'node', '-e', 'process.kill(1, "SIGUSR2")']);
    equal(told.status, 0, told.stderr);
  }
  /** A pod's status and every container's log, for a failure message. */
  async function podReport(name: string): Promise<string> {
    const pod = (await cluster.api('GET', `/api/v1/namespaces/bookstore/pods/${name}`)).body as { spec?: { initContainers?: { name: string }[]; containers?: { name: string }[] }; status?: unknown };
    const parts = [`--- pod ${name} status\n${JSON.stringify(pod.status, null, 1)}`];
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      const log = await cluster.kubectl(['-n', 'bookstore', 'logs', name, '-c', c.name, '--tail', '60']);
      parts.push(`--- ${name}/${c.name} log\n${log.stdout}${log.stderr}`);
    }
    return parts.join('\n');
  }
  /** What buyer-load saw per version: the TrafficMetrics test checks the API against it. */
  let buyerSeen: Record<string, number> = {};
  type InjectedPod = { metadata: { name: string; annotations?: Record<string, string> }; spec: { initContainers?: { name: string }[]; containers: { name: string }[] }; status?: { podIP?: string; conditions?: { type: string; status: string }[] } };
  const bookstorePods = async (selector: string) => ((await cluster.api('GET', `/api/v1/namespaces/bookstore/pods?labelSelector=${encodeURIComponent(selector)}`)).body as { items: InjectedPod[] }).items;

  test('the controller issues its own webhook certificate: caBundle lands in the injector, the validator and the CRDs, and the validator answers', async () => {
    await waitFor('caBundle in every webhook configuration and converted CRD', async () => {
      const injector = (await cluster.api('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/skiff-injector')).body as { webhooks: { clientConfig: { caBundle?: string } }[] };
      const validator = (await cluster.api('GET', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/skiff-smi-validation')).body as { webhooks: { clientConfig: { caBundle?: string } }[] };
      const crd = (await cluster.api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/trafficsplits.split.smi-spec.io')).body as { spec: { conversion?: { webhook?: { clientConfig?: { caBundle?: string } } } } };
      return [...injector.webhooks, ...validator.webhooks].every((w) => w.clientConfig.caBundle) && crd.spec.conversion?.webhook?.clientConfig?.caBundle;
    }, 60_000);
    const refused = await waitFor('the validating webhook to answer', async () => {
      const r = await cluster.kubectl(['apply', '-f', '-'], 'apiVersion: split.smi-spec.io/v1alpha2\nkind: TrafficSplit\nmetadata: {name: bad, namespace: default}\nspec: {service: web, backends: [{service: web-v1, weight: 1}, {service: web-v1, weight: 2}]}\n');
      return r.status !== 0 && r.stderr.includes('SKIFF_E_') && r.stderr;
    }, 30_000);
    ok(refused.includes('denied the request'), refused);
  });

  test('the bookstore example, applied unchanged, runs with injected sidecars and transparent capture: split, 403s, no bypass by pod IP', async () => {
    // The namespace first (kubectl applies a folder's files in name order), then everything.
    for (const files of [join(ROOT, 'examples', 'bookstore', 'workloads.yaml'), join(ROOT, 'examples', 'bookstore')]) {
      const applied = await cluster.kubectl(['apply', '-f', files]);
      equal(applied.status, 0, applied.stderr);
    }
    await waitFor('both bookstore pods to be Ready (the sidecar\'s readiness included)', async () => (await bookstorePods('app=bookstore')).filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2, 180_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
    for (const p of await bookstorePods('app=bookstore')) {
      deepStrictEqual(p.spec.initContainers?.map((c) => c.name), ['skiff-capture', 'skiff-proxy'], `${p.metadata.name} is injected once, as a native sidecar after the capture step`);
      ok(p.metadata.annotations?.['skiff.dev/injected']);
      deepStrictEqual(p.spec.containers.map((c) => c.name), [p.metadata.name.startsWith('bookstore-v1') ? 'bookstore-v1' : 'bookstore-v2']);
      // The sidecar found its container's memory limit in its cgroup and bounds what it takes by it.
      const logs = await cluster.kubectl(['-n', 'bookstore', 'logs', p.metadata.name, '-c', 'skiff-proxy']);
      ok(/"event":"memory-bounds","limitMiB":128,"maxInFlight":194,"maxInboundConnections":358,"maxOutboundConnections":546/.test(logs.stdout), `${p.metadata.name}'s sidecar: ${logs.stdout.slice(0, 2000)} ${logs.stderr}`);
    }
    const buyer = await load('buyer-load', 'buyer', 'http://bookstore.bookstore/books', 300);
    equal(buyer.statuses['200'], 300, JSON.stringify(buyer));
    buyerSeen = { ...buyer.versions };
    // The first request, which found the mesh ready, was answered too: the sidecars counted it.
    if (buyer.first.version) buyerSeen[buyer.first.version] = (buyerSeen[buyer.first.version] ?? 0) + 1;
    const v2 = buyer.versions.v2 ?? 0;
    ok(Math.abs(v2 - 30) < 4.5 * Math.sqrt(300 * 0.1 * 0.9), `${v2} of 300 went to v2`);
    const thief = await load('thief-load', 'thief', 'http://bookstore.bookstore/books', 20);
    equal(thief.statuses['403'], 20, JSON.stringify(thief));
    const target = (await bookstorePods('app=bookstore,version=v1'))[0]?.status?.podIP;
    ok(target);
    const direct = await load('thief-direct', 'thief', `http://${target}:8080/books`, 10);
    equal(direct.statuses['403'], 10, `calling the pod IP directly still meets its sidecar: ${JSON.stringify(direct)}`);
  });

  test('TrafficMetrics through the API server: exact counts per destination from both ends, denials, every replica the same, skiff stat', async () => {
    // buyer-load saw 301 answers (300 counted and its first); the thief's 21 (20 and its first) were all denied.
    const served = await waitForEdges(cluster, 'buyer-load', { 'bookstore-v1': buyerSeen.v1 ?? 0, 'bookstore-v2': buyerSeen.v2 ?? 0 });
    deepStrictEqual(perDestination(served, 'server'), perDestination(served, 'client'), 'the bookstore\'s sidecars counted the same requests');
    // The split sent the thief's requests to v1 or v2 (all 21 to v1 about one run in nine): count the total.
    const thief = await waitForTotal(cluster, 'thief-load', 'denied_count', 21);
    equal(Object.values(perDestination(thief, 'client')).reduce((n, v) => n + v, 0), 0, 'none of the thief\'s requests succeeded');
    await everyReplicaAgrees(cluster, '/namespaces/bookstore/pods/buyer-load/edges?t=5m&edgeKind=deployments');
    const stat = await skiffStat(ROOT, cluster.kubeconfigPath, 'trafficsplit/bookstore', '-n', 'bookstore', '-t', '5m');
    equal(stat.status, 0, stat.out);
    ok(/bookstore\s+bookstore\s+bookstore-v1\s+90%/.test(stat.out), stat.out);
  });

  test('skiff dashboard on the cluster: the graph from the API server and the controller, with the user\'s credentials', async () => {
    const { page, view } = await skiffDashboardView(ROOT, cluster.kubeconfigPath, '5m');
    equal(page, 200);
    const root = 'service:bookstore/bookstore';
    const into = view.edges.filter((e) => e.kind === 'split' && e.target === root);
    ok(into.some((e) => e.source.includes('buyer-load') && (e.traffic?.requests ?? 0) >= 300 && e.access === 'allowed'), JSON.stringify(into));
    ok(into.some((e) => e.source === 'workload:bookstore/Deployment/thief' && e.denied && e.access === 'not-allowed'), JSON.stringify(into));
    ok(view.edges.some((e) => e.kind === 'backend' && e.source === root && e.configuredPercent === 90), 'the split\'s backends with their weights');
    const split = view.splits.find((s) => s.split === 'bookstore/bookstore');
    ok(split?.conditions.some((c) => c.type === 'Accepted' && c.status === 'True'), `the status the leader wrote: ${JSON.stringify(split)}`);
    const v1 = view.workloads.find((w) => w.id === 'workload:bookstore/Deployment/bookstore-v1');
    // Configs change as load pods come and go: a proxy may be applying the next one right now.
    ok(v1?.pods.length && v1.pods.every((p) => p.connected && p.applied && p.desired && p.certificateNotAfter && Date.parse(p.certificateNotAfter) > Date.now()), JSON.stringify(v1));
  });

  test('a weight changed with kubectl apply moves the traffic; an opted-out pod gets no sidecar', async () => {
    const applied = await cluster.kubectl(['apply', '-f', '-'], 'apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: bookstore\n  namespace: bookstore\nspec:\n  service: bookstore\n  backends:\n  - service: bookstore-v1\n    weight: 0\n  - service: bookstore-v2\n    weight: 100\n');
    equal(applied.status, 0, applied.stderr);
    const moved = await waitFor('all traffic on v2', async () => {
      const seen = await load(`buyer-v2-${Date.now() % 100000}`, 'buyer', 'http://bookstore.bookstore/books', 20);
      return seen.versions.v2 === 20 && seen;
    }, 90_000);
    equal(moved.statuses['200'], 20);
    await create('/api/v1/namespaces/bookstore/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'outside', annotations: { 'skiff.dev/inject': 'disabled' } }, spec: { containers: [{ name: 'app', image: 'node:24-alpine', command: ['node', '-e', 'setInterval(() => {}, 1000)'] }] } });
    const outside = (await cluster.api('GET', '/api/v1/namespaces/bookstore/pods/outside')).body as InjectedPod;
    equal(outside.spec.initContainers, undefined);
    equal(outside.metadata.annotations?.['skiff.dev/injected'], undefined);
  });

  test('a tcpSocket probe of an injected pod tests the application, not its sidecar: a port nobody listens on keeps the pod unready', async () => {
    // Two injected pods whose app probes port 7000 over TCP; only one listens there.
    const probed = (name: string, listens: boolean) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { containers: [{ name: 'app', image: 'node:24-alpine', command: ['node', '-e', listens ? 'require("node:net").createServer((s) => s.end()).listen(7000)' : 'setInterval(() => {}, 1000)'], readinessProbe: { tcpSocket: { port: 7000 }, periodSeconds: 1 } }] },
    });
    await create('/api/v1/namespaces/bookstore/pods', probed('probed-up', true));
    await create('/api/v1/namespaces/bookstore/pods', probed('probed-down', false));
    type Probed = InjectedPod & { spec: { containers: { readinessProbe?: Record<string, unknown> }[] }; status?: { conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; ready: boolean }[]; initContainerStatuses?: { name: string; ready: boolean }[] } };
    const get = async (name: string) => (await cluster.api('GET', `/api/v1/namespaces/bookstore/pods/${name}`)).body as Probed;
    deepStrictEqual((await get('probed-down')).spec.containers[0]?.readinessProbe, { httpGet: { path: '/app-health/tcp/7000', port: 15021, scheme: 'HTTP' }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
    await waitFor('probed-up Ready', async () => (await get('probed-up')).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), 90_000);
    // probed-down's sidecar is ready and its app has run for a while: its probe has been answered, and it failed.
    const down = await waitFor('probed-down\'s sidecar ready and its app probed for 5 s', async () => {
      const p = await get('probed-down');
      const sidecarReady = p.status?.initContainerStatuses?.some((c) => c.name === 'skiff-proxy' && c.ready);
      return sidecarReady && p;
    }, 90_000);
    await new Promise((r) => setTimeout(r, 5000));
    const after = await get('probed-down');
    equal(after.status?.containerStatuses?.find((c) => c.name === 'app')?.ready, false, `the app's port is closed: ${JSON.stringify(after.status)}`);
    ok(down.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'));
    for (const name of ['probed-up', 'probed-down']) await cluster.api('DELETE', `/api/v1/namespaces/bookstore/pods/${name}?gracePeriodSeconds=0`);
  });

  test('injection is idempotent: an injected pod sent through the webhook again comes back unchanged', async () => {
    const [pod] = await bookstorePods('app=bookstore,version=v1');
    ok(pod);
    const { metadata, spec } = (await cluster.api('GET', `/api/v1/namespaces/bookstore/pods/${pod.metadata.name}`)).body as { metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> & { initContainers: { name: string }[]; containers: { name: string }[] } };
    const again = await cluster.api('POST', '/api/v1/namespaces/bookstore/pods?dryRun=All', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${metadata.name}-again`, labels: metadata.labels, annotations: metadata.annotations }, spec: { ...spec, nodeName: undefined } });
    equal(again.status, 201, JSON.stringify(again.body));
    const back = again.body as { spec: { initContainers: { name: string }[]; containers: { name: string }[]; volumes: { name: string }[] } };
    deepStrictEqual(back.spec.initContainers.map((c) => c.name), spec.initContainers.map((c) => c.name));
    deepStrictEqual(back.spec.containers.map((c) => c.name), spec.containers.map((c) => c.name));
    equal(back.spec.volumes.filter((v) => v.name === 'skiff-identity').length, 1);
  });

  test('an injected pod\'s proxy restarts cleanly: the kubelet restarts the native sidecar, it re-bootstraps and traffic flows again', async () => {
    const [pod] = await bookstorePods('app=bookstore,version=v2');
    ok(pod);
    const killed = await cluster.kubectl(['-n', 'bookstore', 'exec', pod.metadata.name, '-c', 'skiff-proxy', '--', 'node', '-e', 'process.kill(1, "SIGTERM")']);
    equal(killed.status, 0, killed.stderr);
    type Statuses = { status: { initContainerStatuses?: { name: string; restartCount: number; ready: boolean }[]; conditions?: { type: string; status: string }[] } };
    await waitFor('the sidecar restarted and the pod Ready again', async () => {
      const p = (await cluster.api('GET', `/api/v1/namespaces/bookstore/pods/${pod.metadata.name}`)).body as Statuses;
      const proxy = p.status.initContainerStatuses?.find((c) => c.name === 'skiff-proxy');
      return (proxy?.restartCount ?? 0) >= 1 && proxy?.ready && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 90_000);
    const seen = await load('buyer-after-restart', 'buyer', 'http://bookstore.bookstore/books', 20);
    equal(seen.statuses['200'], 20, JSON.stringify(seen));
  });

  test('a pod deleted under load: requests that had not reached it go to the other replica', async () => {
    const scaled = await cluster.kubectl(['-n', 'bookstore', 'scale', 'deployment/bookstore-v2', '--replicas=2']);
    equal(scaled.status, 0, scaled.stderr);
    await waitFor('two Ready v2 pods', async () => (await bookstorePods('app=bookstore,version=v2')).filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2, 120_000);
    // About 15 s of sequential requests (all on v2 since the weight change); one v2 pod is deleted in the middle.
    const running = load('buyer-during-delete', 'buyer', 'http://bookstore.bookstore/books', 500, 30);
    await waitFor('the load pod running', async () => ((await cluster.api('GET', '/api/v1/namespaces/bookstore/pods/buyer-during-delete')).body as { status?: { phase?: string } }).status?.phase === 'Running', 60_000);
    await new Promise((r) => setTimeout(r, 5000));
    const [victim] = await bookstorePods('app=bookstore,version=v2');
    ok(victim);
    equal((await cluster.api('DELETE', `/api/v1/namespaces/bookstore/pods/${victim.metadata.name}`)).status, 200);
    const seen = await running;
    // At most the one request in flight inside the application when it stopped may fail.
    ok((seen.statuses['200'] ?? 0) >= 499, `requests lost to the deleted pod: ${JSON.stringify(seen)}`);
  });

  test('each controller replica deleted in turn under load: its proxies resume on the other, no request fails', async () => {
    type ControllerPod = { metadata: { name: string; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } };
    const controllers = async () => ((await cluster.api('GET', '/api/v1/namespaces/skiff-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dskiff-controller')).body as { items: ControllerPod[] }).items
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const before = (await controllers()).map((p) => p.metadata.name);
    equal(before.length, 2, `two Ready replicas: ${before.join(', ')}`);
    // Sequential requests (one every 40 ms at most) from a sidecar that subscribed to the bookstore on its first call,
    // from before the first deletion until 5 s after the second replacement is Ready; 1,800 (~80 s) at most.
    const running = load('buyer-during-failover', 'buyer', 'http://bookstore.bookstore/books', 1800, 40);
    await waitFor('the load pod running', async () => ((await cluster.api('GET', '/api/v1/namespaces/bookstore/pods/buyer-during-failover')).body as { status?: { phase?: string } }).status?.phase === 'Running', 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    for (const name of before) {
      equal((await cluster.api('DELETE', `/api/v1/namespaces/skiff-system/pods/${name}`)).status, 200);
      await waitFor(`a replacement for ${name} Ready`, async () => { const now = await controllers(); return now.length === 2 && !now.some((p) => p.metadata.name === name); }, 120_000);
    }
    await new Promise((r) => setTimeout(r, 5000));
    const phase = ((await cluster.api('GET', '/api/v1/namespaces/bookstore/pods/buyer-during-failover')).body as { status?: { phase?: string } }).status?.phase;
    equal(phase, 'Running', 'the load lasted through both failovers');
    await stopLoad('buyer-during-failover');
    const seen = await running;
    const total = Object.values(seen.statuses).reduce((a, b) => a + b, 0);
    deepStrictEqual(seen.statuses, { 200: total }, `requests during the failovers: ${JSON.stringify(seen)}`);
    ok(total >= 100, `the load ran through the failovers: ${total} requests`);
  });

  const check = (...args: string[]) => new Promise<{ status: number | null; out: string }>((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'skiff.mjs'), 'check', '--kubeconfig', cluster.kubeconfigPath, ...args], { timeout: 120_000 }, (err, stdout, stderr) => resolve({ status: err ? (err as { code?: number }).code ?? 1 : 0, out: stdout + stderr }));
  });

  test('skiff check passes on this install: every check ✔, the injected proxies connected', async () => {
    const result = await check();
    equal(result.status, 0, result.out);
    ok(/✔ injected proxies connected and on the current config: [1-9]\d* of [1-9]/.test(result.out), result.out);
    ok(result.out.includes('✔ injection webhook answering') && result.out.includes('✔ conversion webhook answering'), result.out);
    const pre = await check('--pre');
    equal(pre.status, 1, 'before installing, the taken namespace is a ✘');
    ok(pre.out.includes('✘ namespace skiff-system free'), pre.out);
  });

  test('the SMI conformance suite passes every upstream step (24/24), run through the API server only', async (t) => {
    const lines: string[] = [];
    const code = await runConformance(['--kubeconfig', cluster.kubeconfigPath, '--step-timeout', '90', '--parallel', '4'], (line) => lines.push(line));
    for (const line of lines) t.diagnostic(line);
    equal(code, 0, lines.join('\n'));
    ok(lines.includes('upstream SMI conformance: 24/24 steps (100.0%)'), lines.join('\n'));
  });

  test('skiff check names the broken parts: a CRD version removed, the controller scaled to 0', async () => {
    const patched = await cluster.kubectl(['patch', 'crd', 'trafficsplits.split.smi-spec.io', '--type=json', '-p', '[{"op":"remove","path":"/spec/versions/0"}]']);
    equal(patched.status, 0, patched.stderr);
    const scaled = await cluster.kubectl(['-n', 'skiff-system', 'scale', 'deployment/skiff-controller', '--replicas=0']);
    equal(scaled.status, 0, scaled.stderr);
    await waitFor('the controller pods gone', async () => ((await cluster.api('GET', '/api/v1/namespaces/skiff-system/pods')).body as { items: unknown[] }).items.length === 0, 60_000);
    const result = await check();
    equal(result.status, 1, result.out);
    for (const line of ['✘ SMI CRDs installed, every version served: trafficsplits.split.smi-spec.io has no version v1alpha1', '✘ controller Ready: 0 of 0 replicas available', '✘ a controller leader elected', '✘ conversion webhook answering', '✘ injection webhook answering']) {
      ok(result.out.includes(line), `${line}\n${result.out}`);
    }
    ok(result.out.includes('✔ Kubernetes API reachable'), 'what still works stays ✔');
  });
});
