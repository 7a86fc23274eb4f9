/**
 * The sidecar's on-demand resolver against a scripted control plane: one question per host
 * however many requests wait for it, hosts of one turn in one request, 'found' only once the
 * config holding the Service is applied, unknown hosts remembered for a while, and every
 * question bounded in time.
 */
import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { HostTable, type OutboundService, type SubscribeAnswer } from '../config/index.ts';
import { NEGATIVE_TTL_MS, OnDemandResolver, RESOLVE_TIMEOUT_MS, type Resolution } from './on-demand.ts';
import type { ProxyState } from './state.ts';

const service = (namespace: string, name: string): OutboundService => ({ namespace, name, ports: [] });

/** A stand-in for the applied state: only what the resolver reads (the hash and the host table). */
function stateOf(hash: string, services: OutboundService[]): ProxyState {
  return { config: { hash }, hosts: new HostTable(services, 'shop', 'cluster.local') } as unknown as ProxyState;
}

function harness(answer: (hosts: string[]) => SubscribeAnswer | Promise<SubscribeAnswer>) {
  const asked: string[][] = [];
  const observed: Resolution[] = [];
  let clock = 0;
  const h = {
    state: stateOf('a'.repeat(64), []),
    asked, observed,
    advance: (ms: number) => { clock += ms; },
    resolver: undefined as unknown as OnDemandResolver,
  };
  h.resolver = new OnDemandResolver({
    subscribe: async (hosts) => {
      asked.push([...hosts]);
      return answer(hosts);
    },
    state: () => h.state,
    observe: (result) => observed.push(result),
    now: () => clock,
  });
  return h;
}

test('concurrent requests for one host share one question; hosts of one turn share one request', async () => {
  const next = 'b'.repeat(64);
  const h = harness((hosts) => ({ hash: next, hosts: hosts.map((n) => (n === 'nowhere' ? null : `shop/${n}`)) }));
  const pending = [h.resolver.resolve('web'), h.resolver.resolve('web'), h.resolver.resolve('db'), h.resolver.resolve('nowhere')];
  // The config holding both arrives on the stream a moment after the answer.
  setTimeout(() => {
    h.state = stateOf(next, [service('shop', 'web'), service('shop', 'db')]);
    h.resolver.stateChanged();
  }, 20);
  deepStrictEqual(await Promise.all(pending), ['found', 'found', 'found', 'unknown']);
  deepStrictEqual(h.asked, [['web', 'db', 'nowhere']]);
  deepStrictEqual(h.observed.toSorted(), ['found', 'found', 'unknown']);
});

test('an unknown host is remembered for a while, then asked again', async () => {
  const h = harness((hosts) => ({ hash: 'c'.repeat(64), hosts: hosts.map(() => null) }));
  equal(await h.resolver.resolve('example.com'), 'unknown');
  equal(await h.resolver.resolve('example.com'), 'unknown');
  equal(h.asked.length, 1);
  h.advance(NEGATIVE_TTL_MS + 1);
  equal(await h.resolver.resolve('example.com'), 'unknown');
  equal(h.asked.length, 2);
});

test('a control plane that is away or refuses fails the question at once, and it is asked again next time', async () => {
  let up = false;
  const h = harness(() => {
    if (!up) throw new Error('no config stream to the control plane');
    return { hash: 'd'.repeat(64), hosts: ['shop/web'] };
  });
  equal(await h.resolver.resolve('web'), 'failed');
  up = true;
  h.state = stateOf('d'.repeat(64), [service('shop', 'web')]);
  equal(await h.resolver.resolve('web'), 'found');
  equal(h.asked.length, 2);
});

test('a question whose config never arrives (or is refused) fails after the bound', async () => {
  const h = harness((hosts) => ({ hash: 'e'.repeat(64), hosts: hosts.map((n) => `shop/${n}`) }));
  const started = performance.now();
  equal(await h.resolver.resolve('web'), 'failed');
  const took = performance.now() - started;
  equal(took >= RESOLVE_TIMEOUT_MS - 50 && took < RESOLVE_TIMEOUT_MS + 1000, true, `${took} ms`);
});

test('an answer for other hosts than asked is not believed', async () => {
  const h = harness(() => ({ hash: 'f'.repeat(64), hosts: ['shop/web', 'shop/db'] }));
  equal(await h.resolver.resolve('web'), 'failed');
});

test('a subscribed Service not called for the idle time is dropped; one in use stays', async () => {
  const subscribed = new Set(['shop/web', 'shop/db', 'shop/old']);
  const dropped: string[][] = [];
  let clock = 0;
  const resolver = new OnDemandResolver({
    subscribe: async () => ({ hash: 'a'.repeat(64), hosts: [] }), state: () => undefined, now: () => clock,
    subscriptions: () => subscribed, idleMs: 1000,
    unsubscribe: async (keys) => {
      dropped.push(keys);
      for (const k of keys) subscribed.delete(k);
    },
  });
  try {
    deepStrictEqual(await resolver.sweep(), [], 'the first look starts every clock');
    clock = 600;
    resolver.touch('shop/web');
    resolver.touch('shop/db');
    clock = 1200;
    resolver.touch('shop/web');
    deepStrictEqual(await resolver.sweep(), ['shop/old']);
    clock = 1700;
    deepStrictEqual(await resolver.sweep(), ['shop/db']);
    deepStrictEqual([...subscribed], ['shop/web']);
    deepStrictEqual(dropped, [['shop/old'], ['shop/db']]);
  } finally {
    resolver.stop();
  }
});
