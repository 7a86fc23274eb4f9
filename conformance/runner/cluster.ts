/**
 * What the runner does to a cluster, through the Kubernetes API only: namespaces, server-side
 * apply and delete of manifests, readiness, and the sample apps reached through the API
 * server's Service proxy (so the runner works from anywhere a kubeconfig does).
 */
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeRequest } from '../../src/check/kube-request.ts';
import { APP_PORT, type Profile } from './scenario.ts';
import type { MeshTarget } from './target.ts';

export class Cluster implements MeshTarget {
  private readonly kc: KubeConfig;
  private readonly objects: KubernetesObjectApi;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  async createNamespace(name: string, profile: Profile, access: 'strict' | 'permissive'): Promise<void> {
    const labels = { ...profile.namespace?.labels, ...profile.access[access].labels };
    const annotations = { ...profile.namespace?.annotations, ...profile.access[access].annotations };
    await this.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } }));
  }

  async deleteNamespace(name: string): Promise<void> {
    await kubeRequest(this.kc, 'DELETE', `/api/v1/namespaces/${name}`);
  }

  private static documents(text: string): KubernetesObject[] {
    return parseAllDocuments(text).map((d) => d.toJS() as KubernetesObject | null).filter((d): d is KubernetesObject => Boolean(d?.kind));
  }

  async apply(text: string): Promise<void> {
    for (const doc of Cluster.documents(text)) await this.objects.patch(doc, undefined, undefined, 'smi-conformance', true, PatchStrategy.ServerSideApply);
  }

  async delete(text: string): Promise<void> {
    for (const doc of Cluster.documents(text)) await this.objects.delete(doc).catch((err: { code?: number }) => { if (err.code !== 404) throw err; });
  }

  async exists(text: string): Promise<boolean> {
    for (const doc of Cluster.documents(text)) {
      const found = await this.objects.read({ apiVersion: doc.apiVersion, kind: doc.kind, metadata: { name: doc.metadata?.name ?? '', namespace: doc.metadata?.namespace ?? '' } } as never).then(() => true, () => false);
      if (!found) return false;
    }
    return true;
  }

  async crdExists(name: string): Promise<boolean> {
    return (await kubeRequest(this.kc, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)).status === 200;
  }

  async deploymentNotReady(namespace: string, name: string): Promise<string | undefined> {
    const r = await kubeRequest(this.kc, 'GET', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
    if (r.status !== 200) return `${name}: the API answered ${r.status}`;
    const d = r.body as { spec?: { replicas?: number }; status?: { readyReplicas?: number; updatedReplicas?: number } };
    const [ready, wanted] = [d.status?.readyReplicas ?? 0, d.spec?.replicas ?? 1];
    return ready >= wanted ? undefined : `${name}: ${ready} of ${wanted} replicas ready`;
  }

  /** A request to a sample app, from outside the mesh, through the API server's Service proxy. */
  async app(namespace: string, app: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const r = await kubeRequest(this.kc, method, `/api/v1/namespaces/${namespace}/services/${app}:${APP_PORT}/proxy${path}`, body, 20_000);
    return { status: r.status, body: r.body };
  }

  /** A GET on the SMI TrafficMetrics API, through the API server. */
  async trafficMetrics(path: string): Promise<{ status: number; body: unknown }> {
    const r = await kubeRequest(this.kc, 'GET', `/apis/metrics.smi-spec.io/v1alpha1${path}`);
    return { status: r.status, body: r.body };
  }
}
