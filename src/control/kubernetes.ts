/**
 * The controller in a cluster: the Kubernetes source feeds the MeshController; the
 * DistributionServer streams configs; the StatusWriter keeps SMI objects' status current; the
 * webhook server answers conversion and validation.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SMI_KINDS } from '../api/index.ts';
import type { Condition } from '../api/index.ts';
import type { MeshSettings } from '../model/index.ts';
import { KubernetesSource } from '../sources/kubernetes/source.ts';
import { type ReplicaAck, MeshController } from './controller.ts';
import { abCanariesOverSmi, canaryView } from './flagger.ts';
import type { LeaderElector } from './leader.ts';
import { desiredStatuses, progressOf, withTransitionTimes, type StatusTarget } from './status.ts';

export interface KubernetesControllerOptions {
  kubeconfig: KubeConfig;
  /** With several replicas: only the leader writes status. Absent: this replica always writes. */
  elector?: LeaderElector;
  statusIntervalMs?: number;
  log?: (event: string, detail: Record<string, unknown>) => void;
  /** Mesh-wide settings (from the MeshConfig ConfigMap); defaults when absent. */
  mesh?: MeshSettings;
}

export class KubernetesController {
  readonly controller = new MeshController();
  readonly source: KubernetesSource;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly written = new Map<string, string>();
  private readonly previous = new Map<string, Condition[]>();
  private generations = new Map<string, number>();
  private uids = new Map<string, string>();
  /** Issues already reported as Events, per object, so each is reported once. */
  private readonly reported = new Map<string, Set<string>>();
  private statusTimer: NodeJS.Timeout | undefined;
  private writing = false;
  private writingSince = 0;
  private stallReported = false;
  /** Flagger Canaries are looked at this often (ms), when Flagger's API is there at all. */
  private readonly canaryIntervalMs = 30_000;
  private canariesAt = 0;
  /** A/B Canaries already warned about (`namespace/name`). */
  private readonly abWarned = new Set<string>();
  private readonly options: KubernetesControllerOptions;
  /** With several replicas: what the proxies streaming from the others applied (ReplicaPeers.acks). */
  peerAcks: (() => Promise<ReadonlyMap<string, readonly ReplicaAck[]>>) | undefined;

  constructor(options: KubernetesControllerOptions) {
    this.options = options;
    this.source = new KubernetesSource(options.kubeconfig, { ...(options.log ? { log: options.log } : {}), ...(options.mesh ? { mesh: options.mesh } : {}) });
    this.custom = options.kubeconfig.makeApiClient(CustomObjectsApi);
    this.core = options.kubeconfig.makeApiClient(CoreV1Api);
  }

  async start(): Promise<void> {
    this.source.on('snapshot', (snapshot) => {
      const known = snapshot.smi.filter((p) => p.kind);
      this.generations = new Map(known.map((p) => [`${p.kind}/${p.ref.namespace ?? 'default'}/${p.ref.name ?? ''}`, Number((p.hub?.metadata.generation as number | undefined) ?? 0)]));
      this.uids = new Map(known.filter((p) => p.hub?.metadata.uid).map((p) => [`${p.kind}/${p.ref.namespace ?? 'default'}/${p.ref.name ?? ''}`, p.hub?.metadata.uid as string]));
      this.controller.update(snapshot);
    });
    this.controller.on('rebuilt', () => void this.writeStatuses());
    await this.source.start();
    // A new leader rewrites every status, whatever the previous leader wrote.
    this.options.elector?.on('changed', (leader) => {
      if (leader) this.written.clear();
    });
    this.options.elector?.start();
    this.statusTimer = setInterval(() => void this.writeStatuses(), this.options.statusIntervalMs ?? 2000);
    this.statusTimer.unref();
  }

  /** Patches the status of every object whose desired status changed. */
  async writeStatuses(): Promise<void> {
    const topology = this.controller.topology;
    if (!topology || (this.options.elector && !this.options.elector.isLeader)) return;
    if (this.writing) {
      // A pass that never ends would keep every status as it is: say so, once per pass.
      if (Date.now() - this.writingSince > 30_000 && !this.stallReported) {
        this.stallReported = true;
        this.options.log?.('status-pass-stalled', { sinceMs: Date.now() - this.writingSince });
      }
      return;
    }
    this.writing = true;
    this.writingSince = Date.now();
    this.stallReported = false;
    try {
      const elsewhere = this.peerAcks && this.controller.needsPeerAcks() ? await this.peerAcks().catch(() => undefined) : undefined;
      const proxies = this.controller.progress(elsewhere);
      const now = new Date().toISOString();
      for (const target of desiredStatuses(topology, progressOf(topology, proxies), this.generations)) await this.write(target, now);
      await this.emitEvents();
      if (Date.now() - this.canariesAt >= this.canaryIntervalMs) {
        this.canariesAt = Date.now();
        await this.warnAbCanaries();
      }
    } finally {
      this.writing = false;
    }
  }

