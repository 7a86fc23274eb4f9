/** The outbound stages, one at a time, on a config from the real pipeline, with randomness injected. */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyConfig, RequestFacts } from '../config/index.ts';
import { buildTopology } from '../model/index.ts';
import { parseYamlText } from '../sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { translateAll } from '../translate/index.ts';
import { meshYaml } from '../../test/support/mesh.ts';
import { admit, choose, isRefusal, resolve, type Choice, type Resolved } from './outbound-stages.ts';
import { compileState } from './state.ts';
import { Upstreams } from './upstream.ts';

const services = ['web', 'web-v1', 'web-v2'].map((name) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n    app: ${name === 'web' ? 'web' : name}\n  ports:\n  - port: 80\n    targetPort: 8080\n`).join('---\n');
const split = 'apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  service: web\n  backends:\n  - service: web-v1\n    weight: 75\n  - service: web-v2\n    weight: 25\n';
const policy = 'apiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: chaos\n  namespace: shop\nspec:\n  targetRefs:\n  - kind: Service\n    name: web\n  faultInjection:\n    abort: {status: 418, percent: 10}\n    delay: {duration: 250ms, percent: 50}\n';

function configOf(extra = ''): ProxyConfig {
  const yaml = meshYaml('shop', 'permissive', [{ name: 'web-v1', labels: { app: 'web-v1' }, ports: [8080] }, { name: 'web-v2', labels: { app: 'web-v2' }, ports: [8080] }, { name: 'client' }], [services, split, extra].filter(Boolean).join('---\n'));
  const { documents } = parseYamlText('t.yaml', yaml);
  return translateAll(buildTopology(snapshotFromDocuments(documents.map((d) => d.value)))).get('shop/client-0') as ProxyConfig;
}
const state = (extra = '') => compileState(configOf(extra), new Upstreams(() => undefined));
const facts: RequestFacts = { method: 'GET', path: '/', header: () => undefined };
const fixed = (value: number) => () => value;

test('resolve: hostile or unknown hosts and bad paths are refusals with reasons; a mesh name resolves', () => {
  const s = state();
  deepStrictEqual(resolve(s, undefined, '/'), { refuse: 'bad-request', detail: 'the request names no host' });
  equal((resolve(s, 'web.shop:80@evil', '/') as { refuse: string }).refuse, 'bad-request');
  equal((resolve(s, 'example.com', '/') as { refuse: string }).refuse, 'unknown-host');
  equal((resolve(s, 'web.shop', '/a%2fb') as { refuse: string }).refuse, 'bad-request');
  const ok1 = resolve(s, 'WEB.shop.svc.cluster.local.:80', '/x/../y?q=1');
  ok(!isRefusal(ok1));
  deepStrictEqual([ok1.target.service.name, ok1.path, ok1.forwardPath], ['web', '/y', '/y?q=1']);
});

test('resolve: an authority resolved before is found again by its text; unknown and malformed ones are not kept; the memo is bounded', () => {
  const s = state();
  const first = resolve(s, 'Web.Shop:80', '/a') as Resolved;
  ok(!isRefusal(first));
  equal(s.hosts.found('Web.Shop:80'), first.target);
  const again = resolve(s, 'Web.Shop:80', '/b') as Resolved;
  equal(again.target, first.target);
  equal(again.path, '/b');
  // A port the Service does not have, a host outside the mesh, junk: refused each time, never kept.
  for (const text of ['web.shop:81', 'example.com', 'web.shop:80@evil']) {
    ok(isRefusal(resolve(s, text, '/')), text);
    ok(isRefusal(resolve(s, text, '/')), `${text}, asked again`);
    equal(s.hosts.found(text), undefined, text);
  }
  // Many spellings of one name (a client varying the case) fill the memo; it starts over, bounded.
  const letters = [...'webshop'];
  const spellings = Array.from({ length: 300 }, (_, i) => {
    const cased = letters.map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c));
    return `${cased.slice(0, 3).join('')}.${cased.slice(3).join('')}${(i >> 8) & 1 ? '.' : ''}${(i >> 7) & 1 ? ':80' : ''}`;
  });
  equal(new Set(spellings).size, 300);
  for (const text of spellings) equal((resolve(s, text, '/') as Resolved).target.service.name, 'web', text);
  ok(s.hosts.found(spellings[0] as string) === undefined, 'the first spellings were dropped when the memo started over');
  equal(s.hosts.found(spellings.at(-1) as string)?.service.name, 'web');
});

test('choose: the split\'s weights decide per request, by the random number given', () => {
  const s = state();
  const resolved = resolve(s, 'web.shop', '/') as Resolved;
  const pick = (r: number) => (choose(s, resolved, facts, fixed(r)) as Choice).cluster.config.name;
  equal(pick(0), 'shop/web-v1:80');
  equal(pick(0.7499), 'shop/web-v1:80');
  equal(pick(0.75), 'shop/web-v2:80');
  equal(pick(0.9999), 'shop/web-v2:80');
});

test('choose: a backend without endpoints takes no share while another has some; with none anywhere the weights stand', () => {
  const config = configOf();
  const without = (names: string[]): ProxyConfig => ({ ...config, outbound: { ...config.outbound, clusters: config.outbound.clusters.map((c) => (names.includes(c.name) ? { ...c, endpoints: [] } : c)) } });
  const pickIn = (c: ProxyConfig) => {
    const s = compileState(c, new Upstreams(() => undefined));
    const resolved = resolve(s, 'web.shop', '/') as Resolved;
    return [0, 0.5, 0.7499, 0.75, 0.9999].map((r) => (choose(s, resolved, facts, fixed(r)) as Choice).cluster.config.name);
  };
  deepStrictEqual(pickIn(without(['shop/web-v2:80'])), Array(5).fill('shop/web-v1:80'), 'web-v2 has no pod ready: web-v1 takes its share');
  deepStrictEqual(pickIn(without(['shop/web-v1:80'])), Array(5).fill('shop/web-v2:80'));
  deepStrictEqual(pickIn(without(['shop/web-v1:80', 'shop/web-v2:80'])), ['shop/web-v1:80', 'shop/web-v1:80', 'shop/web-v1:80', 'shop/web-v2:80', 'shop/web-v2:80'], 'neither has endpoints: the weights as written (then 503 no-healthy-upstream)');
});

test('admit: the policy\'s abort and delay apply to their share; the circuit breaker refuses at its limit', () => {
  const s = state(policy);
  const choice = choose(s, resolve(s, 'web.shop', '/') as Resolved, facts, fixed(0)) as Choice;
  deepStrictEqual(admit(choice, fixed(0.05)), { refuse: 'fault-injected', detail: 'fault injection aborted this request', status: 418 });
  deepStrictEqual(admit(choice, fixed(0.3)), { delayMs: 250 }, '0.3: not aborted (10%), delayed (50%)');
  deepStrictEqual(admit(choice, fixed(0.6)), { delayMs: 0 });
  choice.cluster.counters.active = choice.cluster.config.policy.circuitBreaker.maxRequests;
  equal((admit(choice, fixed(0.99)) as { refuse: string }).refuse, 'circuit-open');
  choice.cluster.counters.active = 0;
});
