/**
 * A real Kubernetes node for the tests: containerd (Debian's 1.6) with runc and the cgroupfs
 * driver, the CNI bridge, host-local and portmap plugins, and kubelet built from Go modules,
 * in the network namespace the test run made. Images come from OCI archives built here (the
 * pause image from images/pause/pause.c, Skiff's from `npm run image`); nothing is pulled.
 *
 * Facts of this host it is configured for: cgroup v1 (kubelet's `failCgroupV1: false`, and
 * the cgroupfs driver, which kubelet 1.36 still takes from its own config with containerd
 * 1.x); no CAP_SYS_RESOURCE (containerd's `restrict_oom_score_adj`, or runc cannot set the
 * sandbox's negative OOM score); the network namespace must be entered with `nsenter --net`,
 * not `ip netns exec`, which mounts a new /sys and hides the cgroup mounts from runc.
 * Every wait is bounded; a failure names the component and shows its log tail.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCluster } from './harness.ts';

export interface TestNode {
  name: string;
  /** The log tail of containerd and kubelet, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface NodeOptions {
  name?: string;
  /** The node's address (an interface of this network namespace). */
  nodeIp: string;
  /** Pod addresses come from here (the CNI bridge's host-local range). */
  podSubnet: string;
  /** OCI archives to import into containerd's k8s.io namespace. */
  images: string[];
  sandboxImage: string;
  /** Also run kube-scheduler (pods without nodeName land here) and kube-proxy (iptables mode: ClusterIPs work). */
  schedulerAndProxy?: boolean;
  /** The cluster DNS Service address kubelet writes into pods' resolv.conf. */
  clusterDns?: string;
}

function tail(lines: string[]): string {
  return lines.slice(-40).join('').split('\n').slice(-40).join('\n');
}

