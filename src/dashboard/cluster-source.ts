/**
 * The dashboard's data from a cluster, with the user's own credentials: TrafficMetrics through
 * the API server (the aggregated API: the same SubjectAccessReview as `skiff stat` and
 * `kubectl get --raw`), TrafficSplit statuses as the leader wrote them (RBAC on the SMI
 * objects), and the controller's topology, proxies and problems from its loopback debug
 * server through a port-forward (RBAC: pods/portforward in the control plane's namespace),
 * as `skiff check` reads them. Each replica knows the proxies streaming from it: all are asked.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../check/kube-request.ts';
import { getThroughPortForward } from '../check/port-forward.ts';
import type { StatusTarget } from '../control/status.ts';
import type { TrafficMetrics, TrafficMetricsList } from '../control/traffic/query.ts';
import { API_PREFIX } from '../control/traffic/request.ts';
import { CONTROLLER_SERVICE } from '../inject/defaults.ts';
import { PORTS } from '../lib/ports.ts';
import type { Topology } from '../model/index.ts';
import type { ControlState, DashboardSource } from './collect.ts';
import type { ProxyFacts } from './view.ts';

interface Listed<T> { items?: T[] }
interface PodItem { metadata: { name: string; labels?: Record<string, string> }; status?: { phase?: string } }
interface SplitItem { metadata: { name: string; namespace: string }; status?: StatusTarget['status'] }

export function clusterDashboardSource(kc: KubeConfig, namespace: string): DashboardSource {
  const debug = async <T>(pod: string, path: string): Promise<T> => {
    const r = await getThroughPortForward(kc, namespace, pod, PORTS.debug, path);
    if (r.status !== 200) throw new Error(`${namespace}/${pod}${path}: HTTP ${r.status}`);
    return JSON.parse(r.body) as T;
  };
  return {
    state: async (): Promise<ControlState> => {
      const pods = await kubeRequest(kc, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=${CONTROLLER_SERVICE}`)}`);
      if (pods.status !== 200) throw new Error(`listing the controller's pods in ${namespace}: HTTP ${pods.status} ${(pods.body as { message?: string } | undefined)?.message ?? ''}`);
      const running = ((pods.body as Listed<PodItem>).items ?? []).filter((p) => p.status?.phase === 'Running').map((p) => p.metadata.name).sort();
      const first = running[0];
      if (!first) throw new Error(`no controller pod running in ${namespace}`);
      const [topology, problems, replicas, splits] = await Promise.all([
        debug<Topology | null>(first, '/debug/topology'),
        debug<string[]>(first, '/debug/problems'),
        Promise.all(running.map((pod) => debug<ProxyFacts[]>(pod, '/debug/proxies'))),
        kubeRequest(kc, 'GET', '/apis/split.smi-spec.io/v1alpha4/trafficsplits'),
      ]);
      return {
        topology, problems, proxies: mergeReplicas(replicas),
        statuses: splits.status === 200 ? ((splits.body as Listed<SplitItem>).items ?? []).map((s) => ({ kind: 'TrafficSplit', namespace: s.metadata.namespace, name: s.metadata.name, status: s.status ?? {} })) : [],
      };
    },
    metrics: async (path) => {
      const r = await kubeRequest(kc, 'GET', `${API_PREFIX}${path}`);
      return r.status === 200 ? r.body as TrafficMetricsList | TrafficMetrics : null;
    },
  };
}

/**
 * One row per proxy from every replica's records. A proxy streams its config from one replica
 * but its acknowledgements and certificate requests go through the Service to any of them:
 * connected if any replica has its stream, applied whatever any replica heard it applied (the
 * desired config where one did), the latest certificate any replica issued or saw.
 */
export function mergeReplicas(replicas: readonly (readonly ProxyFacts[])[]): ProxyFacts[] {
  const merged = new Map<string, ProxyFacts>();
  for (const list of replicas) {
    for (const p of list) {
      const have = merged.get(p.proxy);
      if (!have) {
        merged.set(p.proxy, { ...p });
        continue;
      }
      have.connected ||= p.connected;
      have.desired ??= p.desired;
      if (p.applied && (!have.applied || p.applied === have.desired)) have.applied = p.applied;
      have.lastError ??= p.lastError;
      if (p.certificateNotAfter && (!have.certificateNotAfter || p.certificateNotAfter > have.certificateNotAfter)) have.certificateNotAfter = p.certificateNotAfter;
    }
  }
  for (const p of merged.values()) p.upToDate = p.applied !== null && p.applied === p.desired;
  return [...merged.values()];
}
