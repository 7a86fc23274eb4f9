/**
 * dashboard: the live mesh dashboard. A control plane's state and TrafficMetrics (collect.ts,
 * through a DashboardSource: in-process for local mode, the API server and a port-forward for
 * a cluster) become a view (view.ts, pure), which a Fastify app serves as JSON and as a
 * server-sent event stream to a page bundled from web/ (Cytoscape.js, dagre).
 *
 *   controller + TrafficMetrics ──source──► collectView ──► dashboardView ──SSE, 1/s──► web/ page
 */
export { collectView, DASHBOARD_WINDOW, type ControlState, type DashboardSource } from './collect.ts';
export { dashboardView, type DashboardInputs, type ProxyFacts } from './view.ts';
export { registerDashboard, type DashboardOptions } from './server.ts';
export { buildDashboard, dashboardFiles } from './assets.ts';
export { localDashboardSource } from './local-source.ts';
export { clusterDashboardSource } from './cluster-source.ts';
export type * from './view-types.ts';
