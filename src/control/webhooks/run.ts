/**
 * Runs the webhook server for the controller, in one of two modes:
 * - self-managed (default): serving certificate from the mesh CA, renewed in place; the leader
 *   keeps caBundle right in the webhook configurations and CRDs (every 30 s, and on becoming
 *   leader) and publishes the trust bundle ConfigMap into namespaces for injected pods (new
 *   namespaces as they appear; every one re-checked each 10 minutes and on becoming leader);
 * - files (`--webhook-cert/--webhook-key`, e.g. cert-manager): certificate read once; caBundle
 *   left to whoever issued it (cert-manager's cainjector).
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { CONVERTED_CRD_NAMES } from '../../api/crds.ts';
import { namespaceInjectionView } from '../../inject/annotations.ts';
import type { InjectSettings } from '../../inject/settings.ts';
import type { CertificateAuthority } from '../ca/authority.ts';
import type { KubernetesController } from '../kubernetes.ts';
import type { LeaderElector } from '../leader.ts';
import { TrustBundlePublisher } from '../trust-bundle.ts';
import { issueServingCertificate, reconcileCaBundles } from './self-managed.ts';
import { renewServingCertificate } from '../serving-certificate.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';

export interface RunWebhooksOptions {
  kubeconfig: KubeConfig;
  ca: CertificateAuthority;
  controller: KubernetesController;
  elector?: LeaderElector;
  host: string;
  port: number;
  /** The controller's namespace and Service: the serving certificate's names. */
  namespace: string;
  service: string;
  injection: InjectSettings;
  /** From files (cert-manager); absent: self-managed. */
  files?: { certPem: string; keyPem: string };
  /** Extra names for the serving certificate (e.g. an IP the API server calls by URL). */
  extraNames?: { dnsNames?: string[]; ipAddresses?: string[] };
  reconcileEveryMs?: number;
  log: (event: string, detail: Record<string, unknown>) => void;
}

const TRUST_BUNDLE_RESYNC_MS = 10 * 60_000;


export interface RunningWebhooks {
  server: WebhookServer;
  /** The serving certificate in use (the TrafficMetrics API serves the same Service names). */
  certificate(): { certPem: string; keyPem: string };
  /** Called with each renewed certificate (self-managed mode). */
  onCertificate(listener: (c: { certPem: string; keyPem: string }) => void): void;
  stop(): Promise<void>;
}

export async function runWebhooks(o: RunWebhooksOptions): Promise<RunningWebhooks> {
  const namespaces = new Map<string, Record<string, string>>();
  const core = o.kubeconfig.makeApiClient(CoreV1Api);
  const namespaceAnnotations = async (name: string) => {
    const known = namespaces.get(name);
    if (known) return known;
    // Not in the informer cache yet (created a moment ago): ask the API server.
    const read = await core.readNamespace({ name }).catch(() => undefined);
    return namespaceInjectionView(read?.metadata?.labels, read?.metadata?.annotations);
  };
  const publisher = new TrustBundlePublisher(o.kubeconfig, o.ca.trustBundle(), o.log);
  const isLeader = () => o.elector?.isLeader ?? true;
  o.controller.source.on('snapshot', (snapshot) => {
    namespaces.clear();
    for (const ns of snapshot.namespaces) namespaces.set(ns.name, namespaceInjectionView(ns.labels, ns.annotations));
    if (isLeader()) void publisher.sync([...namespaces.keys()]);
  });
  const issue = () => issueServingCertificate(o.ca, o.namespace, o.service, undefined, o.extraNames);
  const running: { server?: WebhookServer } = {};
  const listeners: ((c: { certPem: string; keyPem: string }) => void)[] = [];
  const renewal = o.files ? undefined : renewServingCertificate(issue, (c) => {
    running.server?.setCertificate(c.certPem, c.keyPem);
    for (const l of listeners) l(c);
  }, o.log);
  const first = o.files ?? renewal?.current;
  if (!first) throw new Error('no webhook certificate');
  const server = await startWebhookServer({ host: o.host, port: o.port, certPem: first.certPem, keyPem: first.keyPem, injection: { settings: o.injection, namespaceAnnotations } });
  const reconcile = async () => {
    if (o.files || !isLeader()) return;
    try {
      const changed = await reconcileCaBundles(o.kubeconfig, o.ca.trustBundle(), CONVERTED_CRD_NAMES);
      if (changed.length) o.log('ca-bundle-written', { changed });
    } catch (err) {
      o.log('ca-bundle-write-failed', { error: (err as Error).message });
    }
  };
  running.server = server;
  await reconcile();
  const timer = setInterval(() => void reconcile(), o.reconcileEveryMs ?? 30_000);
  timer.unref();
  // Re-checking every namespace's ConfigMap costs API calls per namespace: rarely, not every 30 s.
  const resync = setInterval(() => {
    if (!isLeader()) return;
    publisher.reset();
    void publisher.sync([...namespaces.keys()]);
  }, TRUST_BUNDLE_RESYNC_MS);
  resync.unref();
  o.elector?.on('changed', (leader) => {
    if (!leader) return;
    publisher.reset();
    void reconcile();
    void publisher.sync([...namespaces.keys()]);
  });
  return {
    server,
    certificate: () => o.files ?? (renewal as NonNullable<typeof renewal>).current,
    onCertificate: (listener) => listeners.push(listener),
    stop: async () => {
      clearInterval(timer);
      clearInterval(resync);
      renewal?.stop();
      await server.app.close();
    },
  };
}
