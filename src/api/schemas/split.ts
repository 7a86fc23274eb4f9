/** TrafficSplit schemas, one per served version. */
import { array, integer, intOrString, object, root, string, type StructuralSchema } from './builders.ts';

const MAX_WEIGHT = 2147483647;

const service = (d: string) => string(d, { minLength: 1 });

const routeRef = object('A route group whose matches select the requests that are split.', {
  apiGroup: string('API group of the referent; specs.smi-spec.io.'),
  kind: string('Kind of the referent.', { enum: ['HTTPRouteGroup'] }),
  name: service('Name of the referent, in the split\'s namespace.'),
}, ['kind', 'name']);

function splitSchema(weight: StructuralSchema, withMatches: boolean): StructuralSchema {
  const backend = object('A Service that receives a share of the traffic.', {
    service: service('Name of the backend Service, in the split\'s namespace.'),
    weight,
  }, ['service', 'weight']);
  return root('TrafficSplit shifts traffic sent to a root Service between backend Services by weight.', {
    spec: object('What to split and how.', {
      service: service('The root (apex) Service clients call.'),
      backends: array('The backends and their relative weights.', backend, { minItems: 1 }),
      ...(withMatches ? { matches: array('Route groups selecting the requests to split; others go to the root Service.', routeRef) } : {}),
    }, ['service', 'backends']),
  }, ['spec']);
}

const intWeight = integer('Relative weight; 0 sends no traffic.', { minimum: 0, maximum: MAX_WEIGHT });

export const trafficSplitSchemas: Record<string, StructuralSchema> = {
  v1alpha1: splitSchema(intOrString('Relative weight as a Kubernetes quantity ("1", "500m"); 0 sends no traffic.'), false),
  v1alpha2: splitSchema(intWeight, false),
  v1alpha3: splitSchema(intWeight, true),
  v1alpha4: splitSchema(intWeight, true),
};
