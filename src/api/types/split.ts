/** TrafficSplit (split.smi-spec.io) as written in each served version. */
import type { ObjectMeta, RouteReference, SmiStatus } from './common.ts';

/** v1alpha1 weight: a Kubernetes quantity such as "1", "500m" or 100. */
export type Quantity = string | number;

export interface TrafficSplitV1alpha1 {
  apiVersion: 'split.smi-spec.io/v1alpha1';
  kind: 'TrafficSplit';
  metadata: ObjectMeta;
  spec: { service: string; backends: { service: string; weight: Quantity }[] };
  status?: SmiStatus;
}

export interface TrafficSplitV1alpha2 {
  apiVersion: 'split.smi-spec.io/v1alpha2';
  kind: 'TrafficSplit';
  metadata: ObjectMeta;
  spec: { service: string; backends: { service: string; weight: number }[] };
  status?: SmiStatus;
}

interface TrafficSplitWithMatches<V extends string> {
  apiVersion: `split.smi-spec.io/${V}`;
  kind: 'TrafficSplit';
  metadata: ObjectMeta;
  spec: { service: string; backends: { service: string; weight: number }[]; matches?: RouteReference[] };
  status?: SmiStatus;
}

export type TrafficSplitV1alpha3 = TrafficSplitWithMatches<'v1alpha3'>;
export type TrafficSplitV1alpha4 = TrafficSplitWithMatches<'v1alpha4'>;

export type TrafficSplitAnyVersion = TrafficSplitV1alpha1 | TrafficSplitV1alpha2 | TrafficSplitV1alpha3 | TrafficSplitV1alpha4;
