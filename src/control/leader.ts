/**
 * Leader election with a coordination.k8s.io/v1 Lease, so several controller replicas can run:
 * all serve configs and certificates, only the leader writes status. The holder renews every
 * `renewMs`; another replica takes over when the lease is older than `leaseMs`. Updates carry
 * the resourceVersion they read, so two replicas can never both win the same round.
 */
import { EventEmitter } from 'node:events';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

export interface LeaderOptions {
  namespace: string;
  name?: string;
  identity: string;
  leaseMs?: number;
  renewMs?: number;
}

export class LeaderElector extends EventEmitter<{ changed: [boolean] }> {
  isLeader = false;
  lastError: string | undefined;
  private readonly api: CoordinationV1Api;
  private readonly options: Required<LeaderOptions>;
  private timer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, options: LeaderOptions) {
    super();
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.options = { name: 'skiff-controller', leaseMs: 15_000, renewMs: 2_000, ...options };
  }

  start(): void {
    const tick = async () => {
      await this.round().catch((err: unknown) => {
        this.lastError = err instanceof Error ? err.message : String(err);
        this.set(false);
      });
      this.timer = setTimeout(() => void tick(), this.options.renewMs);
      this.timer.unref();
    };
    void tick();
  }

  private set(leader: boolean): void {
    if (leader === this.isLeader) return;
    this.isLeader = leader;
    this.emit('changed', leader);
  }

  private lease(resourceVersion?: string, acquire?: boolean, previous?: V1Lease): V1Lease {
    // Lease times are MicroTime: the API wants six fractional digits.
    const now = new V1MicroTime();
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name: this.options.name, namespace: this.options.namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: Math.ceil(this.options.leaseMs / 1000),
        renewTime: now as never,
        acquireTime: (acquire ? now : previous?.spec?.acquireTime ?? now) as never,
        leaseTransitions: (previous?.spec?.leaseTransitions ?? 0) + (acquire && previous ? 1 : 0),
      },
    };
  }

  private async round(): Promise<void> {
    const { namespace, name, identity, leaseMs } = this.options;
    let current: V1Lease;
    try {
      current = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedLease({ namespace, body: this.lease(undefined, true) });
      this.set(true);
      return;
    }
    const holder = current.spec?.holderIdentity;
    const renewed = current.spec?.renewTime ? new Date(current.spec.renewTime as unknown as string).getTime() : 0;
    const expired = Date.now() - renewed > leaseMs;
    if (holder !== identity && !expired) {
      this.set(false);
      return;
    }
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: this.lease(current.metadata?.resourceVersion, holder !== identity, current) });
      this.set(true);
    } catch (err) {
      if ((err as { code?: number }).code === 409) this.set(false);
      else throw err;
    }
  }

  /** Stops renewing and, when leading, gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (!this.isLeader) return;
    try {
      const current = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (current.spec?.holderIdentity === this.options.identity) {
        current.spec.renewTime = new V1MicroTime(0) as never;
        await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: current });
      }
    } catch {
      // The lease simply expires.
    }
    this.set(false);
  }
}
