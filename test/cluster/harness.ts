/**
 * A real control plane for tests: etcd and kube-apiserver built from Go modules by
 * scripts/k8s-bins.sh (paths in ETCD_BIN, KUBE_APISERVER_BIN), a throwaway PKI (cluster CA,
 * serving and admin certificates, service-account keys, front-proxy CA for aggregated APIs),
 * readiness waiting, a kubeconfig, and a teardown that always runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createCertificate } from '../../src/lib/x509.ts';
import { generateKeyPair, privateKeyPem, type KeyPair } from '../../src/lib/csr.ts';

export interface TestCluster {
  dir: string;
  server: string;
  kubeconfig: string;
  kubeconfigPath: string;
  caPem: string;
  /** Issues a serving certificate for loopback webhooks and aggregated APIs, signed by the cluster CA. */
  servingCertificate(dnsNames: string[]): { certPem: string; keyPem: string };
  /** The API server's front-proxy client certificate (CN front-proxy-client), and one with any CN from the same CA. */
  frontProxyClient: { certPem: string; keyPem: string };
  frontProxyCertificate(commonName: string): { certPem: string; keyPem: string };
  /**
   * A raw request as admin, the way kubectl sends manifests: the typed client's serializer drops
   * schema extension keys (x-kubernetes-*) nested under `properties`, so CRDs go through here.
   */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Stops kube-apiserver (etcd keeps the data), waits, and starts it again; resolves when ready. */
  restartApiServer(downMs: number): Promise<void>;
  /**
   * Runs KUBECTL_BIN against this cluster. Asynchronous on purpose: webhooks that kubectl's
   * requests reach may be served by the test process itself.
   */
  kubectl(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export function binaries(): { etcd: string; apiserver: string; controllerManager: string } {
  const etcd = process.env.ETCD_BIN;
  const apiserver = process.env.KUBE_APISERVER_BIN;
  const controllerManager = process.env.KUBE_CONTROLLER_MANAGER_BIN;
  if (!etcd || !apiserver || !controllerManager) throw new Error('ETCD_BIN, KUBE_APISERVER_BIN and KUBE_CONTROLLER_MANAGER_BIN must name the binaries built by scripts/k8s-bins.sh (npm run test:cluster sets them)');
  return { etcd, apiserver, controllerManager };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function ca(commonName: string): { pem: string; keys: KeyPair } {
  const keys = generateKeyPair();
  const now = Date.now();
  const pem = createCertificate({ commonName, organization: 'skiff-test', publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000), isCA: true }, undefined, keys.privateKey);
  return { pem, keys };
}

function leaf(issuer: { pem: string; keys: KeyPair }, commonName: string, organization: string, san: { dnsNames?: string[]; ipAddresses?: string[] } = {}): { certPem: string; keyPem: string } {
  const keys = generateKeyPair();
  const now = Date.now();
  const certPem = createCertificate({ commonName, organization, publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000), isCA: false, ...san }, { certificatePem: issuer.pem, privateKey: issuer.keys.privateKey });
  return { certPem, keyPem: privateKeyPem(keys.privateKey) };
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface ClusterOptions {
  /** Also run kube-controller-manager (Deployments → ReplicaSets → Pods, garbage collection, …). */
  controllerManager?: boolean;
  /**
   * Make the API server reachable from pods of a real node, as in a real cluster: it listens on
   * this address too and keeps the `kubernetes` Service's endpoints pointing at it, and pods
   * get ServiceAccount tokens (the ServiceAccount admission plugin is on).
   */
  forPods?: { address: string };
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const bins = binaries();
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cluster-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const clusterCa = ca('skiff-test-cluster-ca');
  const frontProxyCa = ca('skiff-test-front-proxy-ca');
  const serving = leaf(clusterCa, 'kube-apiserver', 'skiff-test', {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', ...(options.forPods ? [options.forPods.address, '10.96.0.1'] : [])],
  });
  const admin = leaf(clusterCa, 'admin', 'system:masters');
  const kubeletClient = leaf(clusterCa, 'kube-apiserver-kubelet-client', 'system:masters');
  const frontProxyClient = leaf(frontProxyCa, 'front-proxy-client', 'skiff-test');
  const sa = generateKeyPair();
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const launch = (name: string, command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d) => { logs.push(`${name}: ${String(d)}`); if (logs.length > 200) logs.shift(); });
    children.push(child);
    return child;
  };
  launch('etcd', bins.etcd, ['--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`, '--unsafe-no-fsync', '--log-level', 'warn']);
  const server = `https://127.0.0.1:${apiPort}`;
  const apiserverArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`, `--bind-address=${options.forPods ? '0.0.0.0' : '127.0.0.1'}`, `--advertise-address=${options.forPods?.address ?? '127.0.0.1'}`, `--secure-port=${apiPort}`,
    `--tls-cert-file=${file('apiserver.crt', serving.certPem)}`, `--tls-private-key-file=${file('apiserver.key', serving.keyPem)}`,
    `--client-ca-file=${file('ca.crt', clusterCa.pem)}`, '--authorization-mode=RBAC',
    `--service-account-issuer=${server}`, `--service-account-key-file=${file('sa.pub', createPublicKey(sa.privateKey).export({ type: 'spki', format: 'pem' }) as string)}`,
    `--service-account-signing-key-file=${file('sa.key', privateKeyPem(sa.privateKey))}`,
    '--service-cluster-ip-range=10.96.0.0/24', '--enable-priority-and-fairness=false',
    ...(options.forPods ? ['--endpoint-reconciler-type=lease'] : ['--endpoint-reconciler-type=none', '--disable-admission-plugins=ServiceAccount']),
    // Logs, exec and port-forward reach kubelets with a client certificate the kubelets trust (as kubeadm sets it up).
    ...(options.forPods ? [`--kubelet-client-certificate=${file('apiserver-kubelet-client.crt', kubeletClient.certPem)}`, `--kubelet-client-key=${file('apiserver-kubelet-client.key', kubeletClient.keyPem)}`, '--kubelet-preferred-address-types=InternalIP'] : []),
    `--requestheader-client-ca-file=${file('front-proxy-ca.crt', frontProxyCa.pem)}`, '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User', '--requestheader-group-headers=X-Remote-Group', '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${file('front-proxy-client.crt', frontProxyClient.certPem)}`, `--proxy-client-key-file=${file('front-proxy-client.key', frontProxyClient.keyPem)}`,
    // Aggregated APIs are reached at their Service's endpoints, as in clusters without kube-proxy on the control plane.
    '--enable-aggregator-routing=true',
  ];
  let apiserver = launch('kube-apiserver', bins.apiserver, apiserverArgs);
  const agent = new Agent({ connect: { ca: clusterCa.pem, cert: admin.certPem, key: admin.keyPem } });
  const stop = async () => {
    await agent.close().catch(() => undefined);
    await Promise.all([...children].reverse().map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  const waitReady = async () => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        const res = await request(`${server}/readyz`, { dispatcher: agent });
        const text = await res.body.text();
        if (res.statusCode === 200) return;
        if (Date.now() > deadline) throw new Error(`kube-apiserver not ready: ${text.slice(-500)}`);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        if (children.some((c) => c.exitCode !== null && c.signalCode === null)) throw new Error(`a control-plane process exited:\n${logs.slice(-20).join('')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  try {
    await waitReady();
  } catch (err) {
    await stop();
    throw err;
  }
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(clusterCa.pem)}
users:
- name: admin
  user:
    client-certificate-data: ${b64(admin.certPem)}
    client-key-data: ${b64(admin.keyPem)}
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
`;
  const kubeconfigPath = file('kubeconfig', kubeconfig);
  if (options.controllerManager) {
    launch('kube-controller-manager', bins.controllerManager, [
      `--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`,
      `--service-account-private-key-file=${join(dir, 'sa.key')}`, `--root-ca-file=${join(dir, 'ca.crt')}`, '--use-service-account-credentials=false',
      '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route', '--concurrent-deployment-syncs=2',
    ]);
  }
  return {
    dir, server, kubeconfig, kubeconfigPath, caPem: clusterCa.pem,
    servingCertificate: (dnsNames) => leaf(clusterCa, dnsNames[0] ?? 'localhost', 'skiff-test', { dnsNames, ipAddresses: ['127.0.0.1'] }),
    frontProxyClient,
    frontProxyCertificate: (commonName) => leaf(frontProxyCa, commonName, 'skiff-test'),
    api: async (method, path, body) => {
      const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      const res = await request(`${server}${path}`, { method: method as 'GET', dispatcher: agent, headers: { 'content-type': type }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
    },
    kubectl: (args, input) => new Promise((resolve) => {
      const child = spawn(process.env.KUBECTL_BIN as string, ['--kubeconfig', kubeconfigPath, ...args]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += String(d); });
      child.stderr.on('data', (d) => { stderr += String(d); });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(input ?? '');
    }),
    restartApiServer: async (downMs) => {
      await stopChild(apiserver);
      children.splice(children.indexOf(apiserver), 1);
      await new Promise((r) => setTimeout(r, downMs));
      apiserver = launch('kube-apiserver', bins.apiserver, apiserverArgs);
      await waitReady();
    },
    stop,
  };
}
