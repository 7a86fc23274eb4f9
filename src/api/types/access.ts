/** TrafficTarget (access.smi-spec.io) as written in each served version. */
import type { ObjectMeta, SmiStatus, Subject } from './common.ts';

export interface TrafficTargetRule {
  kind: string;
  name: string;
  matches?: string[];
}

/** v1alpha1/v1alpha2 destination may carry a port (number, or a string of digits). */
export interface DestinationWithPort extends Subject {
  port?: number | string;
}

export interface TrafficTargetV1alpha1 {
  apiVersion: 'access.smi-spec.io/v1alpha1';
  kind: 'TrafficTarget';
  metadata: ObjectMeta;
  destination: DestinationWithPort;
  sources?: Subject[];
  specs?: TrafficTargetRule[];
  status?: SmiStatus;
}

export interface TrafficTargetV1alpha2 {
  apiVersion: 'access.smi-spec.io/v1alpha2';
  kind: 'TrafficTarget';
  metadata: ObjectMeta;
  spec: { destination: DestinationWithPort; sources?: Subject[]; rules?: TrafficTargetRule[] };
  status?: SmiStatus;
}

export interface TrafficTargetV1alpha3 {
  apiVersion: 'access.smi-spec.io/v1alpha3';
  kind: 'TrafficTarget';
  metadata: ObjectMeta;
  spec: { destination: Subject; sources: Subject[]; rules: TrafficTargetRule[] };
  status?: SmiStatus;
}

export type TrafficTargetAnyVersion = TrafficTargetV1alpha1 | TrafficTargetV1alpha2 | TrafficTargetV1alpha3;
