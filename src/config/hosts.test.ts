import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { HostTable, parseAuthority } from './hosts.ts';
import { DEFAULT_ROUTE_POLICY } from './defaults.ts';
import type { OutboundService } from './types.ts';

const route = { name: 'default', backends: [], policy: DEFAULT_ROUTE_POLICY };
const services: OutboundService[] = [
  { namespace: 'shop', name: 'web', clusterIP: '10.0.0.7', ports: [{ port: 80, protocol: 'http', routes: [route] }, { port: 9090, protocol: 'http', routes: [route] }] },
  { namespace: 'ops', name: 'web', ports: [{ port: 8080, protocol: 'http', routes: [route] }] },
];

test('host text is normalised: case, trailing dot, port, IPv6', () => {
  deepStrictEqual(parseAuthority('App-SVC.ns.svc.cluster.local.:9091'), { name: 'app-svc.ns.svc.cluster.local', port: 9091 });
  deepStrictEqual(parseAuthority('web'), { name: 'web' });
  deepStrictEqual(parseAuthority('[::1]:8080'), { name: '::1', port: 8080 });
  deepStrictEqual(parseAuthority('web.shop.'), { name: 'web.shop' });
});

test('every name a pod can use resolves, short names only in the own namespace', () => {
  const table = new HostTable(services, 'shop', 'cluster.local');
  for (const host of ['web', 'web.shop', 'web.shop.svc', 'web.shop.svc.cluster.local', 'WEB.shop.svc.cluster.local.', 'web.shop.svc.cluster.local.:80', '10.0.0.7:80']) {
    equal(table.lookup(host)?.service.namespace, 'shop', host);
  }
  equal(table.lookup('web.shop:9090')?.port.port, 9090);
  equal(table.lookup('web.ops')?.port.port, 8080, 'a single-port service takes any port-less host');
  equal(table.lookup('web.ops:81'), undefined, 'an explicit wrong port does not match');
  equal(table.lookup('web.shop:81'), undefined);
  equal(new HostTable(services, 'ops', 'cluster.local').lookup('web')?.service.namespace, 'ops');
  equal(table.lookup('example.com'), undefined, 'never an open proxy');
});

test('malformed authorities are refused, never read as the name before the junk', () => {
  for (const bad of ['bookstore.bookstore:80@evil', 'a b', 'web:', 'web:0', 'web:65536', 'web:8o', 'user@web', '[::1', '[::1]x', 'web:80:90', '', '.', 'a..b', 'web/x', 'web%2e', '[zz]']) {
    equal(parseAuthority(bad), undefined, bad);
  }
  const table = new HostTable(services, 'shop', 'cluster.local');
  equal(table.lookup('web.shop:80@evil'), undefined);
});
