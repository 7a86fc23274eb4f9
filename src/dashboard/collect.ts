/**
 * Gathers what the view needs from a control plane, the same way in local mode and in a
 * cluster: the debug server's state (topology, proxies, problems, object statuses) and the
 * TrafficMetrics API (each workload's edges, each split's backends and clients). Only the
 * transport differs (DashboardSource).
 */
import type { StatusTarget } from '../control/status.ts';
import type { TrafficMetrics, TrafficMetricsList } from '../control/traffic/query.ts';
import type { Topology } from '../model/index.ts';
import { parseDuration } from '../api/index.ts';
import { dashboardView, type ProxyFacts } from './view.ts';
import type { DashboardView } from './view-types.ts';

/** The control plane's state as its debug server gives it. */
export interface ControlState {
  topology: Topology | null;
  proxies: ProxyFacts[];
  problems: string[];
  statuses: StatusTarget[];
}

export interface DashboardSource {
  state(): Promise<ControlState>;
  /** One TrafficMetrics GET, the path below /apis/metrics.smi-spec.io/v1alpha1 with its query; null when refused. */
  metrics(path: string): Promise<TrafficMetricsList | TrafficMetrics | null>;
}

/** The TrafficMetrics window the dashboard shows (the API's shortest useful one is two report intervals). */
export const DASHBOARD_WINDOW = '10s';

/** The TrafficMetrics resource of each workload kind a pod can belong to. */
const PLURALS: Record<string, string> = {
  Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets', ReplicaSet: 'replicasets',
  Job: 'jobs', ReplicationController: 'replicationcontrollers', Pod: 'pods',
};

const itemsOf = (answer: TrafficMetricsList | TrafficMetrics | null): TrafficMetrics[] =>
  !answer ? [] : answer.kind === 'TrafficMetricsList' ? answer.items : [answer];

/** At most `limit` requests at a time (a cluster's API server serves all of them). */
async function inBatches<T, R>(list: readonly T[], limit: number, run: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < list.length; i += limit) out.push(...await Promise.all(list.slice(i, i + limit).map(run)));
  return out;
}

/** `window`: the TrafficMetrics window (`t=`), e.g. 10s or 5m. */
export async function collectView(source: DashboardSource, window = DASHBOARD_WINDOW, now = Date.now()): Promise<DashboardView> {
  const state = await source.state();
  const topology = state.topology;
  const workloads = new Map<string, string>();
  for (const p of topology?.pods ?? []) {
    const plural = PLURALS[p.workload.kind];
    const name = p.workload.kind === 'Pod' ? p.name : p.workload.name;
    if (plural) workloads.set(`${p.namespace}/${plural}/${name}`, `/namespaces/${p.namespace}/${plural}/${name}/edges?t=${window}`);
  }
  const splits = (topology?.splits ?? []).filter((s) => s.active);
  const [edgeAnswers, splitTotals, splitEdgeAnswers] = await Promise.all([
    inBatches([...workloads.values()], 16, (path) => source.metrics(path)),
    source.metrics(`/trafficsplits?t=${window}`),
    inBatches(splits, 16, (s) => source.metrics(`/namespaces/${s.namespace}/trafficsplits/${s.name}/edges?t=${window}`)),
  ]);
  const workloadEdges = edgeAnswers.flatMap(itemsOf);
  // The window the answers really cover (shorter while the control plane has just started).
  const covered = [...workloadEdges, ...itemsOf(splitTotals)][0]?.window;
  const windowSeconds = (parseDuration(covered ?? window) ?? 10_000) / 1000;
  return dashboardView({
    now, windowSeconds, topology, proxies: state.proxies, problems: state.problems, statuses: state.statuses,
    workloadEdges, splitTotals: itemsOf(splitTotals), splitEdges: splitEdgeAnswers.flatMap(itemsOf),
  });
}
