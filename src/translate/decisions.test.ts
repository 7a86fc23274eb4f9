/**
 * The decisions proxies will take, for the scenarios that matter most: the SMI conformance
 * suite's three scenarios (shared/reference/smi-spec.md §6), Flagger's canary, A/B matches
 * and the spec's L7/L4 access examples. Configs come from the golden inputs.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compileInbound, compileRoutes, type ProxyConfig, type RequestFacts } from '../config/index.ts';
import { buildTopology, spiffeId, type Snapshot } from '../model/index.ts';
import { translateAll } from './index.ts';
import { GOLDEN_DIR as DIR, loadCase } from '../../test/support/golden.ts';

function req(method: string, path: string, headers: Record<string, string> = {}): RequestFacts {
  return { method, path, header: (name) => headers[name] };
}

function configs(snapshot: Snapshot): Map<string, ProxyConfig> {
  return translateAll(buildTopology(snapshot));
}

function caseConfigs(name: string, edit?: (s: Snapshot) => Snapshot): Map<string, ProxyConfig> {
  const snapshot = loadCase(join(DIR, `${name}.in.yaml`));
  return configs(edit ? edit(snapshot) : snapshot);
}

function withoutSmi(s: Snapshot): Snapshot {
  return { ...s, smi: [] };
}

function inbound(all: Map<string, ProxyConfig>, proxy: string) {
  const config = all.get(proxy);
  ok(config, `no config for ${proxy}`);
  return compileInbound(config.inbound);
}

function routeFor(all: Map<string, ProxyConfig>, from: string, service: string, port: number, request: RequestFacts) {
  const config = all.get(from);
  ok(config);
  const [ns, name] = service.split('/');
  const svc = config.outbound.services.find((s) => s.namespace === ns && s.name === name);
  const p = svc?.ports.find((x) => x.port === port);
  ok(p, `${service}:${port} is not an outbound service of ${from}`);
  return compileRoutes(p)(request);
}

const id = (ns: string, sa: string) => spiffeId('cluster.local', ns, sa);

describe('conformance: traffic-access', () => {
  const name = 'conformance-traffic-access-tcproute-allows-a-to-b';
  test('step 03: with no TrafficTarget, a → b is denied (deny by default, HTTP 403)', () => {
    const decide = inbound(caseConfigs(name, withoutSmi), 'conformance/app-b-0');
    equal(decide(id('conformance', 'service-a'), 9091, 'http', req('GET', '/echo')).allowed, false);
  });
  test('step 05: a TCPRoute with no ports lets service-a, and only service-a, reach b', () => {
    const decide = inbound(caseConfigs(name), 'conformance/app-b-0');
    ok(decide(id('conformance', 'service-a'), 9091, 'http', req('GET', '/echo')).allowed);
    ok(decide(id('conformance', 'service-a'), 9091, 'http', req('POST', '/call')).allowed);
    equal(decide(id('conformance', 'service-c'), 9091, 'http', req('GET', '/echo')).allowed, false);
    equal(decide(undefined, 9091, 'http', req('GET', '/echo')).allowed, false, 'plaintext callers are refused in strict mode');
  });
  test('step 07: after deleting the objects, a → b is denied again', () => {
    const decide = inbound(caseConfigs(name, withoutSmi), 'conformance/app-b-0');
    equal(decide(id('conformance', 'service-a'), 9091, 'http', req('GET', '/echo')).allowed, false);
  });
});

describe('conformance: traffic-split', () => {
  const name = 'conformance-traffic-split-weights-1-0';
  const backendsOf = (all: Map<string, ProxyConfig>) => routeFor(all, 'conformance/app-a-0', 'conformance/app-svc', 9091, req('GET', '/echo'))?.backends;
  test('step 03: without a split, app-svc reaches both b and c pods', () => {
    const all = caseConfigs(name, withoutSmi);
    deepStrictEqual(backendsOf(all), [{ cluster: 'conformance/app-svc:9091', weight: 1 }]);
    const cluster = all.get('conformance/app-a-0')?.outbound.clusters.find((c) => c.name === 'conformance/app-svc:9091');
    deepStrictEqual(cluster?.endpoints.map((e) => e.pod), ['conformance/app-b-0', 'conformance/app-c-0']);
  });
  for (const [b, c] of [[1, 0], [0, 1], [75, 25], [25, 75]] as const) {
    test(`weights ${b}/${c}: every request to app-svc is split per request between app-b and app-c by weight`, () => {
      const snapshot = loadCase(join(DIR, `${name}.in.yaml`));
      const split = snapshot.smi[0]?.hub;
      ok(split && split.kind === 'TrafficSplit');
      split.spec.backends = [{ service: 'app-b', weight: b }, { service: 'app-c', weight: c }];
      deepStrictEqual(backendsOf(configs(snapshot)), [{ cluster: 'conformance/app-b:9091', weight: b }, { cluster: 'conformance/app-c:9091', weight: c }]);
    });
  }
});

describe('conformance: traffic-spec', () => {
  const name = 'conformance-traffic-spec-metrics-path-only';
  test('step 04: GET /metrics is allowed, GET /echo is denied', () => {
    const decide = inbound(caseConfigs(name), 'conformance/app-b-0');
    ok(decide(id('conformance', 'service-a'), 9091, 'http', req('GET', '/metrics')).allowed);
    const denied = decide(id('conformance', 'service-a'), 9091, 'http', req('GET', '/echo'));
    equal(denied.allowed, false);
    ok(/no TrafficTarget allows/.test(denied.reason));
  });
  test('step 06: with pathRegex ".*" and methods [GET], GET /echo is allowed and POST /echo denied', () => {
    const all = caseConfigs(name, (s) => {
      const group = s.smi.find((p) => p.kind === 'HTTPRouteGroup')?.hub;
      ok(group && group.kind === 'HTTPRouteGroup');
      group.spec.matches = [{ name: 'testMatch', pathRegex: '.*', methods: ['GET'] }];
      return s;
    });
    const decide = inbound(all, 'conformance/app-b-0');
    ok(decide(id('conformance', 'service-a'), 9091, 'http', req('GET', '/echo')).allowed);
    equal(decide(id('conformance', 'service-a'), 9091, 'http', req('POST', '/echo')).allowed, false);
  });
});

describe('Flagger canary', () => {
  for (const [name, canary, primary] of [['flagger-v1alpha2-initialized-all-to-primary', 0, 100], ['flagger-v1alpha1-step-10-percent-canary', 10, 90], ['flagger-v1alpha3-step-50-percent-canary', 50, 50], ['flagger-v1alpha2-promotion-all-to-canary', 100, 0]] as const) {
    test(`${name}: the apex podinfo.test goes ${canary}% to podinfo-canary and ${primary}% to podinfo-primary`, () => {
      const all = caseConfigs(name);
      const route = routeFor(all, 'test/loadtester-0', 'test/podinfo', 9898, req('GET', '/'));
      deepStrictEqual(route?.backends, [{ cluster: 'test/podinfo-canary:9898', weight: canary }, { cluster: 'test/podinfo-primary:9898', weight: primary }]);
      const clusters = all.get('test/loadtester-0')?.outbound.clusters ?? [];
      deepStrictEqual(clusters.find((c) => c.name === 'test/podinfo-canary:9898')?.endpoints.map((e) => e.pod), ['test/podinfo-0']);
      deepStrictEqual(clusters.find((c) => c.name === 'test/podinfo-primary:9898')?.endpoints.map((e) => e.pod), ['test/podinfo-primary-0', 'test/podinfo-primary-1']);
    });
  }
});

describe('A/B matches and access examples', () => {
  test('v1alpha3 header match: Firefox users are split, everyone else goes to the root service', () => {
    const all = caseConfigs('split-v1alpha3-header-matches-split-others-go-to-root');
    const firefox = routeFor(all, 'shop/client-0', 'shop/web', 80, req('GET', '/', { 'user-agent': 'Mozilla/5.0 (X11; Linux) Gecko/20100101 Firefox/128.0' }));
    equal(firefox?.split, 'shop/web');
    const chrome = routeFor(all, 'shop/client-0', 'shop/web', 80, req('GET', '/', { 'user-agent': 'Chrome/130' }));
    deepStrictEqual(chrome?.backends, [{ cluster: 'shop/web:80', weight: 1 }]);
  });
  test('the spec\'s L7 example: GET /metrics on the TCPRoute\'s port only', () => {
    const decide = inbound(caseConfigs('target-l7-example-http-routes-scoped-to-tcproute-ports'), 'shop/api-0');
    const prom = id('shop', 'prometheus');
    ok(decide(prom, 9090, 'http', req('GET', '/metrics')).allowed);
    equal(decide(prom, 9090, 'http', req('GET', '/admin')).allowed, false);
    equal(decide(prom, 8080, 'http', req('GET', '/metrics')).allowed, false);
  });
  test('the spec\'s L4 example: TCP on 8300-8302 from the client identity', () => {
    const decide = inbound(caseConfigs('target-l4-example-tcp-and-udp-ports'), 'shop/consul-0');
    for (const port of [8300, 8301, 8302]) ok(decide(id('shop', 'client'), port, 'tcp').allowed);
    equal(decide(id('shop', 'server'), 8300, 'tcp').allowed, false);
  });
  test('a v1alpha1 destination port limits the target to that port', () => {
    const decide = inbound(caseConfigs('target-v1alpha1-destination-port-limits-every-rule'), 'shop/api-0');
    ok(decide(id('shop', 'client'), 8080, 'http', req('DELETE', '/x')).allowed);
    equal(decide(id('shop', 'client'), 9090, 'http', req('GET', '/metrics')).allowed, false);
  });
  test('a broken route group reference never widens access', () => {
    const decide = inbound(caseConfigs('target-missing-route-group-allows-nothing'), 'shop/api-0');
    equal(decide(id('shop', 'client'), 8080, 'http', req('GET', '/')).allowed, false);
  });
  test('permissive namespaces let anyone in, even without a certificate', () => {
    const decide = inbound(caseConfigs('namespace-permissive-allows-all-callers'), 'shop/api-0');
    ok(decide(undefined, 8080, 'http', req('GET', '/')).allowed);
  });
});
