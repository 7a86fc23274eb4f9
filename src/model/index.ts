/** model: the mesh as one graph, built purely from a snapshot. See build.ts. */
export * from './snapshot.ts';
export type * from './topology.ts';
export { buildTopology, allIssues } from './build.ts';
export { spiffeId, key, compareStrings } from './keys.ts';
export { portProtocol } from './services.ts';
export { podChangesOf, podsUpdatedFrom, servicesChangedIn, type PodChanges } from './services-update.ts';
export { attachmentKey } from './policies.ts';
export { OUTBOUND_SCOPE_KEY, parseOutboundScope } from './outbound-scope.ts';
