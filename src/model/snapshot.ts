/**
 * The model's input: a snapshot of everything the mesh depends on, in plain data. Sources
 * (a Kubernetes informer cache, a YAML folder) produce it; buildTopology() reads it.
 */
import type { ParsedObject } from '../api/index.ts';
import type { Issue } from '../errors/issue.ts';
import type { AccessMode } from '../config/index.ts';
import { PORTS } from '../lib/ports.ts';

export interface MeshSettings {
  trustDomain: string;
  clusterDomain: string;
  /** Access mode of namespaces that do not set `skiff.dev/access`. */
  defaultAccessMode: AccessMode;
}

export const DEFAULT_MESH: MeshSettings = { trustDomain: 'cluster.local', clusterDomain: 'cluster.local', defaultAccessMode: 'strict' };

/** Pod annotation naming the port of the sidecar's mTLS inbound listener, and its default. */
export const MESH_PORT_ANNOTATION = 'skiff.dev/inbound-port';
export const DEFAULT_MESH_PORT = PORTS.inbound;

/** Namespace annotation (or label) choosing `permissive` or `strict` access control. */
export const ACCESS_MODE_KEY = 'skiff.dev/access';

export interface NamespaceInput {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServicePortInput {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface ServiceInput {
  namespace: string;
  name: string;
  selector?: Record<string, string>;
  labels?: Record<string, string>;
  ports: ServicePortInput[];
  clusterIP?: string;
}

export interface ContainerPortInput {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface PodInput {
  namespace: string;
  name: string;
  /** Pod IP; pods without one are not endpoints yet. */
  ip?: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  /** The owning workload after following ReplicaSet → Deployment. */
  owner?: { kind: string; name: string };
  /** The direct controller (e.g. the ReplicaSet under a Deployment), when it has one. */
  controller?: { kind: string; name: string };
  /** The node it runs on. */
  nodeName?: string;
  ready: boolean;
  containerPorts: ContainerPortInput[];
  /** The pod runs a Skiff sidecar. */
  meshed: boolean;
  /** Port of the sidecar's mTLS inbound listener on the pod IP. */
  meshPort?: number;
  /** The pod's own `skiff.dev/outbound-scope` annotation, as written (outbound-scope.ts). */
  outboundScope?: string;
}

export interface EndpointSliceInput {
  namespace: string;
  name: string;
  /** The `kubernetes.io/service-name` label. */
  service: string;
  ports: { name?: string; port: number; protocol?: string }[];
  endpoints: { addresses: string[]; ready?: boolean; pod?: string }[];
}

export interface Snapshot {
  mesh: MeshSettings;
  namespaces: NamespaceInput[];
  services: ServiceInput[];
  pods: PodInput[];
  /** Used for Services without a selector; Services with one take endpoints from pods. */
  endpointSlices: EndpointSliceInput[];
  /** Every SMI document, valid or not, as the API layer parsed it. */
  smi: ParsedObject[];
  /** Problems the source found that belong to no object of the model (the mesh settings). */
  issues?: Issue[];
}
