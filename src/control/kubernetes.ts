/**
 * The controller in a cluster: the Kubernetes source feeds the MeshController; the
 * DistributionServer streams configs; the StatusWriter keeps SMI objects' status current; the
 * webhook server answers conversion and validation.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SMI_KINDS } from '../api/index.ts';
import type { Condition } from '../api/index.ts';
import { KubernetesSource } from '../sources/kubernetes/source.ts';
import { MeshController } from './controller.ts';
import type { LeaderElector } from './leader.ts';
import { desiredStatuses, withTransitionTimes, type StatusTarget } from './status.ts';

export interface KubernetesControllerOptions {
  kubeconfig: KubeConfig;
  /** With several replicas: only the leader writes status. Absent: this replica always writes. */
  elector?: LeaderElector;
  statusIntervalMs?: number;
  log?: (event: string, detail: Record<string, unknown>) => void;
}

export class KubernetesController {
  readonly controller = new MeshController();
  readonly source: KubernetesSource;
  private readonly custom: CustomObjectsApi;
  private readonly written = new Map<string, string>();
  private readonly previous = new Map<string, Condition[]>();
  private generations = new Map<string, number>();
  private statusTimer: NodeJS.Timeout | undefined;
  private writing = false;
  private readonly options: KubernetesControllerOptions;

  constructor(options: KubernetesControllerOptions) {
    this.options = options;
    this.source = new KubernetesSource(options.kubeconfig, { ...(options.log ? { log: options.log } : {}) });
    this.custom = options.kubeconfig.makeApiClient(CustomObjectsApi);
  }

  async start(): Promise<void> {
    this.source.on('snapshot', (snapshot) => {
      this.generations = new Map(snapshot.smi.filter((p) => p.kind).map((p) => [`${p.kind}/${p.ref.namespace ?? 'default'}/${p.ref.name ?? ''}`, Number((p.hub?.metadata.generation as number | undefined) ?? 0)]));
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
    if (!topology || this.writing || (this.options.elector && !this.options.elector.isLeader)) return;
    this.writing = true;
    try {
      const proxies = this.controller.proxyStatus() as { upToDate: boolean }[];
      const programmed = { applied: proxies.filter((p) => p.upToDate).length, total: proxies.length };
      const now = new Date().toISOString();
      for (const target of desiredStatuses(topology, programmed, this.generations)) await this.write(target, now);
    } finally {
      this.writing = false;
    }
  }

  private async write(target: StatusTarget, now: string): Promise<void> {
    const key = `${target.kind}/${target.namespace}/${target.name}`;
    const fingerprint = JSON.stringify(target.status);
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

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.options.elector?.stop();
    this.controller.stop();
    await this.source.stop();
  }
}
