/**
 * A real mesh in one test process: every pod of a YAML folder gets a loopback address
 * (127.0.<n>.<i>), its application (an echo app on each container port) and a real Skiff
 * sidecar reading its config from a file and its certificate from a folder. Configs come
 * from the real pipeline (YAML → snapshot → topology → translateAll).
 */
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as undiciRequest, Agent } from 'undici';
import { proxyConfigHash, type ProxyConfig } from '../../src/config/index.ts';
import { buildTopology, type PodNode, type Topology } from '../../src/model/index.ts';
import { FileConfigSource, SkiffProxy } from '../../src/proxy/index.ts';
import type { ListenerLimits } from '../../src/proxy/limits.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { translateAll } from '../../src/translate/index.ts';
import { startEchoApp, type EchoApp } from './echo-app.ts';
import { createTestPki, type TestPki } from './pki.ts';

import { PORTS } from '../../src/lib/ports.ts';
import { claimSubnet, type SubnetClaim } from './subnet.ts';

export const ADMIN_PORT = PORTS.admin;
export const MESH_PORT = PORTS.inbound;
export const OUTBOUND_PORT = PORTS.outbound;

export interface MeshPod {
  node: PodNode;
  ip: string;
  proxy?: SkiffProxy;
  apps: EchoApp[];
  dir: string;
}

/** 127.100-149.x.x: apart from the demo (77), benchmarks (50, 60); each mesh claims one of its own (subnet.ts). */
const SUBNETS = [100, 149] as const;

export interface MeshOptions {
  /** Changes each config before it is written (resilience settings, for example). */
  edit?: (config: ProxyConfig) => void;
  certLifetimeMs?: number;
  /** Ports where the test runs its own application (a gRPC server) instead of the echo app. */
  ownApps?: number[];
  /** Listener timeouts and caps for every sidecar. */
  limits?: Partial<ListenerLimits>;
  /** Every sidecar's memory limit (overload.ts); absent: the test process's cgroup's. */
  memoryLimitBytes?: number;
}

export class TestMesh {
  readonly pods = new Map<string, MeshPod>();
  readonly pki: TestPki;
  readonly dir: string;
  topology!: Topology;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  private readonly options: MeshOptions;
  private readonly claim: SubnetClaim;
  private readonly base: number;

  private constructor(options: MeshOptions, claim: SubnetClaim) {
    this.options = options;
    this.pki = createTestPki();
    this.dir = mkdtempSync(join(tmpdir(), 'skiff-mesh-'));
    this.claim = claim;
    this.base = claim.subnet;
  }

  /** Starts every pod's apps and sidecar; a start that fails closes what it started (nothing may keep the test process alive). */
  static async start(yaml: string, options: MeshOptions = {}): Promise<TestMesh> {
    const mesh = new TestMesh(options, await claimSubnet(...SUBNETS));
    try {
      await mesh.startPods(yaml);
    } catch (err) {
      await mesh.close().catch(() => undefined);
      throw err;
    }
    return mesh;
  }

