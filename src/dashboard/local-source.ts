/** The dashboard's data from a control plane in this process (local mode): no HTTP, no authorization (loopback). */
import type { MeshController } from '../control/controller.ts';
import { isUpToDate } from '../control/controller.ts';
import { desiredStatuses, progressOf } from '../control/status.ts';
import { answer, type TrafficMetricsBackend } from '../control/traffic/api.ts';
import type { TrafficMetrics, TrafficMetricsList } from '../control/traffic/query.ts';
import { API_PREFIX } from '../control/traffic/request.ts';
import type { DashboardSource } from './collect.ts';

/** `inputProblems`: what the source of objects found wrong before the controller saw it (local mode's YAML folder). */
export function localDashboardSource(controller: MeshController, traffic: TrafficMetricsBackend, inputProblems: () => string[] = () => []): DashboardSource {
  return {
    state: async () => {
      const topology = controller.topology ?? null;
      const proxies = [...controller.proxies.values()].map((r) => ({ id: r.id, upToDate: isUpToDate(r), outbound: r.config.outbound }));
      return {
        topology, proxies: controller.proxyStatus(), problems: [...inputProblems(), ...controller.problems()],
        statuses: topology ? desiredStatuses(topology, progressOf(topology, proxies), new Map()) : [],
      };
    },
    metrics: async (path) => {
      const url = new URL(`${API_PREFIX}${path}`, 'http://local');
      const result = await answer(url.pathname, Object.fromEntries(url.searchParams), traffic);
      return result.code === 200 ? result.body as TrafficMetricsList | TrafficMetrics : null;
    },
  };
}

