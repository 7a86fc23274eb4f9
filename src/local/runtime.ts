/**
 * local: the embedded mesh. `skiff up <dir>` reads a folder of Kubernetes-style YAML and runs
 * every replica of every Deployment as a local process on its own loopback address
 * (127.0.<n>.<m>), each with a real Skiff sidecar that gets its certificate and config from an
 * in-process control plane. Edits to the folder take effect live.
 *
 *   folder ─(watch)─► documents ─► snapshot ─► MeshController ─► DistributionServer ══► sidecars
 *                                      └──────► pods to run ───► app + sidecar processes
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CertificateAuthority } from '../control/ca/authority.ts';
import { MeshController } from '../control/controller.ts';
import { DistributionServer, startDebugServer } from '../control/distribute/server.ts';
import { registerTrafficMetrics } from '../control/traffic/api.ts';
import { localTraffic, meshTrafficBackend } from '../control/traffic/backend.ts';
import { TrafficStore } from '../control/traffic/store.ts';
import { dashboardFiles } from '../dashboard/assets.ts';
import { localDashboardSource } from '../dashboard/local-source.ts';
import { registerDashboard } from '../dashboard/server.ts';
import { BootstrapTokens } from '../control/distribute/tokens.ts';
import type { PodInput, Snapshot } from '../model/index.ts';
import { snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { AddressBook } from './addresses.ts';
import { viewLine } from './process-log.ts';
import { FolderWatcher, type FolderState } from './folder.ts';
import { PidFile } from './pidfile.ts';
import { waitUntilListening, waitUntilReady } from './readiness.ts';
import { sidecarEntryPoint } from './bundle.ts';
import { sidecarBodyFile } from '../lib/code-cache.ts';
import { SIDECAR_ENV, sidecarNodeFlags } from '../lib/sidecar-runtime.ts';
import { PORTS } from '../lib/ports.ts';
import { ManagedProcess, sidecarArgs } from './processes.ts';
import { LiveStats } from './stats.ts';


export interface LocalOptions {
  dir: string;
  controlPort?: number;
  debugPort?: number;
  /** Workload certificate lifetime (tests use seconds). */
  certificateTtlMs?: number;
  /** Loopback /16 for pod addresses: 127.<subnet>.x.y. */
  subnet?: number;
  /** Run only the control plane (no app or sidecar processes): for benchmarks and external sidecars. */
  controlPlaneOnly?: boolean;
  log?: (line: string) => void;
  /** Every line the pods' processes print, as `name: line` goes to the live view. */
  onOutput?: (name: string, line: string) => void;
}

interface RunningPod {
  input: PodInput;
  templateJson: string;
  app?: ManagedProcess;
  sidecar?: ManagedProcess;
  /** When a token was last written for its sidecar after its certificate lapsed. */
  tokenWrittenAt?: number;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

export class LocalRuntime {
  /** No second wait: the folder already gathers a burst of file writes into one change (folder.ts). */
  readonly controller = new MeshController({ debounceMs: 0 });
  /** Traffic the sidecars report; the TrafficMetrics API on the status port reads it. */
  readonly traffic = new TrafficStore();
  private readonly localTraffic = localTraffic(this.controller, this.traffic);
  readonly pods = new Map<string, RunningPod>();
  /** Pods on their way out, by key: a pod of the same key starts only once its predecessor stopped (same address and ports). */
  private readonly stopping = new Map<string, Promise<void>>();
  /** Counts reconciles: one that finds a newer one started after its await gives way to it. */
  private reconciles = 0;
  readonly stats: LiveStats;
  problems: string[] = [];
  controlUrl = '';
  /** The port the debug/status server got. */
  debugPort = 0;
  /** The port the control plane got (fixed after the first start, so sidecars find it again). */
  private controlPort = 0;
  private readonly options: LocalOptions;
  private readonly stateDir: string;
  private readonly folder: FolderWatcher;
  private readonly addresses: AddressBook;
  private readonly tokens = new BootstrapTokens();
  private readonly pids: PidFile;
  private ca: CertificateAuthority | undefined;
  private distribution: DistributionServer | undefined;

