/**
 * The real node the node tests share: a control plane, a kubelet with containerd and runc
 * running the given images, CoreDNS behind the cluster DNS address, and Skiff installed from
 * deploy/ exactly as a user would (`kubectl apply -k deploy/`).
 */
import { ok } from 'node:assert/strict';
import { join } from 'node:path';
import { buildBinaryImage, buildImage, buildPauseImage, PAUSE_IMAGE } from '../../scripts/build-image.ts';
import { startCluster, type TestCluster } from '../cluster/harness.ts';
import { startNode, type TestNode } from '../cluster/node.ts';
import { waitFor } from '../support/wait.ts';

export const NODE_IP = process.env.SKIFF_NODE_IP ?? '10.250.0.2';
export const CLUSTER_DNS = '10.96.0.10';
export const COREDNS_IMAGE = 'localhost/coredns:test';
export const ROOT = join(import.meta.dirname, '..', '..');

export interface RealNode { cluster: TestCluster; node: TestNode; image: string }

/** Builds Skiff's, the pause and the CoreDNS images (plus `extraImages(work)`), starts the control plane and the node. */
export async function startRealNode(work: string, extraImages: (work: string) => string[] = () => []): Promise<RealNode> {
  const built = await buildImage(join(work, 'skiff.oci.tar'));
  const cluster = await startCluster({ controllerManager: true, forPods: { address: NODE_IP } });
  // With the ServiceAccount admission plugin on, pods wait for their namespace's default account.
  for (const ns of ['default', 'kube-system']) {
    await waitFor(`the default ServiceAccount of ${ns}`, async () => (await cluster.api('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200, 30_000);
  }
  const corednsBin = process.env.COREDNS_BIN;
  ok(corednsBin, 'COREDNS_BIN names the CoreDNS built by scripts/k8s-bins.sh --node');
  const node = await startNode(cluster, {
    nodeIp: NODE_IP, podSubnet: '10.244.1.0/24', sandboxImage: PAUSE_IMAGE, schedulerAndProxy: true, clusterDns: CLUSTER_DNS,
    images: [buildPauseImage(join(work, 'pause.oci.tar')), built.file, buildBinaryImage(join(work, 'coredns.oci.tar'), COREDNS_IMAGE, corednsBin, ['-conf', '/etc/coredns/Corefile']), ...extraImages(work)],
  });
  return { cluster, node, image: built.name };
}

async function created(cluster: TestCluster, path: string, body: unknown): Promise<void> {
  const res = await cluster.api('POST', path, body);
  if (res.status !== 201 && res.status !== 409) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
}

const isReady = (p: { status?: { conditions?: { type: string; status: string }[] } }) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * CoreDNS as a pod on the node's network (so it reaches the API server on this network
 * namespace's loopback), on port 1053 (no privileged port), behind the kube-dns Service at the
 * cluster DNS address; resolves once Ready.
 */
export async function installCoreDns(real: RealNode): Promise<void> {
  const { cluster, node } = real;
  await created(cluster, '/api/v1/namespaces/kube-system/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'coredns' }, stringData: {
    kubeconfig: cluster.kubeconfig,
    Corefile: '.:1053 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        kubeconfig /etc/coredns/kubeconfig test\n        pods insecure\n        fallthrough in-addr.arpa ip6.arpa\n    }\n    cache 5\n}\n',
  } });
  await created(cluster, '/api/v1/namespaces/kube-system/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'coredns', labels: { 'k8s-app': 'kube-dns' } },
    spec: {
      hostNetwork: true, dnsPolicy: 'Default',
      containers: [{ name: 'coredns', image: COREDNS_IMAGE, imagePullPolicy: 'Never', volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
        readinessProbe: { tcpSocket: { port: 1053 }, periodSeconds: 1 } }],
      volumes: [{ name: 'config', secret: { secretName: 'coredns' } }],
    },
  });
  await created(cluster, '/api/v1/namespaces/kube-system/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns' }, spec: { clusterIP: CLUSTER_DNS, selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, targetPort: 1053, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, targetPort: 1053, protocol: 'TCP' }] } });
  await waitFor('CoreDNS to be Ready', async () => isReady((await cluster.api('GET', '/api/v1/namespaces/kube-system/pods/coredns')).body as never), 90_000)
    .catch((err: Error) => { throw new Error(`${err.message}\n${node.logs()}`); });
}

/** `kubectl apply -k deploy/`, then waits until the controller Deployment is Available. */
export async function installSkiff(real: RealNode): Promise<void> {
  const { cluster, node } = real;
  const applied = await cluster.kubectl(['apply', '-k', join(ROOT, 'deploy')]);
  if (applied.status !== 0) throw new Error(`kubectl apply -k deploy: ${applied.stderr}`);
  await waitFor('the controller Deployment to be Available', async () => {
    const d = (await cluster.api('GET', '/apis/apps/v1/namespaces/skiff-system/deployments/skiff-controller')).body as { status?: { availableReplicas?: number; conditions?: { type: string; status: string }[] } };
    return d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') && (d.status.availableReplicas ?? 0) >= 1;
  }, 120_000).catch(async (err: Error) => {
    const pods = (await cluster.api('GET', '/api/v1/namespaces/skiff-system/pods')).body as { items?: { metadata: { name: string }; status?: unknown }[] };
    throw new Error(`${err.message}\npods: ${JSON.stringify(pods.items?.map((p) => [p.metadata.name, p.status]))}\n${node.logs()}`);
  });
}
