/** The resilience primitives and inbound rate limits, on an injected clock. */
import { equal } from 'node:assert/strict';
import { test } from 'node:test';
import type { InboundPort } from '../config/index.ts';
import { InboundRateLimits } from './rate-limits.ts';
import { OutlierState, RetryBudget, TokenBucket } from './resilience.ts';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

test('retry budget: a share of the last second\'s requests plus a floor, renewed each second', () => {
  const c = clock();
  const budget = new RetryBudget(20, 1, c.now);
  for (let i = 0; i < 10; i++) budget.recordRequest();
  let granted = 0;
  for (let i = 0; i < 10; i++) if (budget.tryRetry()) granted++;
  equal(granted, 3, '1 + 20% of 10');
  c.advance(1000);
  budget.recordRequest();
  equal(budget.tryRetry(), true);
  equal(budget.tryRetry(), true, 'a new second: below 1 + 20% of 1 = 1.2 twice');
  equal(budget.tryRetry(), false);
});

test('token bucket: the burst at once, then the rate', () => {
  const c = clock();
  const bucket = new TokenBucket(2, 3, c.now);
  equal([0, 1, 2, 3].map(() => bucket.take()).join(), 'true,true,true,false');
  c.advance(500);
  equal(bucket.take(), true, 'half a second at 2/s buys one');
  equal(bucket.take(), false);
});

test('outlier detection: ejected after consecutive failures, for a growing time, with a half-open probation', () => {
  const c = clock();
  const o = new OutlierState();
  for (let i = 0; i < 2; i++) equal(o.record(false, c.now(), 3, 1000), false);
  equal(o.record(false, c.now(), 3, 1000), true, 'the third failure ejects');
  equal(o.isEjected(c.now() + 999), true);
  equal(o.isEjected(c.now() + 1000), false, 'back after the base time, on probation');
  equal(o.record(false, c.now() + 1000, 3, 1000), true, 'one failure on probation ejects again');
  equal(o.isEjected(c.now() + 1000 + 1999), true, 'the second ejection lasts twice as long');
  equal(o.isEjected(c.now() + 1000 + 2000), false);
  o.record(true, c.now() + 3000, 3, 1000);
  equal(o.ejections, 0, 'a success on probation forgives');
});

test('inbound rate limits: one bucket per port, or per caller; limits gone with the config are dropped', () => {
  const c = clock();
  const limits = new InboundRateLimits(c.now);
  const shared: InboundPort = { port: 8080, protocol: 'http', services: ['shop/web'], rateLimit: { requestsPerSecond: 1, burst: 2, perCaller: false } };
  equal([1, 2, 3].map(() => limits.take(shared, 'spiffe://td/ns/a/sa/a')).join(), 'true,true,false');
  equal(limits.take(shared, 'spiffe://td/ns/b/sa/b'), false, 'one bucket for all callers');
  const perCaller: InboundPort = { ...shared, port: 9090, rateLimit: { requestsPerSecond: 1, burst: 1, perCaller: true } };
  equal(limits.take(perCaller, 'spiffe://td/ns/a/sa/a'), true);
  equal(limits.take(perCaller, 'spiffe://td/ns/a/sa/a'), false);
  equal(limits.take(perCaller, 'spiffe://td/ns/b/sa/b'), true, 'another caller has its own bucket');
  equal(limits.take(perCaller, undefined), true, 'plaintext callers share one');
  equal(limits.take({ ...shared, rateLimit: undefined }, undefined), true, 'no limit, no bucket');
  limits.retain([perCaller]);
  equal(limits.size, 3, 'the port without a limit any more lost its bucket');
});