  private async write(target: StatusTarget, now: string): Promise<void> {
    const key = `${target.kind}/${target.namespace}/${target.name}`;
    // The object's uid is part of what was written: one deleted and created again under the same name starts without a status.
    const fingerprint = `${this.uids.get(key) ?? ''} ${JSON.stringify(target.status)}`;
    if (this.written.get(key) === fingerprint) return;
    const info = SMI_KINDS[target.kind];
    const conditions = withTransitionTimes(target.status.conditions ?? [], this.previous.get(key), now);
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        { group: info.group, version: info.storage, namespace: target.namespace, plural: info.plural, name: target.name, body: { status: { ...target.status, conditions } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.written.set(key, fingerprint);
      this.previous.set(key, conditions);
    } catch (err) {
      this.options.log?.('status-error', { object: key, error: (err as Error).message });
    }
  }

  /**
   * One Kubernetes Event per problem Skiff finds on an SMI object (`kubectl describe` shows
   * them): excluded backends, missing references, conflicts. Reported once while it lasts.
   */
  private async emitEvents(): Promise<void> {
    const topology = this.controller.topology;
    if (!topology) return;
    const nodes = [
      ...topology.splits.map((n) => ({ kind: 'TrafficSplit' as const, n })), ...topology.targets.map((n) => ({ kind: 'TrafficTarget' as const, n })),
      ...topology.routeGroups.map((n) => ({ kind: 'HTTPRouteGroup' as const, n })), ...topology.portRoutes.map((n) => ({ kind: n.kind, n })),
    ];
    const live = new Set<string>();
    for (const { kind, n } of nodes) {
      const key = `${kind}/${n.namespace}/${n.name}`;
      live.add(key);
      const seen = this.reported.get(key) ?? new Set<string>();
      const now = new Set<string>();
      for (const issue of n.issues) {
        const id = `${issue.code} ${issue.path} ${issue.message}`;
        now.add(id);
        if (seen.has(id)) continue;
        if (!(await this.event(kind, n.namespace, n.name, issue.code, `${issue.path ? `${issue.path}: ` : ''}${issue.message}`, issue.severity === 'error' ? 'Warning' : 'Normal'))) now.delete(id);
      }
      this.reported.set(key, now);
    }
    for (const key of [...this.reported.keys()]) if (!live.has(key)) this.reported.delete(key);
  }

  /** One Event on an SMI object; false when it could not be written (it is tried again next time). */
  private async event(kind: keyof typeof SMI_KINDS, namespace: string, name: string, reason: string, message: string, type: 'Warning' | 'Normal'): Promise<boolean> {
    const info = SMI_KINDS[kind];
    const uid = this.uids.get(`${kind}/${namespace}/${name}`);
    try {
      await this.core.createNamespacedEvent({ namespace, body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: `${info.group}/${info.storage}`, kind, name, namespace, ...(uid ? { uid } : {}) },
        reason, message: message.slice(0, 1000), type, source: { component: 'skiff-controller' }, firstTimestamp: new Date(), lastTimestamp: new Date(), count: 1,
      } });
      return true;
    } catch (err) {
      this.options.log?.('event-error', { object: `${kind}/${namespace}/${name}`, error: (err as Error).message });
      return false;
    }
  }

  /**
   * A Flagger A/B Canary over SMI sends everything to the canary (flagger.ts): a Warning Event
   * on its TrafficSplit, once per Canary while it lasts. Without Flagger's API, nothing.
   */
  private async warnAbCanaries(): Promise<void> {
    const topology = this.controller.topology;
    if (!topology) return;
    let items: unknown[];
    try {
      items = ((await this.custom.listClusterCustomObject({ group: 'flagger.app', version: 'v1beta1', plural: 'canaries' })) as { items?: unknown[] }).items ?? [];
    } catch {
      return;
    }
    const found = abCanariesOverSmi(items.map(canaryView), topology.splits);
    const live = new Set(found.map((f) => `${f.canary.namespace}/${f.canary.name}`));
    for (const key of [...this.abWarned]) if (!live.has(key)) this.abWarned.delete(key);
    for (const f of found) {
      const key = `${f.canary.namespace}/${f.canary.name}`;
      if (!this.abWarned.has(key) && (await this.event('TrafficSplit', f.split.namespace, f.split.name, 'FlaggerABOverSMI', f.message, 'Warning'))) this.abWarned.add(key);
    }
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.options.elector?.stop();
    this.controller.stop();
    await this.source.stop();
  }
}
