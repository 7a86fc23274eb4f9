/**
 * The hub: one version-independent representation of every SMI kind. Every served version
 * converts to it and back without loss (see convert/). The model layer reads only the hub.
 *
 * Semantic content lives in `spec`; `preserved` holds how the source version spelled things
 * (v1alpha1 weight quantities, header map-or-list form, a port written as a string) so that a
 * round trip gives back the exact object. `preserved` never changes what the object means.
 */
import type { ObjectMeta, RouteReference, SmiStatus, Subject } from './common.ts';
import type { SmiKind } from '../meta.ts';
import type { TrafficPolicySpec } from './policy.ts';

export interface HubBase<K extends SmiKind, S> {
  kind: K;
  /** The apiVersion the object was read from. */
  sourceVersion: string;
  metadata: ObjectMeta;
  spec: S;
  status?: SmiStatus;
  preserved?: Preserved;
}

/** Representation details of the source version; see convert/preserve.ts. */
export interface Preserved {
  /** v1alpha1 TrafficSplit: the weights as written, and the factor that made them integers (1 or 1000). */
  weightQuantities?: (string | number)[];
  weightScale?: number;
  /** HTTPRouteGroup: per match name, whether its headers were written as a map or a list. */
  headersForms?: Record<string, 'map' | 'list'>;
  /** TrafficTarget v1alpha1/2: destination.port was written as a string. */
  portAsString?: boolean;
  /** TCPRoute v1alpha3: the object had no `spec`. */
  specAbsent?: boolean;
}

export interface HubBackend {
  service: string;
  /** Relative integer weight; 0 means no traffic. */
  weight: number;
}

export interface HubTrafficSplitSpec {
  service: string;
  backends: HubBackend[];
  matches?: RouteReference[];
}

export interface HubRule {
  kind: string;
  name: string;
  matches?: string[];
}

export interface HubTrafficTargetSpec {
  destination: Subject & { port?: number };
  sources?: Subject[];
  rules?: HubRule[];
}

export interface HubHeader {
  name: string;
  value: string;
}

export interface HubHttpMatch {
  name: string;
  pathRegex?: string;
  methods?: string[];
  headers?: HubHeader[];
}

export interface HubHTTPRouteGroupSpec {
  matches?: HubHttpMatch[];
}

export interface HubPortRouteSpec {
  matches?: { name?: string; ports?: number[] };
}

export type HubTrafficSplit = HubBase<'TrafficSplit', HubTrafficSplitSpec>;
export type HubTrafficTarget = HubBase<'TrafficTarget', HubTrafficTargetSpec>;
export type HubHTTPRouteGroup = HubBase<'HTTPRouteGroup', HubHTTPRouteGroupSpec>;
export type HubTCPRoute = HubBase<'TCPRoute', HubPortRouteSpec>;
export type HubUDPRoute = HubBase<'UDPRoute', HubPortRouteSpec>;
/** TrafficPolicy has one version; its hub spec is that version's spec. */
export type HubTrafficPolicy = HubBase<'TrafficPolicy', TrafficPolicySpec>;

export type HubObject = HubTrafficSplit | HubTrafficTarget | HubHTTPRouteGroup | HubTCPRoute | HubUDPRoute | HubTrafficPolicy;
