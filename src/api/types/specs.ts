/** HTTPRouteGroup, TCPRoute and UDPRoute (specs.smi-spec.io) as written in each served version. */
import type { ObjectMeta, SmiStatus } from './common.ts';

/** Headers as the SMI docs show them (a map) or as the SDK and CRDs write them (a list of single-key maps). */
export type HeadersWire = Record<string, string> | Record<string, string>[];

export interface HttpMatchV1alpha1 {
  name: string;
  pathRegex?: string;
  methods?: string[];
}

export interface HttpMatch extends HttpMatchV1alpha1 {
  headers?: HeadersWire;
}

export interface HTTPRouteGroupV1alpha1 {
  apiVersion: 'specs.smi-spec.io/v1alpha1';
  kind: 'HTTPRouteGroup';
  metadata: ObjectMeta;
  matches?: HttpMatchV1alpha1[];
  status?: SmiStatus;
}

export interface HTTPRouteGroupV1alpha2 {
  apiVersion: 'specs.smi-spec.io/v1alpha2';
  kind: 'HTTPRouteGroup';
  metadata: ObjectMeta;
  matches?: HttpMatch[];
  status?: SmiStatus;
}

export interface HTTPRouteGroupSpecForm<V extends string> {
  apiVersion: `specs.smi-spec.io/${V}`;
  kind: 'HTTPRouteGroup';
  metadata: ObjectMeta;
  spec: { matches?: HttpMatch[] };
  status?: SmiStatus;
}

export type HTTPRouteGroupAnyVersion =
  | HTTPRouteGroupV1alpha1 | HTTPRouteGroupV1alpha2 | HTTPRouteGroupSpecForm<'v1alpha3'> | HTTPRouteGroupSpecForm<'v1alpha4'>;

export interface PortMatch {
  name?: string;
  ports?: number[];
}

/** TCPRoute v1alpha1/v1alpha2 have no fields; v1alpha3 an empty spec; v1alpha4 ports. */
export interface TCPRouteV1alpha1or2 {
  apiVersion: 'specs.smi-spec.io/v1alpha1' | 'specs.smi-spec.io/v1alpha2';
  kind: 'TCPRoute';
  metadata: ObjectMeta;
  status?: SmiStatus;
}

export interface TCPRouteV1alpha3 {
  apiVersion: 'specs.smi-spec.io/v1alpha3';
  kind: 'TCPRoute';
  metadata: ObjectMeta;
  spec?: Record<string, never>;
  status?: SmiStatus;
}

export interface PortRouteV1alpha4<K extends 'TCPRoute' | 'UDPRoute'> {
  apiVersion: 'specs.smi-spec.io/v1alpha4';
  kind: K;
  metadata: ObjectMeta;
  spec: { matches?: PortMatch };
  status?: SmiStatus;
}
