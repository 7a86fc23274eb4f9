/** TrafficTarget schemas, one per served version. */
import { array, intOrString, object, root, string, type StructuralSchema } from './builders.ts';

const subject = (description: string, withPort: boolean) => object(description, {
  kind: string('ServiceAccount.', { enum: ['ServiceAccount'] }),
  name: string('Name of the ServiceAccount.', { minLength: 1 }),
  namespace: string('Namespace of the ServiceAccount; defaults to the TrafficTarget\'s.'),
  ...(withPort ? { port: intOrString('Destination port this target allows; absent means every port.') } : {}),
}, ['kind', 'name']);

const rule = object('Routes the sources may use.', {
  kind: string('Kind of the route object.', { enum: ['HTTPRouteGroup', 'TCPRoute', 'UDPRoute'] }),
  name: string('Name of the route object, in the TrafficTarget\'s namespace.', { minLength: 1 }),
  matches: array('Names of matches in the route group; absent or empty allows every match.', string('A match name.')),
}, ['kind', 'name']);

const sources = array('Identities allowed to call the destination.', subject('A source identity.', false));
const rules = array('Routes the sources may use.', rule);

const v1alpha3Spec = object('Who may call whom, on which routes.', {
  destination: subject('The identity receiving traffic.', false),
  sources: { ...sources, minItems: 1 },
  rules: { ...rules, minItems: 1 },
}, ['destination', 'sources', 'rules']);

const v1alpha2Spec = object('Who may call whom, on which routes.', {
  destination: subject('The identity receiving traffic.', true),
  sources,
  rules,
}, ['destination']);

const description = 'TrafficTarget allows source identities to call a destination identity on the listed routes.';

export const trafficTargetSchemas: Record<string, StructuralSchema> = {
  v1alpha1: root(description, {
    destination: subject('The identity receiving traffic.', true),
    sources,
    specs: array('Routes the sources may use.', rule),
  }, ['destination']),
  v1alpha2: root(description, { spec: v1alpha2Spec }, ['spec']),
  v1alpha3: root(description, { spec: v1alpha3Spec }, ['spec']),
};
