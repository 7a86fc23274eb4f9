/** The TrafficMetrics backend of a running control plane: its store, its peers', its mesh. */
import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import type { MeshController } from '../controller.ts';
import type { TrafficMetricsBackend } from './api.ts';
import { buildCatalog } from './catalog.ts';
import { EMPTY_CATALOG, RESOURCE_KINDS, type Catalog, type ResourcePlural } from './kinds.ts';
import { mergePartials, partialMetrics, type PartialItem, type PartialQuery } from './query.ts';
import type { ReplicaPeers } from './replicas.ts';
import type { TrafficStore } from './store.ts';

const API_VERSIONS: Partial<Record<ResourcePlural, string>> = {
  deployments: 'apps/v1', replicasets: 'apps/v1', statefulsets: 'apps/v1', daemonsets: 'apps/v1',
  jobs: 'batch/v1', replicationcontrollers: 'v1', nodes: 'v1',
};

/** This replica's part of any answer: its own store, mapped onto resources with its view of the mesh. */
export interface LocalTraffic {
  catalog(): Catalog;
  partial(query: PartialQuery): { items: PartialItem[]; coveredMs: number };
}

export function localTraffic(controller: MeshController, store: TrafficStore): LocalTraffic {
  let cached: { topology: object; catalog: Catalog } | undefined;
  const catalog = (): Catalog => {
    const { topology, snapshot } = controller;
    if (!topology || !snapshot) return EMPTY_CATALOG;
    if (cached?.topology !== topology) cached = { topology, catalog: buildCatalog(snapshot, topology) };
    return cached.catalog;
  };
  return {
    catalog,
    partial: (query) => {
      const own = store.window(query.windowMs);
      return { items: partialMetrics(own.entries, catalog(), query), coveredMs: own.coveredMs };
    },
  };
}

export function meshTrafficBackend(local: LocalTraffic, options: { peers?: ReplicaPeers; kubeconfig?: KubeConfig } = {}): TrafficMetricsBackend {
  const objects = options.kubeconfig ? KubernetesObjectApi.makeApiClient(options.kubeconfig) : undefined;
  return {
    partial: async (query) => {
      const mine = local.partial(query);
      if (!options.peers) return mine;
      const theirs = await options.peers.partial(query);
      return { items: mergePartials([mine.items, ...theirs.map((t) => t.items)]), coveredMs: Math.min(mine.coveredMs, ...theirs.map((t) => t.coveredMs)) };
    },
    catalog: () => local.catalog(),
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
