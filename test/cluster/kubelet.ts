/**
 * A test-only node agent: it runs the pods the API server assigns to its node as local
 * processes (the `app` container's command, and a Skiff sidecar when the pod has a
 * `skiff-proxy` container), gives each a loopback pod IP, bootstraps the sidecar with a
 * pod-bound ServiceAccount token (audience `skiff`), and reports the pod Running and Ready.
 * `npm run test:cluster` runs inside a network namespace where 10.244.0.0/16 is local, so pods
 * get real pod IPs (EndpointSlice validation rejects 127/8); run elsewhere, pods fall back to
 * loopback IPs and only EndpointSlices are missing (the controller reads pods and selectors).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ManagedProcess, sidecarArgs } from '../../src/local/processes.ts';
import { PROXY_CONTAINER } from '../../src/sources/objects.ts';
import type { TestCluster } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface RunningPod {
  uid: string;
  ip: string;
  processes: ManagedProcess[];
}

export interface KubeletOptions {
  nodeName: string;
  controlUrl: string;
  trustBundleFile: string;
  dir: string;
  subnet: number;
}

export class FakeKubelet {
  readonly pods = new Map<string, RunningPod>();
  readonly output: string[] = [];
  private readonly cluster: TestCluster;
  private readonly options: KubeletOptions;
  private timer: NodeJS.Timeout | undefined;
  private next = 1;
  private syncing = false;

  constructor(cluster: TestCluster, options: KubeletOptions) {
    this.cluster = cluster;
    this.options = options;
  }

  /** Registers the Node (the EndpointSlice controller skips pods on unknown nodes), then syncs pods. */
  async start(): Promise<void> {
    await this.cluster.api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: this.options.nodeName, labels: { 'kubernetes.io/hostname': this.options.nodeName } } });
    this.timer = setInterval(() => void this.sync(), 200);
  }

  ip(pod: string): string | undefined {
    return this.pods.get(pod)?.ip;
  }

  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      // Act as the scheduler too: bind every unscheduled pod to this node.
      const pending = (await this.cluster.api('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3D')).body as { items?: Json[] };
      for (const p of pending.items ?? []) {
        await this.cluster.api('POST', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/binding`, {
          apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata.name }, target: { apiVersion: 'v1', kind: 'Node', name: this.options.nodeName },
        });
      }
      const list = (await this.cluster.api('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${this.options.nodeName}`)).body as { items?: Json[] };
      const seen = new Set<string>();
      for (const pod of list.items ?? []) {
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        seen.add(key);
        if (!this.pods.has(key) && !pod.metadata.deletionTimestamp) await this.run(key, pod);
      }
      for (const [key, running] of this.pods) {
        if (seen.has(key)) continue;
        this.pods.delete(key);
        await Promise.all(running.processes.map((p) => p.stop()));
      }
    } catch {
      // The API server may be restarting; the next round retries.
    } finally {
      this.syncing = false;
    }
  }

  private async run(key: string, pod: Json): Promise<void> {
    const ns = pod.metadata.namespace as string;
    const name = pod.metadata.name as string;
    // Inside the test's network namespace pods get real pod IPs (10.244.x.y is local there);
    // outside one, loopback addresses (no EndpointSlice can then be written for them).
    const ip = process.env.SKIFF_POD_CIDR ? `${process.env.SKIFF_POD_CIDR}.${this.options.subnet}.${this.next++}` : `127.${this.options.subnet}.0.${this.next++}`;
    const dir = join(this.options.dir, `${ns}.${name}`);
    mkdirSync(dir, { recursive: true });
    const running: RunningPod = { uid: pod.metadata.uid, ip, processes: [] };
    this.pods.set(key, running);
    const output = (who: string, line: string) => {
      this.output.push(`${who}: ${line}`.slice(0, 300));
      if (this.output.length > 100) this.output.shift();
    };
    const containers = (pod.spec.containers ?? []) as Json[];
    const app = containers.find((c) => c.name !== PROXY_CONTAINER);
    if (containers.some((c) => c.name === PROXY_CONTAINER)) {
      const sa = pod.spec.serviceAccountName ?? 'default';
      const token = (await this.cluster.api('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
        spec: { audiences: ['skiff'], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: pod.metadata.uid } },
      })).body as { status: { token: string } };
      writeFileSync(join(dir, 'token'), token.status.token, { mode: 0o600 });
      const sidecar = new ManagedProcess({
        name: `${name}/sidecar`, command: process.execPath, cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        args: sidecarArgs({ entry: join(ROOT, 'bin', 'skiff.mjs'), controlUrl: this.options.controlUrl, proxyId: key, dir, trustBundleFile: this.options.trustBundleFile, ip }),
      }, output);
      sidecar.start();
      running.processes.push(sidecar);
    }
    const command = [...(app?.command ?? []), ...(app?.args ?? [])] as string[];
    if (command.length > 0) {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', POD_IP: ip, POD_NAME: name, POD_NAMESPACE: ns, PORT: String(app?.ports?.[0]?.containerPort ?? 8080), HTTP_PROXY: `http://${ip}:15001` };
      for (const e of (app?.env ?? []) as { name: string; value?: string }[]) if (e.value !== undefined) env[e.name] = e.value;
      const [program, ...args] = command as [string, ...string[]];
      const process_ = new ManagedProcess({ name, command: program === 'node' ? process.execPath : program, args, env, cwd: ROOT }, output);
      process_.start();
      running.processes.push(process_);
    }
    await this.cluster.api('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, {
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }] },
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.pods.values()].flatMap((p) => p.processes.map((x) => x.stop())));
  }
}
