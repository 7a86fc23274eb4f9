/** Upstreams: the application's endpoints found by port are the runtimes `runtime` keeps. */
import { equal, notEqual } from 'node:assert/strict';
import { test } from 'node:test';
import { Upstreams } from './upstream.ts';

test('application: one runtime per port, the one runtime() keeps; a new one once it was dropped or the address changed', async () => {
  const app = new Upstreams(() => undefined);
  const a = app.application('127.0.0.1', 8080, 'shop/web-0');
  equal(app.application('127.0.0.1', 8080, 'shop/web-0'), a, 'the same port finds the same runtime (its pool, its counts)');
  equal(app.runtime({ address: '127.0.0.1', port: 8080, pod: 'shop/web-0' }), a, 'and it is the runtime kept under its key');
  const b = app.application('127.0.0.1', 9090, 'shop/web-0');
  notEqual(b, a);
  equal(b.endpoint.port, 9090);
  notEqual(app.application('127.0.0.2', 8080, 'shop/web-0'), a, 'another address is another endpoint');
  app.retain(new Set());
  const fresh = app.application('127.0.0.1', 9090, 'shop/web-0');
  notEqual(fresh, b, 'a runtime dropped by retain() is not handed out again');
  equal(app.application('127.0.0.1', 9090, 'shop/web-0'), fresh);
  await app.close();
});
