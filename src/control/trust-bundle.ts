/**
 * Publishes the mesh trust bundle as the ConfigMap `skiff-ca-bundle` (key `ca.pem`) in every
 * namespace but the system ones, so that injected pods can mount it (the sidecar verifies
 * the control plane with it). The leader writes; a namespace is written again only when the
 * bundle changes (a new root) or the ConfigMap was changed by someone else.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { SYSTEM_NAMESPACES, TRUST_BUNDLE_CONFIGMAP } from '../inject/settings.ts';

export class TrustBundlePublisher {
  private readonly core: CoreV1Api;
  private readonly published = new Map<string, string>();
  private running = false;
  private pending: string[] | undefined;
  private readonly bundlePem: string;
  private readonly log: (event: string, detail: Record<string, unknown>) => void;

  constructor(kc: KubeConfig, bundlePem: string, log: (event: string, detail: Record<string, unknown>) => void) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.bundlePem = bundlePem;
    this.log = log;
  }

  /** Makes sure each namespace has the current bundle; calls while one runs are coalesced. */
  async sync(namespaces: readonly string[]): Promise<void> {
    this.pending = [...namespaces];
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending) {
        const wanted = this.pending.filter((ns) => !SYSTEM_NAMESPACES.includes(ns) && this.published.get(ns) !== this.bundlePem);
        this.pending = undefined;
        for (const namespace of wanted) await this.publish(namespace);
      }
    } finally {
      this.running = false;
    }
  }

  /** Forgets what was written, so the next sync checks every namespace again (a new leader, a periodic resync). */
  reset(): void {
    this.published.clear();
  }

  private async publish(namespace: string): Promise<void> {
    const body = { metadata: { name: TRUST_BUNDLE_CONFIGMAP, namespace, labels: { 'app.kubernetes.io/part-of': 'skiff' } }, data: { 'ca.pem': this.bundlePem } };
    try {
      try {
        await this.core.createNamespacedConfigMap({ namespace, body });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        const current = await this.core.readNamespacedConfigMap({ name: TRUST_BUNDLE_CONFIGMAP, namespace });
        if (current.data?.['ca.pem'] !== this.bundlePem) await this.core.replaceNamespacedConfigMap({ name: TRUST_BUNDLE_CONFIGMAP, namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
      }
      this.published.set(namespace, this.bundlePem);
    } catch (err) {
      // A namespace being deleted, or a transient error: the next sync tries again.
      this.log('trust-bundle-publish-failed', { namespace, error: (err as Error).message });
    }
  }
}
