/**
 * The runner's way into Skiff's local mode (`skiff up`), which has no API server: the runner's
 * verbs become a watched folder and the local status port.
 * - apply / delete write and remove one YAML file per object (`<ns>/<kind>.<name>.yaml`);
 *   an object exists while its file does (the folder is local mode's store);
 * - a ConfigMap mounted as a volume (the sample app's script) becomes files in the folder, and
 *   a command naming a file under the mount names that file instead;
 * - a CRD "exists" when the mesh ships it in `smi-crds/`, which defines the kinds local mode
 *   reads (there is no API to install it into);
 * - readiness and pod addresses come from `/status`; apps are called directly on their pod
 *   address; the TrafficMetrics API is read on the status port, where local mode serves the
 *   paths an API server would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { APP_PORT, CONFORMANCE_DIR, type Profile } from './scenario.ts';
import type { MeshTarget } from './target.ts';

const SKIFF_ROOT = join(CONFORMANCE_DIR, '..');

interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface Container { command?: string[]; args?: string[]; volumeMounts?: { name: string; mountPath: string }[] }
interface PodStatus { pod: string; address: string; app: string; sidecar: string }

export interface LocalMeshOptions {
  /** The folder `skiff up` watches; a fresh temporary one by default (removed at stop). */
  dir?: string;
  /** Pod addresses in 127.N.0.0/16 (default 100–139, by process id: apart from the demo's 77 and the tests' ranges). */
  subnet?: number;
  /** Ports of the control plane and the status server (default 0: any free one). */
  controlPort?: number;
  debugPort?: number;
  /** Lines `skiff up` prints. */
  log?: (line: string) => void;
}

const documents = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc | null).filter((d): d is Doc => Boolean(d?.kind && d.metadata?.name));