  /** Bytes of config events the control plane wrote: whole configs and deltas. */
  configBytesSent(): { configs: number; deltas: number } {
    return { ...(this.distribution?.sentBytes ?? { configs: 0, deltas: 0 }) };
  }
  private debug: Awaited<ReturnType<typeof startDebugServer>> | undefined;
  private dashboard: { close(): void } | undefined;
  private templates = new Map<string, Record<string, unknown>>();
  private sidecarEntry = join(ROOT, 'bin', 'skiff.mjs');

  constructor(options: LocalOptions) {
    this.options = options;
    this.stateDir = join(resolve(options.dir), '.skiff');
    this.folder = new FolderWatcher(resolve(options.dir));
    this.stats = new LiveStats(this);
    this.addresses = new AddressBook(options.subnet ?? 77, join(this.stateDir, 'addresses.json'));
    this.pids = new PidFile(join(this.stateDir, 'pids.json'));
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Pods made from each workload document, kept while the folder keeps the document (a file not read again). */
  private readonly generatedPods = new WeakMap<object, readonly PodInput[]>();

  private snapshot(state: FolderState): Snapshot {
    const templates = new Map<string, Record<string, unknown>>();
    const snapshot = snapshotFromDocuments(state.documents, {
      allocate: (ns, pod) => this.addresses.allocate(ns, pod),
      onPod: (pod, template) => templates.set(`${pod.namespace}/${pod.name}`, template),
      generated: this.generatedPods,
    });
    this.addresses.save();
    this.templates = templates;
    this.problems = state.problems;
    return snapshot;
  }

  async start(): Promise<void> {
    await mkdir(join(this.stateDir, 'pods'), { recursive: true });
    const leftovers = this.pids.reapLeftovers();
    if (leftovers > 0) this.log(`stopped ${leftovers} process(es) an earlier run left behind`);
    if (!this.options.controlPlaneOnly) this.sidecarEntry = await sidecarEntryPoint();
    const initial = await this.folder.start();
    const snapshot = this.snapshot(initial);
    this.ca = await CertificateAuthority.open({ trustDomain: snapshot.mesh.trustDomain, stateDir: join(this.stateDir, 'ca'), ...(this.options.certificateTtlMs ? { workloadTtlMs: this.options.certificateTtlMs } : {}) });
    await writeFile(join(this.stateDir, 'trust-bundle.pem'), this.ca.trustBundle());
    this.controller.update(snapshot);
    this.controller.rebuild();
    this.distribution = this.distributionServer(this.options.controlPort ?? PORTS.control);
    this.controlUrl = await this.distribution.start();
    this.controlPort = Number(new URL(this.controlUrl).port);
    // The TrafficMetrics API on the status port, the same paths as in a cluster (no front proxy: loopback only).
    const traffic = meshTrafficBackend(this.localTraffic);
    const files = await dashboardFiles();
    if (!(files instanceof Map)) this.log(`dashboard: ${files.problem}`);
    this.debug = await startDebugServer(this.controller, '127.0.0.1', this.options.debugPort ?? PORTS.debug, { '/status': () => this.stats.status() }, (app) => {
      registerTrafficMetrics(app, traffic);
      this.dashboard = registerDashboard(app, { source: localDashboardSource(this.controller, traffic, () => this.problems), files });
    });
    this.debugPort = (this.debug.server.address() as { port: number }).port;
    await this.reconcile(snapshot);
    this.folder.on('change', (state) => {
      const next = this.snapshot(state);
      this.controller.update(next);
      void this.reconcile(next);
      this.log(`folder changed: ${state.problems.length ? `${state.problems.length} problem(s), see the view` : 'applied'}`);
    });
    this.stats.start();
  }

  /**
   * Starts pods that appeared, stops pods that went away, restarts apps whose template changed.
   * Folder changes can come faster than pods stop: every removal is decided before the first
   * await, and a reconcile that finds a newer one started meanwhile stops there (the newer one
   * holds the newer folder), so a stale folder state never removes or adds a pod.
   */
  private async reconcile(snapshot: Snapshot): Promise<void> {
    if (this.options.controlPlaneOnly) return;
    const generation = ++this.reconciles;
    const wanted = new Map(snapshot.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    const leaving: Promise<void>[] = [];
    for (const [key, running] of [...this.pods]) {
      const next = wanted.get(key);
      const templateJson = JSON.stringify(this.templates.get(key) ?? {});
      if (next && templateJson === running.templateJson) continue;
      this.pods.delete(key);
      // A pod gone from the folder takes its folder with it (certificates, key, logs), as a deleted pod's logs go in a cluster;
      // one restarted for a new template keeps it. A pod of the same name added meanwhile waits for this (startPod).
      const stopped = this.stopPod(running)
        .then(() => (next ? undefined : rm(this.podDir(running.input), { recursive: true, force: true })))
        .catch((err: Error) => this.log(`${key}: its folder was not removed: ${err.message}`))
        .finally(() => { if (this.stopping.get(key) === stopped) this.stopping.delete(key); });
      this.stopping.set(key, stopped);
      leaving.push(stopped);
    }
    await Promise.all(leaving);
    if (generation !== this.reconciles) return;
    // Pods that serve ports start first; pods that only call others (no container ports)
    // start their apps once every new server is listening, so a client's first request
    // finds its servers up (docs/local-mode.md).
    const { promise: gate, resolve: openGate } = Promise.withResolvers<void>();
    const servers: Promise<void>[] = [];
    const clients: Promise<void>[] = [];
    for (const [key, input] of wanted) {
      if (this.pods.has(key)) continue;
      const template = this.templates.get(key) ?? {};
      const running: RunningPod = { input, templateJson: JSON.stringify(template) };
      this.pods.set(key, running);
      if (input.containerPorts.length > 0) servers.push(this.startPod(running, template, snapshot));
      else clients.push(this.startPod(running, template, snapshot, gate));
    }
    await Promise.all(servers);
    openGate();
    await Promise.all(clients);
  }

  /** Starts a pod as a native sidecar would: the sidecar first, the app once the sidecar is ready. */
  private async startPod(pod: RunningPod, template: Record<string, unknown>, snapshot: Snapshot, gate?: Promise<void>): Promise<void> {
    const { input } = pod;
    const id = `${input.namespace}/${input.name}`;
    await this.stopping.get(id);
    if (this.pods.get(id) !== pod) return;
    const dir = this.podDir(input);
    await mkdir(dir, { recursive: true });
    const ip = input.ip as string;
    // Every line goes to the process's log file in the pod's folder (processes.ts); the live view gets the apps' lines and a sidecar's problems.
    const outputOf = (sidecar: boolean) => (name: string, line: string) => {
      const shown = viewLine(name, line, sidecar);
      if (shown !== undefined) this.stats.output(shown);
      this.options.onOutput?.(name, line);
    };
    const track = (name: string) => (pid: number | undefined) => this.pids.record(name, pid);
    if (input.meshed) {
      pod.sidecar = new ManagedProcess({
        name: `${input.name}/sidecar`,
        command: process.execPath,
        args: [...sidecarNodeFlags(), ...sidecarArgs({ entry: this.sidecarEntry, controlUrl: this.controlUrl, proxyId: id, dir, trustBundleFile: join(this.stateDir, 'trust-bundle.pem'), ip })],
        // A sidecar that found no code cache for this bundle writes one as it stops, for the next run.
        env: { ...process.env, NODE_OPTIONS: '', ...SIDECAR_ENV, SKIFF_CODE_CACHE: 'write' } as Record<string, string>,
        cwd: ROOT,
        logFile: join(dir, 'sidecar.log'),
      }, outputOf(true), {
        // A fresh one-time token for every start; a restarted sidecar with a valid certificate does not need it.
        beforeStart: () => this.writeToken(id, dir),
        onPid: track(`${id}/sidecar`),
      });
      pod.sidecar.start();
    }
    const spec = ((template.spec as { containers?: Record<string, unknown>[] } | undefined)?.containers ?? [])[0];
    const command = [...((spec?.command as string[] | undefined) ?? []), ...((spec?.args as string[] | undefined) ?? [])];
    if (command.length === 0) return;
    const [program, ...args] = command as [string, ...string[]];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
      POD_IP: ip, POD_NAME: input.name, POD_NAMESPACE: input.namespace,
      PORT: String(input.containerPorts[0]?.containerPort ?? 8080),
      ...(input.meshed ? { HTTP_PROXY: `http://${ip}:${PORTS.outbound}`, http_proxy: `http://${ip}:${PORTS.outbound}` } : {}),
    };
    for (const e of (spec?.env as { name: string; value?: string }[] | undefined) ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
    for (const svc of snapshot.services) {
      if (svc.namespace !== input.namespace) continue;
      const name = svc.name.toUpperCase().replace(/-/g, '_');
      env[`${name}_SERVICE_HOST`] = input.meshed ? ip : (svc.clusterIP ?? '');
      env[`${name}_SERVICE_PORT`] = String(svc.ports[0]?.port ?? '');
    }
    const app = new ManagedProcess({ name: input.name, command: program === 'node' ? process.execPath : program, args, env, cwd: resolve(this.options.dir), logFile: join(dir, 'app.log') }, outputOf(false), { onPid: track(`${id}/app`) });
    pod.app = app;
    const gone = () => this.pods.get(id) !== pod;
    if (input.meshed) {
      const ready = await waitUntilReady(`http://${ip}:${PORTS.admin}/ready`, gone);
      if (!ready.ok && !gone()) this.log(`${id}: the sidecar is not ready after ${Math.round(ready.waitedMs / 1000)}s (${ready.problem}); starting the app anyway`);
    }
    await gate;
    if (gone()) return;
    app.start();
    const port = input.containerPorts[0]?.containerPort;
    if (port !== undefined && !(await waitUntilListening(ip, port, gone)) && !gone()) this.log(`${id}: the app does not listen on port ${port} yet`);
  }

  /** A pod's own folder in the state folder: its sidecar's certificates and token, and each process's log. */
  private podDir(input: PodInput): string {
    return join(this.stateDir, 'pods', `${input.namespace}.${input.name}`);
  }

  /** A fresh one-time token in the pod's folder, where its sidecar reads it (whole: never half written). */
  private async writeToken(id: string, dir: string): Promise<void> {
    const file = join(dir, 'token');
    await writeFile(`${file}.tmp`, this.tokens.issue(id), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  /**
   * A running sidecar whose certificate expired (the control plane was away longer than it
   * lived) gets a fresh token, as the kubelet refreshes a pod's projected token: at most one a
   * second per pod, and only into the folder of a pod this runtime runs.
   */
  private identityLapsed(id: string): void {
    const pod = this.pods.get(id);
    const now = Date.now();
    if (!pod?.sidecar || (pod.tokenWrittenAt ?? 0) > now - 1000) return;
    pod.tokenWrittenAt = now;
    void this.writeToken(id, this.podDir(pod.input)).catch(() => undefined);
  }

  /** Stops a pod the way Kubernetes stops one with a native sidecar: the app first, then its sidecar. */
  private async stopPod(pod: RunningPod): Promise<void> {
    await pod.app?.stop();
    await pod.sidecar?.stop();
    this.tokens.forget(`${pod.input.namespace}/${pod.input.name}`);
  }

  async stop(): Promise<void> {
    this.stats.stop();
    this.folder.stop();
    await Promise.all([...[...this.pods.values()].map((p) => this.stopPod(p)), ...this.stopping.values()]);
    this.controller.stop();
    this.dashboard?.close();
    await this.distribution?.close();
    await this.debug?.close();
    if (this.sidecarEntry.includes('skiff-proxy-')) await Promise.all([this.sidecarEntry, sidecarBodyFile(this.sidecarEntry)].map((f) => rm(f, { force: true })));
  }

  /** Stops the control plane only (sidecars keep serving), and starts it again. */
  async restartControlPlane(downMs: number): Promise<void> {
    await this.distribution?.close();
    await new Promise((r) => setTimeout(r, downMs));
    if (!this.ca) return;
    this.distribution = this.distributionServer(this.controlPort);
    this.controlUrl = await this.distribution.start();
  }

  /** The config stream, certificates and traffic reports, on loopback. */
  private distributionServer(port: number): DistributionServer {
    return new DistributionServer({
      controller: this.controller, ca: this.ca as CertificateAuthority, host: '127.0.0.1', port, tokens: this.tokens, identityLapsed: (proxy) => this.identityLapsed(proxy),
      traffic: { store: this.traffic, local: this.localTraffic }, ...(this.options.certificateTtlMs ? { workloadTtlMs: this.options.certificateTtlMs } : {}),
    });
  }
}