function tryLines(read: () => string): string[] {
  try {
    return read().split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

function listNetns(): string[] {
  return tryLines(() => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).map((l) => l.split(' ')[0] as string);
}

/** Mount points under a directory, deepest first (from /proc/self/mountinfo). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir)).sort().reverse();
}

/** SIGKILL to every process in a cgroup v1 hierarchy (the pods' containers). */
function killCgroup(root: string): void {
  if (!existsSync(root)) return;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) walk(join(d, entry.name));
    for (const pid of tryLines(() => readFileSync(join(d, 'cgroup.procs'), 'utf8'))) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
  };
  walk(root);
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, logs: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startNode(cluster: TestCluster, options: NodeOptions): Promise<TestNode> {
  const kubeletBin = process.env.KUBELET_BIN;
  if (!kubeletBin) throw new Error('KUBELET_BIN must name the kubelet built by scripts/k8s-bins.sh --node');
  const name = options.name ?? 'node-1';
  const dir = mkdtempSync(join(tmpdir(), 'skiff-node-'));
  const socket = join(dir, 'containerd.sock');
  const logs: Record<string, string[]> = { containerd: [], kubelet: [], 'kube-scheduler': [], 'kube-proxy': [] };
  const allLogs = () => Object.entries(logs).filter(([, l]) => l.length > 0).map(([label, l]) => `--- ${label}\n${tail(l)}`).join('\n');
  mkdirSync(join(dir, 'cni'), { recursive: true });
  // Address leases live with this run (a run that dies cannot leak them into the next one).
  writeFileSync(join(dir, 'cni', '10-skiff-test.conflist'), JSON.stringify({
    cniVersion: '0.4.0', name: 'skiff-test',
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: options.podSubnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }));
  writeFileSync(join(dir, 'containerd.toml'), `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${socket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${options.sandboxImage}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
`);
  const children: ChildProcess[] = [];
  const launch = (label: string, command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      const list = logs[label] ?? (logs[label] = []);
      list.push(String(d));
      if (list.length > 400) list.splice(0, 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.push(child);
    return child;
  };
  const ctr = (...args: string[]) => execFileSync('ctr', ['--address', socket, '-n', 'k8s.io', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });

  const netnsBefore = new Set(listNetns());
  const stop = async () => {
    // Pods first, through the API, while kubelet still runs (bounded); then whatever is left.
    const onNode = async () => ((await cluster.api('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${name}`).catch(() => ({ body: { items: [] } }))).body as { items?: { metadata: { name: string; namespace: string } }[] }).items ?? [];
    for (const p of await onNode()) await cluster.api('DELETE', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}?gracePeriodSeconds=0`).catch(() => undefined);
    await until('the pods to go', async () => ((await onNode()).length === 0 ? true : undefined), 20_000, allLogs).catch(() => undefined);
    for (const id of tryLines(() => ctr('tasks', 'ls', '-q'))) {
      try { ctr('tasks', 'kill', '-s', 'SIGKILL', '-a', id); } catch { /* already gone */ }
    }
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null) continue;
      child.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(undefined); }, 5000); child.once('exit', () => { clearTimeout(t); r(undefined); }); });
    }
    // Containers outlive containerd and their shims: kill what is left in the pods' cgroups.
    killCgroup('/sys/fs/cgroup/pids/kubepods');
    try { execFileSync('pkill', ['-9', '-f', `containerd-shim-runc-v2 .*-address ${socket}`]); } catch { /* none left */ }
    for (const mount of mountsUnder(dir)) {
      try { execFileSync('umount', ['-l', mount], { stdio: 'ignore' }); } catch { /* gone */ }
    }
    for (const ns of listNetns()) if (!netnsBefore.has(ns) && ns.startsWith('cni-')) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ }
    }
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* a busy leftover in tmp is not a test failure */ }
  };

  try {
    const containerd = launch('containerd', 'containerd', ['--config', join(dir, 'containerd.toml')]);
    await until('containerd to answer', () => {
      if (containerd.exitCode !== null) throw new Error(`containerd exited with ${containerd.exitCode}\n${allLogs()}`);
      if (!existsSync(socket)) return undefined;
      try {
        ctr('version');
        return true;
      } catch {
        return undefined;
      }
    }, 30_000, allLogs);
    for (const image of options.images) ctr('images', 'import', image);
    writeFileSync(join(dir, 'kubelet.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${socket}
failSwapOn: false
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "${join(dir, 'ca.crt')}"}}
authorization: {mode: AlwaysAllow}
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
address: ${options.nodeIp}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
imageGCHighThresholdPercent: 100
evictionHard: {}
serializeImagePulls: false
clusterDomain: cluster.local
${options.clusterDns ? `clusterDNS: [${options.clusterDns}]\n` : ''}`);
    writeFileSync(join(dir, 'ca.crt'), cluster.caPem);
    const kubelet = launch('kubelet', kubeletBin, ['--config', join(dir, 'kubelet.yaml'), '--kubeconfig', cluster.kubeconfigPath, '--hostname-override', name,
      '--node-ip', options.nodeIp, '--root-dir', join(dir, 'kubelet'), '--cert-dir', join(dir, 'kubelet', 'pki'), '-v=1']);
    if (options.schedulerAndProxy) {
      const scheduler = process.env.KUBE_SCHEDULER_BIN;
      const proxy = process.env.KUBE_PROXY_BIN;
      if (!scheduler || !proxy) throw new Error('KUBE_SCHEDULER_BIN and KUBE_PROXY_BIN must name the binaries built by scripts/k8s-bins.sh --node');
      launch('kube-scheduler', scheduler, ['--kubeconfig', cluster.kubeconfigPath, '--authentication-kubeconfig', cluster.kubeconfigPath, '--authorization-kubeconfig', cluster.kubeconfigPath,
        '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0', '-v=1']);
      // --conntrack-max-per-core=0: leave the conntrack table size alone (no sysctl rights here).
      launch('kube-proxy', proxy, ['--kubeconfig', cluster.kubeconfigPath, '--proxy-mode=iptables', '--hostname-override', name, '--cluster-cidr=10.244.0.0/16',
        '--conntrack-max-per-core=0', '--healthz-bind-address=127.0.0.1:10256', '--metrics-bind-address=127.0.0.1:10249', '-v=1']);
    }
    await until(`node ${name} to be Ready`, async () => {
      if (kubelet.exitCode !== null) throw new Error(`kubelet exited with ${kubelet.exitCode}\n${allLogs()}`);
      const node = (await cluster.api('GET', `/api/v1/nodes/${name}`)).body as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, 90_000, allLogs);
    // kube-controller-manager's node lifecycle controller (off in the test control plane) would
    // lift the not-ready taint kubelet registers with; do it once the node is Ready.
    await until('the not-ready taint to be lifted', async () => {
      const node = (await cluster.api('GET', `/api/v1/nodes/${name}`)).body as { spec?: { taints?: { key: string }[] } };
      const taints = node.spec?.taints ?? [];
      if (!taints.some((t) => t.key === 'node.kubernetes.io/not-ready')) return true;
      node.spec = { ...node.spec, taints: taints.filter((t) => t.key !== 'node.kubernetes.io/not-ready') };
      await cluster.api('PUT', `/api/v1/nodes/${name}`, node);
      return undefined;
    }, 30_000, allLogs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name, logs: allLogs, stop };
}