/** An HTTP request with a JSON body (if any); the answer's body parsed as JSON when it is. */
async function call(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await request(url, { method: method as 'GET', headersTimeout: 20_000, bodyTimeout: 20_000, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await res.body.text();
  try {
    return { status: res.statusCode, body: JSON.parse(text) };
  } catch {
    return { status: res.statusCode, body: text };
  }
}

export class LocalMesh implements MeshTarget {
  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly debugUrl: string;
  private readonly child: ChildProcess;

  private constructor(dir: string, ownDir: boolean, debugUrl: string, child: ChildProcess) {
    this.dir = dir;
    this.ownDir = ownDir;
    this.debugUrl = debugUrl;
    this.child = child;
  }

  private get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Starts `skiff up` on a folder and waits until it names its status port and that answers (at most 60 s). */
  static async start(options: LocalMeshOptions = {}): Promise<LocalMesh> {
    const ownDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'smi-conformance-local-'));
    const args = [join(SKIFF_ROOT, 'bin', 'skiff.mjs'), 'up', dir, '--subnet', String(options.subnet ?? 100 + (process.pid % 40)), '--refresh', '60',
      '--debug-port', String(options.debugPort ?? 0), '--control-port', String(options.controlPort ?? 0)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        output = `${output}${String(chunk)}`.slice(-20_000);
        for (const line of String(chunk).split('\n')) if (line.trim()) options.log?.(`skiff up: ${line}`);
      });
    }
    let exited = false;
    child.once('exit', () => { exited = true; });
    for (let i = 0; i < 600 && !exited; i++) {
      const named = /live status \(JSON\)\s+(http:\/\/127\.0\.0\.1:\d+)\/status/.exec(output)?.[1];
      if (named && (await call(`${named}/status`).then((r) => r.status === 200, () => false))) return new LocalMesh(dir, ownDir, named, child);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw new Error(`skiff up ${dir} ${exited ? 'exited before it served /status' : 'did not serve /status within 60 s'}: ${output.slice(-500)}`);
  }

  /** Stops `skiff up` as Ctrl-C does (every app and sidecar with it), at most 20 s before SIGKILL. */
  async stop(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    }
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Where an object lives in the folder: `<namespace>/<kind>.<name>.yaml` (a Namespace:
   * `<name>/namespace.yaml`). Names an API server would refuse (not DNS subdomains, so never
   * `..` or a slash) are refused here too, so no object is written outside the folder.
   */
  private fileOf(doc: Doc): string {
    const [kind, name, namespace] = [String(doc.kind).toLowerCase(), String(doc.metadata?.name), doc.metadata?.namespace ?? 'default'];
    for (const part of [kind, name, namespace]) {
      if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(part) || part.includes('..')) throw new Error(`${doc.kind} ${name}: "${part}" is not a valid Kubernetes name`);
    }
    return doc.kind === 'Namespace' ? join(this.dir, name, 'namespace.yaml') : join(this.dir, namespace, `${kind}.${name}.yaml`);
  }

  async createNamespace(name: string, profile: Profile, access: 'strict' | 'permissive'): Promise<void> {
    const labels = { ...profile.namespace?.labels, ...profile.access[access].labels };
    const annotations = { ...profile.namespace?.annotations, ...profile.access[access].annotations };
    await this.apply(stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } }));
  }

  async deleteNamespace(name: string): Promise<void> {
    rmSync(join(this.dir, name), { recursive: true, force: true });
  }

  async apply(text: string): Promise<void> {
    for (const doc of documents(text)) {
      const namespace = doc.metadata?.namespace ?? 'default';
      const file = this.fileOf(doc);
      if (doc.kind === 'ConfigMap') this.writeConfigMapFiles(namespace, doc);
      mkdirSync(dirname(file), { recursive: true });
      // Whole files only: the folder's watcher never reads one half written.
      writeFileSync(`${file}.tmp`, stringify(this.withMountedFiles(namespace, doc)));
      renameSync(`${file}.tmp`, file);
    }
  }

  async delete(text: string): Promise<void> {
    for (const doc of documents(text)) rmSync(this.fileOf(doc), { force: true });
  }

  async exists(text: string): Promise<boolean> {
    return documents(text).every((doc) => existsSync(this.fileOf(doc)));
  }

  async crdExists(name: string): Promise<boolean> {
    const folder = join(SKIFF_ROOT, 'smi-crds');
    return readdirSync(folder).filter((f) => f.endsWith('.yaml')).some((f) => {
      const crd = parse(readFileSync(join(folder, f), 'utf8')) as { kind?: string; spec?: { group?: string; names?: { plural?: string } } };
      return crd.kind === 'CustomResourceDefinition' && `${crd.spec?.names?.plural}.${crd.spec?.group}` === name;
    });
  }

  private async pods(namespace: string, deployment: string): Promise<PodStatus[]> {
    const r = await call(`${this.debugUrl}/status`);
    if (r.status !== 200) throw new Error(`skiff up /status answered ${r.status}`);
    return ((r.body as { pods?: PodStatus[] }).pods ?? []).filter((p) => p.pod.startsWith(`${namespace}/${deployment}-`));
  }

  /** Every replica's app and sidecar run and the app answers its readiness path (GET /metrics). */
  async deploymentNotReady(namespace: string, name: string): Promise<string | undefined> {
    const pods = await this.pods(namespace, name);
    if (pods.length === 0) return `${name}: no pod yet`;
    const down = pods.find((p) => p.app !== 'running' || (p.sidecar !== 'running' && p.sidecar !== 'none'));
    if (down) return `${down.pod}: app ${down.app}, sidecar ${down.sidecar}`;
    for (const p of pods) {
      const probe = await call(`http://${p.address}:${APP_PORT}/metrics`).catch((err: Error) => ({ status: 0, body: err.message }));
      if (probe.status !== 200) return `${p.pod}: GET /metrics on ${p.address}:${APP_PORT} answered ${probe.status || String(probe.body)}`;
    }
    return undefined;
  }

  /** The app's first replica (`<app>-deployment-0`, as the sample app's manifests name it), on its pod address. */
  async app(namespace: string, app: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const [pod] = await this.pods(namespace, `${app}-deployment`);
    if (!pod) return { status: 404, body: `no pod of ${app}-deployment in ${namespace}` };
    return call(`http://${pod.address}:${APP_PORT}${path}`, method, body);
  }

  /** The routes the control plane gives the app's sidecar for a host's Service, and whether the sidecar applied that config. */
  async routeOf(namespace: string, app: string, host: string): Promise<string> {
    const [pod] = await this.pods(namespace, `${app}-deployment`);
    if (!pod) return `no pod of ${app}-deployment`;
    const r = await call(`${this.debugUrl}/debug/config/${pod.pod}`);
    const body = r.body as { hash?: string; applied?: string | null; config?: { outbound?: { services?: { name: string; namespace: string; ports: { port: number; routes: { name: string; backends: { cluster: string; weight: number }[] }[] }[] }[] } } };
    if (r.status !== 200 || !body.config) return `GET /debug/config/${pod.pod} answered ${r.status}`;
    const [name, ns = namespace] = host.split(':')[0]?.split('.') ?? [];
    const service = body.config.outbound?.services?.find((s) => s.name === name && s.namespace === ns);
    const routes = service?.ports.map((p) => `${p.port}: ${p.routes.map((route) => `${route.name} [${route.backends.map((b) => `${b.cluster}=${b.weight}`).join(', ')}]`).join('; ')}`).join(' | ');
    return `${pod.pod} config ${body.hash?.slice(0, 12)} (applied ${body.applied?.slice(0, 12) ?? 'none'}): ${routes ?? `no Service ${ns}/${name} in it`}`;
  }

  async trafficMetrics(path: string): Promise<{ status: number; body: unknown }> {
    return call(`${this.debugUrl}/apis/metrics.smi-spec.io/v1alpha1${path}`);
  }

  /** A ConfigMap's keys as files under `<ns>/configmap.<name>/` (what a volume of it would hold). */
  private writeConfigMapFiles(namespace: string, doc: Doc): void {
    const folder = join(this.dir, namespace, `configmap.${doc.metadata?.name as string}`);
    mkdirSync(folder, { recursive: true });
    // ConfigMap keys are [-._a-zA-Z0-9]+ and never . or ..: a file name, never a path.
    for (const [key, value] of Object.entries(doc.data ?? {})) if (/^[-._a-zA-Z0-9]+$/.test(key) && key !== '.' && key !== '..') writeFileSync(join(folder, key), value);
  }

  /**
   * A Deployment whose containers' command or args name a file under a ConfigMap volume's
   * mount path names the ConfigMap's file in the folder instead (local mode runs commands
   * from the folder). Anything else is written as it is.
   */
  private withMountedFiles(namespace: string, doc: Doc): Doc {
    if (doc.kind !== 'Deployment') return doc;
    const pod = (doc.spec?.template as { spec?: { containers?: Container[]; volumes?: { name: string; configMap?: { name: string } }[] } } | undefined)?.spec;
    const volumes = new Map((pod?.volumes ?? []).filter((v) => v.configMap).map((v) => [v.name, `${namespace}/configmap.${v.configMap?.name as string}`]));
    if (volumes.size === 0 || !pod) return doc;
    const containers = (pod.containers ?? []).map((c) => {
      const mounts = (c.volumeMounts ?? []).filter((m) => volumes.has(m.name));
      const local = (word: string) => {
        const mount = mounts.find((m) => word.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
        return mount ? `${volumes.get(mount.name) as string}${word.slice(mount.mountPath.replace(/\/$/, '').length)}` : word;
      };
      return { ...c, ...(c.command ? { command: c.command.map(local) } : {}), ...(c.args ? { args: c.args.map(local) } : {}) };
    });
    const template = doc.spec?.template as Record<string, unknown>;
    return { ...doc, spec: { ...doc.spec, template: { ...template, spec: { ...pod, containers } } } };
  }
}
