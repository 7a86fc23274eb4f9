/** All SMI schemas by kind and version. */
import type { SmiKind } from '../meta.ts';
import type { StructuralSchema } from './builders.ts';
import { trafficSplitSchemas } from './split.ts';
import { trafficTargetSchemas } from './access.ts';
import { httpRouteGroupSchemas, tcpRouteSchemas, udpRouteSchemas } from './specs.ts';
import { trafficPolicySchemas } from './policy.ts';

export type { StructuralSchema } from './builders.ts';
export { HTTP_METHODS } from './specs.ts';

export const SCHEMAS: Readonly<Record<SmiKind, Readonly<Record<string, StructuralSchema>>>> = {
  TrafficSplit: trafficSplitSchemas,
  TrafficTarget: trafficTargetSchemas,
  HTTPRouteGroup: httpRouteGroupSchemas,
  TCPRoute: tcpRouteSchemas,
  UDPRoute: udpRouteSchemas,
  TrafficPolicy: trafficPolicySchemas,
};
