/**
 * On-demand outbound in the control plane: a proxy that resolves on demand is configured for
 * what it subscribed to (and the split backends those send to); a host is answered by the
 * Service it names for that proxy, as its DNS would; a weight change is pushed only to the
 * proxies subscribed to the split's root; the subscription limit holds.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseYamlText } from '../sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { checkProxyConfig, proxyConfigHash } from '../config/index.ts';
import { GOLDEN_DIR } from '../../test/support/golden.ts';
import { MAX_SUBSCRIPTIONS, MeshController } from './controller.ts';

const CASE = join(GOLDEN_DIR, 'outbound-scope-limits-each-proxy-to-the-services-it-names.in.yaml');
const TEXT = readFileSync(CASE, 'utf8');
const snapshot = (text: string) => snapshotFromDocuments(parseYamlText(CASE, text).documents.map((d) => d.value));

function controllerWith(text = TEXT): MeshController {
  const controller = new MeshController();
  controller.update(snapshot(text));
  controller.rebuild();
  return controller;
}

const names = (c: MeshController, id: string) => c.proxies.get(id)?.config.outbound.services.map((s) => `${s.namespace}/${s.name}`);

test('a proxy resolving on demand starts with no Service, and holds what it asked for plus the split backends', () => {
  const c = controllerWith();
  // other/cache-0 has no (readable) scope: it resolves on demand, and has asked for nothing yet.
  deepStrictEqual(names(c, 'other/cache-0'), []);
  equal(c.proxies.get('other/cache-0')?.config.outbound.onDemand, true);
  const answer = c.demand('other/cache-0', { hosts: ['db', 'web.shop.svc.cluster.local', 'nothing.other', 'example.com:443'] });
  deepStrictEqual(answer?.hosts, ['other/db', 'shop/web', null, null], 'a bare name is looked up in the proxy\'s own namespace');
  deepStrictEqual(names(c, 'other/cache-0'), ['other/db', 'other/db-v1', 'other/db-v2', 'shop/web']);
  equal(answer?.hash, c.proxies.get('other/cache-0')?.config.hash, 'the answer names the version the stream sends');
});

test('a Service dropped by the proxy leaves its config, and its changes no longer reach it', () => {
  const c = controllerWith();
  c.demand('other/cache-0', { hosts: ['db', 'web.shop'] });
  c.demand('other/cache-0', { drop: ['other/db'] });
  deepStrictEqual(names(c, 'other/cache-0'), ['shop/web']);
  const pushed: string[][] = [];
  c.on('changed', (ids) => pushed.push(ids));
  c.update(snapshot(TEXT.replace('{service: db-v1, weight: 80}', '{service: db-v1, weight: 50}')));
  c.rebuild();
  deepStrictEqual(pushed, [['shop/worker-0']]);
});

test('a scope wins over on demand: the pod is configured for what it names, whatever it asks', () => {
  const c = controllerWith();
  c.demand('shop/web-0', { hosts: ['db.other'] });
  deepStrictEqual(names(c, 'shop/web-0'), ['shop/web']);
  equal(c.proxies.get('shop/web-0')?.config.outbound.onDemand, undefined, 'outside its scope is unknown, not asked');
});

test('a scope of * configures every Service up front', () => {
  const c = controllerWith(TEXT.replace('skiff.dev/outbound-scope: ./*', 'skiff.dev/outbound-scope: "*"'));
  c.demand('shop/web-0', { tcp: false });
  equal(names(c, 'shop/web-0')?.length, 5);
});

test('a weight change is pushed to the proxies subscribed to the root, and to no other', () => {
  const c = controllerWith();
  for (const id of c.proxies.keys()) c.demand(id, { tcp: false });
  c.demand('other/cache-0', { hosts: ['db'] });
  c.demand('other/db-v1-0', { hosts: ['cache'] });
  const pushed: string[][] = [];
  c.on('changed', (ids) => pushed.push(ids));
  c.update(snapshot(TEXT.replace('{service: db-v1, weight: 80}', '{service: db-v1, weight: 50}')));
  c.rebuild();
  // other/cache-0 subscribed to the root; shop/worker-0's scope names it. The others never called it.
  deepStrictEqual(pushed, [['other/cache-0', 'shop/worker-0']]);
});

test('subscriptions are bounded per proxy', () => {
  const c = controllerWith();
  const many = Array.from({ length: MAX_SUBSCRIPTIONS + 1 }, (_, i) => `ns/s${i}`);
  equal(c.demand('other/cache-0', { services: many }), undefined);
  ok(c.demand('other/cache-0', { services: many.slice(0, MAX_SUBSCRIPTIONS) }), 'up to the limit is fine');
  equal(c.demand('other/cache-0', { services: ['ns/one-more'] }), undefined);
  equal(c.demand('no/such-pod', { hosts: ['db.other'] }), undefined);
});

test('another replica\'s ack carries the demand, so the status writer computes the same config', () => {
  const there = controllerWith();
  there.demand('other/cache-0', { hosts: ['db'], tcp: false });
  there.acknowledge('other/cache-0', { hash: there.proxies.get('other/cache-0')?.config.hash as string });
  const ack = there.acks()['other/cache-0'];
  const here = controllerWith();
  ok(ack?.demand);
  here.demand('other/cache-0', ack.demand);
  equal(here.proxies.get('other/cache-0')?.config.hash, ack.applied);
});

test('a proxy that acked here and now streams from another replica: the status writer asks there, and counts what it subscribed to there', () => {
  const here = controllerWith();
  // Every proxy acked here (the last config each had here), none streams from here now.
  for (const r of here.proxies.values()) {
    here.demand(r.id, { tcp: false });
    here.acknowledge(r.id, { hash: r.config.hash });
  }
  ok(here.needsPeerAcks(), 'acks of proxies streaming elsewhere are stale: the peers are asked');
  const there = controllerWith();
  there.demand('other/cache-0', { hosts: ['db'], tcp: false });
  const applied = there.proxies.get('other/cache-0')?.config.hash as string;
  there.acknowledge('other/cache-0', { hash: applied });
  const ack = there.acks()['other/cache-0'];
  ok(ack);
  const cache = here.progress(new Map([['other/cache-0', [ack]]])).find((p) => p.id === 'other/cache-0');
  deepStrictEqual(cache?.outbound.services.map((s) => `${s.namespace}/${s.name}`), ['other/db', 'other/db-v1', 'other/db-v2'], 'a caller of other/db: the split on it counts this proxy');
  equal(cache?.upToDate, true);
  here.acknowledge('other/cache-0', { hash: applied });
  for (const r of here.proxies.values()) r.connected = 1;
  equal(here.needsPeerAcks(), false, 'all stream from here and are up to date: nothing to ask');
});

test('a proxy streaming from another replica that has not acked there yet still counts as a caller, not yet applied', () => {
  const there = controllerWith();
  (there.proxies.get('other/cache-0') as { connected: number }).connected = 1;
  there.demand('other/cache-0', { hosts: ['db'], tcp: false });
  const ack = there.acks()['other/cache-0'];
  deepStrictEqual(ack, { applied: '', demand: { services: ['other/db'], tcp: false } });
  equal(there.acks()['shop/worker-0'], undefined, 'a proxy with neither an ack nor a stream here is not reported');
  const here = controllerWith();
  const cache = here.progress(new Map([['other/cache-0', [ack]]])).find((p) => p.id === 'other/cache-0');
  ok(cache?.outbound.services.some((s) => s.name === 'db'), 'a caller of other/db');
  equal(cache?.upToDate, false, 'not applied: the split is Pending, not Unknown');
});

test('a sidecar that predates UDP (its stream did not say udp=1) gets its config without UDP ports, UDP rules and datagram sources; one that says so gets them back', () => {
  const c = controllerWith(readFileSync(join(GOLDEN_DIR, 'target-l4-example-tcp-and-udp-ports.in.yaml'), 'utf8'));
  const id = 'shop/consul-0';
  const full = c.proxies.get(id)?.config;
  ok(full?.inbound.datagramSources && full.inbound.rules.some((r) => r.protocols.includes('udp')), 'the case has UDP rules and datagram sources');
  c.demand(id, { tcp: false, udp: false });
  const legacy = c.proxies.get(id)?.config;
  ok(legacy && legacy.hash !== full.hash);
  ok(!JSON.stringify(legacy.inbound).includes('udp') && legacy.inbound.datagramSources === undefined, JSON.stringify(legacy.inbound));
  deepStrictEqual(legacy.inbound.rules, full.inbound.rules.filter((r) => !r.protocols.includes('udp')), 'the rule that allowed only UDP goes; the TCP and HTTP rule stays');
  deepStrictEqual(legacy.inbound.ports, full.inbound.ports.filter((p) => p.protocol !== 'udp'));
  deepStrictEqual({ ...legacy, inbound: full.inbound, hash: full.hash }, full, 'nothing else differs');
  equal(legacy.hash, proxyConfigHash({ mesh: legacy.mesh, proxy: legacy.proxy, inbound: legacy.inbound, outbound: legacy.outbound }), 'its hash is its own');
  ok(checkProxyConfig(legacy).ok);
  c.demand(id, { udp: true });
  equal(c.proxies.get(id)?.config.hash, full.hash, 'a sidecar that takes UDP gets the whole config again');
  equal(c.proxies.get('shop/agent-0')?.config.inbound.rules.length, 0);
});
