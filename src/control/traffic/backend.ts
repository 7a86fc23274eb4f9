/** The TrafficMetrics backend of a running control plane: its store, its peers', its mesh. */
import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import type { MeshController } from '../controller.ts';
import type { TrafficMetricsBackend } from './api.ts';
import { buildCatalog } from './catalog.ts';
import { EMPTY_CATALOG, RESOURCE_KINDS, type Catalog, type ResourcePlural } from './kinds.ts';
import type { ReplicaPeers } from './replicas.ts';
import type { TrafficStore } from './store.ts';

const API_VERSIONS: Partial<Record<ResourcePlural, string>> = {
  deployments: 'apps/v1', replicasets: 'apps/v1', statefulsets: 'apps/v1', daemonsets: 'apps/v1',
  jobs: 'batch/v1', replicationcontrollers: 'v1', nodes: 'v1',
};

export function meshTrafficBackend(controller: MeshController, store: TrafficStore, options: { peers?: ReplicaPeers; kubeconfig?: KubeConfig } = {}): TrafficMetricsBackend {
  let cached: { topology: object; catalog: Catalog } | undefined;
  const objects = options.kubeconfig ? KubernetesObjectApi.makeApiClient(options.kubeconfig) : undefined;
  return {
    entries: async (windowMs) => [...store.window(windowMs), ...(options.peers ? await options.peers.entries(windowMs) : [])],
    catalog: () => {
      const { topology, snapshot } = controller;
      if (!topology || !snapshot) return EMPTY_CATALOG;
      if (cached?.topology !== topology) cached = { topology, catalog: buildCatalog(snapshot, topology) };
      return cached.catalog;
    },
    ...(objects ? {
      selectNames: async (resource: ResourcePlural, namespace: string | undefined, selector: string) => {
        const apiVersion = API_VERSIONS[resource];
        if (!apiVersion) return new Set<string>();
        const info = RESOURCE_KINDS[resource];
        const found = await objects.list(apiVersion, info.kind, info.namespaced ? namespace : undefined, undefined, undefined, undefined, undefined, selector);
        return new Set(found.items.map((o) => (info.namespaced ? `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}` : o.metadata?.name ?? '')));
      },
    } : {}),
  };
}
