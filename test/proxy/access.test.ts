/** Access control by workload identity over mTLS, strict and permissive, with real certificates. */
import { equal, ok } from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { meshYaml, MESH_PORT, TestMesh } from '../support/mesh.ts';

const api = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  selector:\n    app: db\n  ports:\n  - name: tcp-db\n    port: 5432\n    targetPort: 5432\n`;
const routes = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  matches:\n  - name: read\n    pathRegex: /books(/.*)?\n    methods: [GET]\n`;
const target = `apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-reads\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: api\n    namespace: shop\n  rules:\n  - kind: HTTPRouteGroup\n    name: api\n    matches: [read]\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;
const dbTarget = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  matches:\n    ports: [5432]\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-db\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: db\n    namespace: shop\n  rules:\n  - kind: TCPRoute\n    name: db\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;

function yaml(access: 'strict' | 'permissive'): string {
  return meshYaml(access === 'strict' ? 'shop' : 'shop', access, [
    { name: 'api', ports: [8080] }, { name: 'db', ports: [5432] }, { name: 'client' }, { name: 'intruder' },
  ], [api, routes, target, dbTarget].join('---\n'));
}

describe('access control', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(yaml('strict'));
  });
  after(async () => mesh?.close());

  test('a listed identity may use the listed route', async () => {
    const res = await mesh.request('client', 'http://api.shop/books/7');
    equal(res.status, 200);
  });

  test('other routes and other identities get 403 naming the missing rule, never a reset', async () => {
    const post = await mesh.request('client', 'http://api.shop/books', { method: 'POST', body: '{}' });
    equal(post.status, 403);
    equal(post.headers['x-skiff-reason'], 'access-denied');
    ok(String(post.headers['x-skiff-detail']).includes('no TrafficTarget allows spiffe://cluster.local/ns/shop/sa/client this route on port 8080'));
    const intruder = await mesh.request('intruder', 'http://api.shop/books/7');
    equal(intruder.status, 403);
    equal(intruder.headers['x-skiff-detail'], 'no TrafficTarget allows spiffe://cluster.local/ns/shop/sa/intruder');
  });

  test('strict mode refuses plaintext callers with 403; permissive lets them in', async () => {
    const api = mesh.pod('api');
    const plain = await request(`http://${api.ip}:${MESH_PORT}/books/7`, { headers: { host: `${api.ip}:8080` } });
    equal(plain.statusCode, 403);
    equal(plain.headers['x-skiff-reason'], 'unauthenticated');
    await plain.body.text();
    await mesh.update(yaml('permissive'));
    const allowed = await request(`http://${api.ip}:${MESH_PORT}/books/7`, { headers: { host: `${api.ip}:8080` } });
    equal(allowed.statusCode, 200);
    await allowed.body.text();
    equal((await mesh.request('intruder', 'http://api.shop/anything', { method: 'DELETE' })).status, 200);
    await mesh.update(yaml('strict'));
  });

  test('a TLS client without a mesh certificate cannot even finish the handshake', async () => {
    const api = mesh.pod('api');
    const { connect } = await import('node:tls');
    const failed = await new Promise<boolean>((resolve) => {
      const s = connect({ host: api.ip, port: MESH_PORT, servername: '8080.inbound.skiff', rejectUnauthorized: false });
      s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      s.on('data', () => resolve(false));
      s.on('error', () => resolve(true));
      s.on('close', () => resolve(true));
    });
    ok(failed);
  });

  test('TCP: the listed identity reaches the database port through the sidecars; others are cut off', async () => {
    const client = mesh.pod('client');
    const talk = (from: string) => new Promise<string>((resolve) => {
      const pod = mesh.pod(from);
      const socket = net.connect({ host: pod.ip, port: 5432 });
      let got = '';
      socket.on('data', (d) => { got += d.toString(); socket.end(); });
      socket.on('error', () => resolve(got));
      socket.on('close', () => resolve(got));
      socket.write('GET /tcp HTTP/1.1\r\nhost: db\r\nconnection: close\r\n\r\n');
    });
    ok((await talk(client.node.name)).includes('"app":"db-0"'), 'client reaches db over TCP');
    equal(await talk('intruder'), '', 'intruder is cut off');
  });
});
