/** Malformed and smuggling requests are refused with 400/431 and a closed connection; nothing crashes. */
import { equal, ok, match } from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { meshYaml, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';

const web = `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---\napiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: hostile\n  namespace: shop\nspec:\n  matches:\n  - name: nested\n    pathRegex: "(a+)+$"\n---\napiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  service: web\n  matches:\n  - kind: HTTPRouteGroup\n    name: hostile\n  backends:\n  - service: web\n    weight: 1\n`;

/** Writes raw bytes to the client's outbound listener; resolves with what came back and whether the server closed. */
function raw(mesh: TestMesh, bytes: string): Promise<{ text: string; closed: boolean }> {
  const pod = mesh.pod('client');
  return new Promise((resolve) => {
    const socket = net.connect({ host: pod.ip, port: OUTBOUND_PORT });
    let text = '';
    const timer = setTimeout(() => { socket.destroy(); resolve({ text, closed: false }); }, 3000);
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }); });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

describe('request safety', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'permissive', [{ name: 'web', ports: [8080] }, { name: 'client' }], web));
  });
  after(async () => mesh?.close());

  test('Content-Length together with Transfer-Encoding (smuggling) → 400, connection closed', async () => {
    const res = await raw(mesh, 'POST / HTTP/1.1\r\nHost: web.shop\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: web.shop\r\n\r\n');
    match(res.text, /^HTTP\/1\.1 400 /);
    ok(res.closed);
    ok(!res.text.includes('smuggled'));
  });

  test('two different Content-Length values → 400', async () => {
    const res = await raw(mesh, 'POST / HTTP/1.1\r\nHost: web.shop\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde');
    match(res.text, /^HTTP\/1\.1 400 /);
    ok(res.closed);
  });

  test('oversized headers → 431, garbage → 400', async () => {
    const big = await raw(mesh, `GET / HTTP/1.1\r\nHost: web.shop\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    match(big.text, /^HTTP\/1\.1 431 /);
    const garbage = await raw(mesh, 'HELLO THERE\r\n\r\n');
    match(garbage.text, /^HTTP\/1\.1 400 /);
    const badHeader = await raw(mesh, 'GET / HTTP/1.1\r\nHost: web.shop\r\nBad Header: x\r\n\r\n');
    match(badHeader.text, /^HTTP\/1\.1 400 /);
  });

  test('a request without a Host is refused with a reason', async () => {
    const res = await raw(mesh, 'GET / HTTP/1.0\r\n\r\n');
    match(res.text, /^HTTP\/1\.1 400 /);
    match(res.text, /x-skiff-reason: bad-request/);
  });

  test('a catastrophic route regex against a hostile path answers at once (linear-time matching)', async () => {
    const started = performance.now();
    const res = await mesh.request('client', `http://web.shop/${'a'.repeat(12_000)}!`);
    equal(res.status, 200);
    ok(performance.now() - started < 2000);
  });

  test('after all that, the proxy still serves', async () => {
    equal((await mesh.request('client', 'http://web.shop/')).status, 200);
    ok(mesh.pod('client').proxy?.state);
  });
});
