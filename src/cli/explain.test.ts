import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runExplain } from './explain.ts';

const GOLDEN = join(import.meta.dirname, '..', '..', 'test', 'golden');

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runExplain(args, (l) => lines.push(...l.split('\n')));
  return { code, lines };
}

test('explain shows callers with their TrafficTarget, split shares and exclusions', async () => {
  const { code, lines } = await run([join(GOLDEN, 'split-backend-without-root-port-is-excluded-for-that-port.in.yaml')]);
  equal(code, 0);
  ok(lines.includes('  port 80: web-v1 50 (50%), web-v2 50 (50%)'), lines.join('\n'));
  ok(lines.includes('  port 9090: web-v1 50 (100%), web-v2 50 (excluded: no port 9090)'), lines.join('\n'));
  ok(lines.some((l) => l.includes('[SKIFF_W_SPLIT_BACKEND_PORT]')));
  const targets = await run([join(GOLDEN, 'target-several-targets-add-up.in.yaml')]);
  ok(targets.lines.includes('    spiffe://cluster.local/ns/shop/sa/client: routes api-routes/read, any port (http) via TrafficTarget shop/client-reads'), targets.lines.join('\n'));
});

test('explain --from --to answers one request: allowed exits 0, denied exits 1, with the rule', async () => {
  const file = join(GOLDEN, 'target-http-routes-allow-listed-routes-only.in.yaml');
  const allowed = await run([file, '--from', 'shop/client', '--to', 'api.shop.svc.cluster.local.:80', 'GET', '/books/42']);
  equal(allowed.code, 0);
  equal(allowed.lines[0], 'ALLOWED: shop/client GET /books/42 → api.shop.svc.cluster.local.:80: allowed by TrafficTarget shop/client-reads, route api-routes/read');
  const denied = await run([file, '--from', 'shop/client', '--to', 'api', 'POST', '/books']);
  equal(denied.code, 1);
  equal(denied.lines[0], 'DENIED: shop/client POST /books → api: no TrafficTarget allows spiffe://cluster.local/ns/shop/sa/client this route on port 8080');
  const json = await run([file, '--json', '--from', 'shop/intruder', '--to', 'api.shop', 'GET', '/books']);
  const answer = JSON.parse(json.lines.join('\n'));
  deepStrictEqual([answer.allowed, answer.service, answer.port], [false, 'shop/api', 80]);
  equal((await run([file, '--from', 'shop/client', '--to', 'example.com'])).lines[0], 'DENIED: shop/client GET / → example.com: example.com is not a service of the mesh (as seen from namespace shop)');
});

test('explain of a Firefox request follows the A/B split', async () => {
  const file = join(GOLDEN, 'split-v1alpha3-header-matches-split-others-go-to-root.in.yaml');
  const ff = await run([file, '--from', 'shop/client', '--to', 'web', 'GET', '/', '-H', 'User-Agent: Mozilla/5.0 Firefox/128.0']);
  ok(ff.lines.includes('  service shop/web port 80, route split:web (TrafficSplit shop/web)'), ff.lines.join('\n'));
  ok(ff.lines.includes('  shop/web-v2:80 100%'));
});

test('explain names the policy each setting of a request comes from, route before Service before default', async () => {
  const file = join(GOLDEN, 'policy-route-service-and-backend-attachments.in.yaml');
  const checkout = await run([file, '--from', 'shop/client', '--to', 'web.shop', 'POST', '/checkout/1']);
  ok(checkout.lines.includes('  policy (route web-routes/checkout): timeout 2s (TrafficPolicy shop/checkout), per try 1s (TrafficPolicy shop/web-defaults), 0 retries (TrafficPolicy shop/checkout), faults: delay 50ms for 1% (TrafficPolicy shop/web-defaults)'), checkout.lines.join('\n'));
  ok(checkout.lines.includes('    limits: at most 20 requests in flight, 5 pending, 10 connections per endpoint (TrafficPolicy shop/protect-v2); eject after 2 gateway errors for 10s (TrafficPolicy shop/protect-v2)'), checkout.lines.join('\n'));
  const search = await run([file, '--from', 'shop/client', '--to', 'web.shop', 'GET', '/search']);
  ok(search.lines.some((l) => l.startsWith('  policy: timeout 5s (TrafficPolicy shop/web-defaults)') && l.includes('2 retries on connect-failure, gateway-error (default)')), search.lines.join('\n'));
  const overview = await run([file]);
  ok(overview.lines.includes('  policies: TrafficPolicy shop/checkout on route web-routes/checkout; TrafficPolicy shop/web-defaults on the Service'), overview.lines.join('\n'));
});
