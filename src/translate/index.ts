/**
 * translate: pure Topology → ProxyConfig translation, and explain (who may call what, and
 * what each split resolves to).
 *
 *   Topology ─► outbound.ts (shared: services, routes, clusters)
 *            ─► inbound.ts  (per identity: ports, access mode, rules)
 *            ─► translate.ts (ProxyConfig + content hash per meshed pod)
 */
export { MeshTranslation, translate, translateAll } from './translate.ts';
export { buildOutbound, clusterName, type Demand } from './outbound.ts';
export { explain, explainRequest, type Explanation, type QueryAnswer } from './explain.ts';
export { describeClusterPolicy, describeRoutePolicy } from './explain-policy.ts';