  private async startPods(yaml: string): Promise<void> {
    const options = this.options;
    const configs = this.build(yaml);
    for (const node of this.topology.pods) {
      const dir = join(this.dir, node.name);
      const pod: MeshPod = { node, ip: node.address as string, apps: [], dir };
      this.pods.set(node.name, pod);
      for (const p of node.inboundPorts) if (!options.ownApps?.includes(p.port)) pod.apps.push(await startEchoApp(node.name, pod.ip, p.port));
      const config = configs.get(node.key);
      if (!config) continue;
      this.pki.issue(join(dir, 'certs'), node.identity, options.certLifetimeMs);
      this.writeConfig(pod, config);
      const proxy = new SkiffProxy({
        config: new FileConfigSource(join(dir, 'config.json'), 100),
        certDir: join(dir, 'certs'),
        inbound: { host: pod.ip, port: MESH_PORT },
        outbound: { host: pod.ip, port: OUTBOUND_PORT },
        admin: { host: pod.ip, port: ADMIN_PORT },
        appHost: pod.ip,
        tcpForwardHost: pod.ip,
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.memoryLimitBytes !== undefined ? { memoryLimitBytes: options.memoryLimitBytes } : {}),
      });
      // Set once started: a proxy whose start fails has closed itself.
      await proxy.start();
      pod.proxy = proxy;
    }
  }

  /** Topology and configs for a YAML text, pods placed on this mesh's loopback subnet. */
  private build(yaml: string): Map<string, ProxyConfig> {
    const { documents, issues } = parseYamlText('mesh.yaml', yaml);
    if (issues.length > 0) throw new Error(issues.map((i) => i.message).join('; '));
    let next = 1;
    const addresses = new Map<string, string>([...this.pods.values()].map((p) => [p.node.key, p.ip]));
    const snapshot = snapshotFromDocuments(documents.map((d) => d.value), {
      allocate: (namespace, pod) => addresses.get(`${namespace}/${pod}`) ?? `127.${this.base}.${Math.floor(next / 250)}.${(next++ % 250) + 1}`,
    });
    this.topology = buildTopology(snapshot);
    const configs = translateAll(this.topology);
    if (this.options.edit) {
      for (const [id, shared] of configs) {
        const config = structuredClone(shared);
        this.options.edit(config);
        config.hash = proxyConfigHash(config);
        configs.set(id, config);
      }
    }
    return configs;
  }

  writeConfig(pod: MeshPod, config: unknown): void {
    const file = join(pod.dir, 'config.json');
    writeFileSync(`${file}.tmp`, typeof config === 'string' ? config : JSON.stringify(config));
    renameSync(`${file}.tmp`, file);
  }

  /** Re-translates a changed YAML and writes every proxy's new config; resolves when all applied it. */
  async update(yaml: string, edit?: (config: ProxyConfig) => void): Promise<void> {
    const configs = this.build(yaml);
    const waits: Promise<void>[] = [];
    for (const pod of this.pods.values()) {
      const shared = configs.get(pod.node.key);
      if (!shared || !pod.proxy) continue;
      // Configs share their outbound (and inbound) objects; edit a private copy.
      const config = edit ? structuredClone(shared) : shared;
      if (edit) {
        edit(config);
        config.hash = proxyConfigHash(config);
      }
      this.writeConfig(pod, config);
      waits.push(this.waitFor(() => pod.proxy?.state?.config.hash === config.hash, `${pod.node.name} applies ${config.hash.slice(0, 8)}`));
    }
    await Promise.all(waits);
  }

  async waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A pod by name, or the first replica of a workload (`client` → `client-0`). */
  pod(name: string): MeshPod {
    const pod = this.pods.get(name) ?? this.pods.get(`${name}-0`);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  /** Sends a request as the app of `from` would, through its sidecar's outbound listener (HTTP_PROXY style). */
  async request(from: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): Record<string, unknown> }> {
    const pod = this.pod(from);
    const target = new URL(url);
    const res = await undiciRequest(`http://${pod.ip}:${OUTBOUND_PORT}${target.pathname}${target.search}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: { host: target.host, ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  }

  async close(): Promise<void> {
    for (const pod of this.pods.values()) {
      await pod.proxy?.close();
      for (const app of pod.apps) await app.close();
    }
    await this.agent.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    this.claim.release();
  }
}

/** A namespace, and a Deployment (with Service when it has ports) per workload. */
export function meshYaml(namespace: string, access: 'strict' | 'permissive', workloads: { name: string; sa?: string; labels?: Record<string, string>; ports?: number[]; service?: string; replicas?: number }[], extra = ''): string {
  const docs = [`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n  annotations:\n    skiff.dev/access: ${access}\n`];
  for (const w of workloads) {
    const labels = w.labels ?? { app: w.name };
    const labelYaml = Object.entries(labels).map(([k, v]) => `        ${k}: ${v}`).join('\n');
    const ports = (w.ports ?? []).map((p) => `        - containerPort: ${p}\n          name: p${p}`).join('\n');
    docs.push(`apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${w.name}\n  namespace: ${namespace}\nspec:\n  replicas: ${w.replicas ?? 1}\n  template:\n    metadata:\n      labels:\n${labelYaml}\n    spec:\n      serviceAccountName: ${w.sa ?? w.name}\n      containers:\n      - name: app\n${ports ? `        ports:\n${ports}\n` : ''}`);
  }
  return `${docs.join('---\n')}${extra ? `---\n${extra}` : ''}`;
}
