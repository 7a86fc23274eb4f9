/** HTTPRouteGroup, TCPRoute and UDPRoute schemas, one per served version. */
import { anyValue, array, integer, object, root, string, type StructuralSchema } from './builders.ts';

export const HTTP_METHODS = ['*', 'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

function httpMatch(withHeaders: boolean): StructuralSchema {
  return object('A named request match: path, methods and headers must all match.', {
    name: string('Name of the match; TrafficTarget rules refer to it.', { minLength: 1 }),
    pathRegex: string('RE2 regular expression matched against the whole request path.'),
    methods: array('HTTP methods; "*" matches any.', string('An HTTP method.', { enum: [...HTTP_METHODS] })),
    ...(withHeaders ? { headers: anyValue('Header name to RE2 regular expression for its value; a map or a list of single-key maps.') } : {}),
  }, ['name']);
}

const groupDescription = 'HTTPRouteGroup names sets of HTTP requests that TrafficTargets and TrafficSplits refer to.';
const httpMatches = (withHeaders: boolean) => array('The matches of this group.', httpMatch(withHeaders));

const portMatch = object('The ports this route covers.', {
  name: string('Name of the match.'),
  ports: array('Ports; empty means every port of the destination.', integer('A port.', { minimum: 1, maximum: 65535 })),
});

const noFields = (description: string) => root(description, {});

export const httpRouteGroupSchemas: Record<string, StructuralSchema> = {
  v1alpha1: root(groupDescription, { matches: httpMatches(false) }),
  v1alpha2: root(groupDescription, { matches: httpMatches(true) }),
  v1alpha3: root(groupDescription, { spec: object('The route group.', { matches: httpMatches(true) }) }, ['spec']),
  v1alpha4: root(groupDescription, { spec: object('The route group.', { matches: httpMatches(true) }) }, ['spec']),
};

const tcpDescription = 'TCPRoute names TCP traffic, optionally on given ports, for TrafficTarget rules.';

export const tcpRouteSchemas: Record<string, StructuralSchema> = {
  v1alpha1: noFields(tcpDescription),
  v1alpha2: noFields(tcpDescription),
  v1alpha3: root(tcpDescription, { spec: object('Empty in this version.', {}) }),
  v1alpha4: root(tcpDescription, { spec: object('The route.', { matches: portMatch }) }, ['spec']),
};

export const udpRouteSchemas: Record<string, StructuralSchema> = {
  v1alpha4: root('UDPRoute names UDP traffic, optionally on given ports, for TrafficTarget rules.', {
    spec: object('The route.', { matches: portMatch }),
  }, ['spec']),
};
