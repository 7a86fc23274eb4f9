/**
 * fast-check generators of valid SMI objects, one per kind and version, covering the
 * spellings that make conversion hard: v1alpha1 quantities, headers as map or list, string
 * ports, optional lists that are absent or empty, status, and pre-existing annotations.
 */
import fc from 'fast-check';
import { HTTP_METHODS } from '../../src/api/index.ts';

const dnsName = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const REGEXES = ['/metrics', '/api/.*', '.*', '/v[12]/books/[0-9]+', '/(a|b)/c?', '[^/]+/x', 'application/json.*', '.*Firefox.*'];
const HEADER_NAMES = ['user-agent', 'cookie', 'x-canary', 'content-type', 'X-Tenant'];

function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined });
}

/** Drops keys whose value is undefined so that absence stays absence. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const status = fc.record({
  observedGeneration: fc.integer({ min: 1, max: 50 }),
  conditions: fc.array(fc.record({ type: fc.constantFrom('Accepted', 'Programmed'), status: fc.constantFrom('True', 'False'), reason: fc.constantFrom('Accepted', 'Pending'), message: fc.string() }), { maxLength: 2 }),
}, { requiredKeys: ['conditions'] });

function metadataArb(namespace: string | undefined) {
  return fc.record({
    name: dnsName,
    labels: optional(fc.dictionary(fc.constantFrom('app', 'team'), dnsName)),
    annotations: optional(fc.dictionary(fc.constantFrom('note', 'owner'), fc.string({ maxLength: 8 }))),
  }).map((m) => compact({ ...m, namespace }));
}

function object<T>(apiVersion: string, kind: string, body: fc.Arbitrary<T>, namespace = fc.constantFrom(undefined, 'default', 'shop')) {
  return namespace.chain((ns) => fc.record({ metadata: metadataArb(ns), body, status: optional(status) }).map(({ metadata, body: b, status: s }) => compact({ apiVersion, kind, metadata, ...(b as object), status: s })));
}

// TrafficSplit

const quantity = fc.oneof(
  fc.integer({ min: 0, max: 100000 }).map((n) => `${n}m`),
  fc.integer({ min: 0, max: 1000 }).map(String),
  fc.integer({ min: 0, max: 1000 }),
  fc.constantFrom('0.5', '1.5', '2k', '1e3', '0', '0m', '100'),
);

function backends<W>(weight: fc.Arbitrary<W>) {
  return fc.uniqueArray(fc.record({ service: dnsName, weight }), { minLength: 1, maxLength: 4, selector: (b) => b.service });
}

const routeRefs = fc.array(fc.record({ kind: fc.constant('HTTPRouteGroup'), name: dnsName, apiGroup: optional(fc.constant('specs.smi-spec.io')) }).map(compact), { maxLength: 2 });

export const trafficSplitArb: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  v1alpha1: object('split.smi-spec.io/v1alpha1', 'TrafficSplit', fc.record({ spec: fc.record({ service: dnsName, backends: backends(quantity) }) })),
  v1alpha2: object('split.smi-spec.io/v1alpha2', 'TrafficSplit', fc.record({ spec: fc.record({ service: dnsName, backends: backends(fc.integer({ min: 0, max: 1000 })) }) })),
  v1alpha3: object('split.smi-spec.io/v1alpha3', 'TrafficSplit', fc.record({ spec: fc.record({ service: dnsName, backends: backends(fc.integer({ min: 0, max: 1000 })), matches: optional(routeRefs) }).map(compact) })),
  v1alpha4: object('split.smi-spec.io/v1alpha4', 'TrafficSplit', fc.record({ spec: fc.record({ service: dnsName, backends: backends(fc.integer({ min: 0, max: 1000 })), matches: optional(routeRefs) }).map(compact) })),
};

// TrafficTarget

const subject = fc.record({ kind: fc.constant('ServiceAccount'), name: dnsName, namespace: optional(fc.constantFrom('default', 'shop', 'other')) }).map(compact);
const rule = fc.oneof(
  fc.record({ kind: fc.constant('HTTPRouteGroup'), name: dnsName, matches: optional(fc.array(dnsName, { maxLength: 3 })) }).map(compact),
  fc.record({ kind: fc.constantFrom('TCPRoute', 'UDPRoute'), name: dnsName }),
);
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }).map(String));

function destination(ns: string, withPort: boolean) {
  return fc.record({ kind: fc.constant('ServiceAccount'), name: dnsName, namespace: fc.constantFrom(undefined, ns), port: withPort ? optional(port) : fc.constant(undefined) }).map(compact);
}

function targetOf(version: string) {
  const apiVersion = `access.smi-spec.io/${version}`;
  return fc.constantFrom('default', 'shop').chain((ns) => {
    const withPort = version !== 'v1alpha3';
    const sources = version === 'v1alpha3' ? fc.array(subject, { minLength: 1, maxLength: 3 }) : optional(fc.array(subject, { maxLength: 3 }));
    const rules = version === 'v1alpha3' ? fc.array(rule, { minLength: 1, maxLength: 3 }) : optional(fc.array(rule, { maxLength: 3 }));
    const fields = fc.record({ destination: destination(ns, withPort), sources, rules }).map(compact);
    const body: fc.Arbitrary<object> = version === 'v1alpha1'
      ? fields.map(({ rules: r, ...rest }) => compact({ ...rest, specs: r }))
      : fields.map((spec) => ({ spec }));
    return object(apiVersion, 'TrafficTarget', body, fc.constant(ns));
  });
}

export const trafficTargetArb: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  v1alpha1: targetOf('v1alpha1'),
  v1alpha2: targetOf('v1alpha2'),
  v1alpha3: targetOf('v1alpha3'),
};

// HTTPRouteGroup, TCPRoute, UDPRoute

const headersMap = fc.uniqueArray(fc.constantFrom(...HEADER_NAMES), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((n) => fc.constantFrom(...REGEXES).map((v) => [n, v] as const))))
  .map((pairs) => Object.fromEntries(pairs));
const headersList = fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.constantFrom(...REGEXES)).map(([n, v]) => ({ [n]: v })), { minLength: 1, maxLength: 3 });

function httpMatches(withHeaders: boolean) {
  return fc.uniqueArray(fc.record({
    name: dnsName,
    pathRegex: optional(fc.constantFrom(...REGEXES)),
    methods: optional(fc.subarray([...HTTP_METHODS], { minLength: 1 })),
    headers: withHeaders ? optional(fc.oneof(headersMap, headersList)) : fc.constant(undefined),
  }).map(compact), { maxLength: 4, selector: (m) => m.name });
}

const portMatch = fc.record({ name: optional(dnsName), ports: optional(fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 4 })) }).map(compact);

export const httpRouteGroupArb: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  v1alpha1: object('specs.smi-spec.io/v1alpha1', 'HTTPRouteGroup', fc.record({ matches: optional(httpMatches(false)) }).map(compact)),
  v1alpha2: object('specs.smi-spec.io/v1alpha2', 'HTTPRouteGroup', fc.record({ matches: optional(httpMatches(true)) }).map(compact)),
  v1alpha3: object('specs.smi-spec.io/v1alpha3', 'HTTPRouteGroup', fc.record({ spec: fc.record({ matches: optional(httpMatches(true)) }).map(compact) })),
  v1alpha4: object('specs.smi-spec.io/v1alpha4', 'HTTPRouteGroup', fc.record({ spec: fc.record({ matches: optional(httpMatches(true)) }).map(compact) })),
};

export const tcpRouteArb: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  v1alpha1: object('specs.smi-spec.io/v1alpha1', 'TCPRoute', fc.constant({})),
  v1alpha2: object('specs.smi-spec.io/v1alpha2', 'TCPRoute', fc.constant({})),
  v1alpha3: object('specs.smi-spec.io/v1alpha3', 'TCPRoute', fc.constantFrom({}, { spec: {} })),
  v1alpha4: object('specs.smi-spec.io/v1alpha4', 'TCPRoute', fc.record({ spec: fc.record({ matches: optional(portMatch) }).map(compact) })),
};

export const udpRouteArb: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  v1alpha4: object('specs.smi-spec.io/v1alpha4', 'UDPRoute', fc.record({ spec: fc.record({ matches: optional(portMatch) }).map(compact) })),
};

export const ARBITRARIES = {
  TrafficSplit: trafficSplitArb,
  TrafficTarget: trafficTargetArb,
  HTTPRouteGroup: httpRouteGroupArb,
  TCPRoute: tcpRouteArb,
  UDPRoute: udpRouteArb,
} as const;
