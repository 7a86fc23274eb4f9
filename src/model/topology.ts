/**
 * The model's output: the mesh as one JSON-serialisable graph. Every node carries the issues
 * found on it; a broken object is present but inactive, and never stops the build. Arrays
 * are sorted by key so that equal inputs give byte-identical topologies.
 */
import type { Issue } from '../errors/issue.ts';
import type { AccessMode, HttpMatch, InboundProtocol, RateLimit, RetryCondition } from '../config/index.ts';
import type { MeshSettings } from './snapshot.ts';

export type Protocol = InboundProtocol;

export interface NamespaceNode {
  name: string;
  accessMode: AccessMode;
  issues: Issue[];
}

export interface EndpointNode {
  pod?: string;
  address: string;
  /** Target port on the pod. */
  port: number;
  ready: boolean;
}

export interface ServicePortNode {
  name?: string;
  port: number;
  protocol: Protocol;
  targetPort: number | string;
  endpoints: EndpointNode[];
}

export interface ServiceNode {
  key: string;
  namespace: string;
  name: string;
  clusterIP?: string;
  ports: ServicePortNode[];
  /** The active TrafficSplit rooted at this service. */
  split?: string;
  issues: Issue[];
}

export interface InboundPortNode {
  port: number;
  protocol: Protocol;
  services: string[];
  /** Service ports that lead to this target port (TrafficTarget ports may name either). */
  aliases: number[];
}

export interface PodNode {
  key: string;
  namespace: string;
  name: string;
  address?: string;
  ready: boolean;
  serviceAccount: string;
  identity: string;
  workload: { kind: string; name: string };
  meshed: boolean;
  meshPort?: number;
  /** The Services its proxy is configured for (`ns/name`, `ns/*`); absent: every Service (outbound-scope.ts). */
  outboundScope?: string[];
  services: string[];
  inboundPorts: InboundPortNode[];
}

export interface SplitBackendNode {
  service: string;
  weight: number;
  /** Share of the port's traffic in percent (two decimals); 0 when excluded. */
  percent: number;
  excluded?: string;
}

export interface SplitNode {
  key: string;
  namespace: string;
  name: string;
  sourceVersion: string;
  active: boolean;
  root?: string;
  /** HTTP matches selecting the requests to split; absent = every request. */
  matches?: HttpMatch[];
  ports: { port: number; backends: SplitBackendNode[] }[];
  issues: Issue[];
}

export interface TargetRuleNode {
  kind: string;
  name: string;
  protocols: Protocol[];
  /** Destination ports (target or service ports); absent = every port. */
  ports?: number[];
  http?: HttpMatch[];
}

export interface TargetNode {
  key: string;
  namespace: string;
  name: string;
  sourceVersion: string;
  active: boolean;
  destination?: string;
  sources: string[];
  rules: TargetRuleNode[];
  issues: Issue[];
}

export interface RouteGroupNode {
  key: string;
  namespace: string;
  name: string;
  active: boolean;
  matches: HttpMatch[];
  issues: Issue[];
}

export interface PortRouteNode {
  key: string;
  kind: 'TCPRoute' | 'UDPRoute';
  namespace: string;
  name: string;
  active: boolean;
  /** Absent = every port. */
  ports?: number[];
  issues: Issue[];
}

/** What a TrafficPolicy sets, as plain numbers (ms, counts, percent); absent = not set. */
export interface PolicyFields {
  timeoutMs?: number;
  perTryTimeoutMs?: number;
  idleTimeoutMs?: number;
  streamIdleMs?: number;
  retryAttempts?: number;
  retryOn?: RetryCondition[];
  retryBudgetPercent?: number;
  retryMinPerSecond?: number;
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  consecutiveErrors?: number;
  baseEjectionMs?: number;
  maxEjectionPercent?: number;
  rateLimit?: RateLimit;
  fault?: { delayMs?: number; delayPercent?: number; abortStatus?: number; abortPercent?: number };
}

export type PolicyField = keyof PolicyFields;

/** One resolved target: a Service (all ports, or one) or an HTTPRouteGroup (all matches, or one). */
export interface PolicyAttachment {
  service?: string;
  port?: number;
  routeGroup?: string;
  match?: string;
}

export interface PolicyNode {
  key: string;
  namespace: string;
  name: string;
  sourceVersion: string;
  active: boolean;
  /** Age rank among all policies, 0 = oldest (creation time, then key): the older wins a conflict. */
  rank: number;
  fields: PolicyFields;
  /** Targets that exist; missing ones are issues (ResolvedRefs). */
  attachments: PolicyAttachment[];
  issues: Issue[];
}

export interface Topology {
  mesh: MeshSettings;
  namespaces: NamespaceNode[];
  services: ServiceNode[];
  pods: PodNode[];
  splits: SplitNode[];
  targets: TargetNode[];
  routeGroups: RouteGroupNode[];
  portRoutes: PortRouteNode[];
  policies: PolicyNode[];
  /** Issues of input that became no node (duplicates, unknown SMI kinds). */
  issues: Issue[];
}
