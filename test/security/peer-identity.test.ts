/**
 * Attacker's side of the mesh mTLS listener: certificates that must never become an identity.
 * Each probe speaks real TLS to a real sidecar and tries to reach the application as the one
 * caller the access rules allow (spiffe://cluster.local/ns/shop/sa/client).
 */
import { equal, ok } from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { meshYaml, MESH_PORT, TestMesh } from '../support/mesh.ts';
import { makeLeaf, makeRoot } from '../support/pki.ts';
import { refusedCount, tlsProbe } from './support.ts';

const CLIENT = 'spiffe://cluster.local/ns/shop/sa/client';
const services = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  selector:\n    app: db\n  ports:\n  - name: tcp-db\n    port: 5432\n    targetPort: 5432\n`;
const access = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: all\n  namespace: shop\nspec:\n  matches:\n  - name: everything\n    pathRegex: /.*\n---\napiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: db\n  namespace: shop\nspec:\n  matches:\n    ports: [5432]\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-api\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: api\n    namespace: shop\n  rules:\n  - kind: HTTPRouteGroup\n    name: all\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-db\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: db\n    namespace: shop\n  rules:\n  - kind: TCPRoute\n    name: db\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;
const BUY = 'POST /books/1/buy HTTP/1.1\r\nhost: api.shop\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';

describe('mesh mTLS: only certificates of the mesh CA with one workload identity get in', () => {
  let mesh: TestMesh;
  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'strict', [{ name: 'api', ports: [8080] }, { name: 'db', ports: [5432] }, { name: 'client' }], services + '---\n' + access));
  });
  after(async () => mesh?.close());

  const probe = (cert: { certPem: string; keyPem: string } | undefined, servername = '8080.inbound.skiff', payload = BUY) =>
    tlsProbe({ host: mesh.pod('api').ip, port: MESH_PORT, servername, ...(cert ? { certPem: cert.certPem, keyPem: cert.keyPem } : {}), payload });

  /** Runs a probe and checks it got no HTTP answer, the app saw nothing, and the refusal was counted. */
  async function refused(cert: { certPem: string; keyPem: string } | undefined, reason: string, servername?: string, payload?: string): Promise<void> {
    const api = mesh.pod('api');
    const proxy = api.proxy;
    ok(proxy);
    const receivedBefore = api.apps.reduce((n, a) => n + a.received, 0);
    const countBefore = await refusedCount(proxy, 'inbound', reason);
    const result = await probe(cert, servername, payload);
    ok(!result.text.includes('HTTP/1.1'), `no HTTP answer, got ${JSON.stringify(result.text.slice(0, 80))}`);
    ok(result.closed, 'the sidecar closed the connection');
    equal(api.apps.reduce((n, a) => n + a.received, 0), receivedBefore, 'the application received nothing');
    equal(await refusedCount(proxy, 'inbound', reason), countBefore + 1, `counted as ${reason}`);
  }

  test('control: the real client certificate buys a book', async () => {
    const genuine = mesh.pki.leaf({ uris: [CLIENT] });
    const result = await probe(genuine);
    ok(result.text.startsWith('HTTP/1.1 200'), result.text.slice(0, 80));
  });

  test('a certificate from a self-made CA naming the client is refused at the handshake', async () => {
    await refused(makeLeaf({ uris: [CLIENT], issuer: makeRoot('thief root') }), 'unauthorized-chain');
  });

  test('a self-signed certificate naming the client is refused', async () => {
    const self = makeRoot('self');
    const leafWithOwnKey = makeLeaf({ uris: [CLIENT], issuer: self });
    await refused({ certPem: self.certificatePem, keyPem: leafWithOwnKey.keyPem }, 'unauthorized-chain').catch(async () => {
      // The self-signed root with its own key (the key above belongs to the leaf): use the root's key.
      const { privateKeyPem } = await import('../../src/lib/csr.ts');
      await refused({ certPem: self.certificatePem, keyPem: privateKeyPem(self.privateKey) }, 'unauthorized-chain');
    });
  });

  test('an expired certificate of the mesh CA is refused', async () => {
    const expired = mesh.pki.leaf({ uris: [CLIENT], notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
    await refused(expired, 'unauthorized-chain');
  });

  test('a mesh certificate without a SPIFFE URI SAN is refused', async () => {
    await refused(mesh.pki.leaf({ uris: [] }), 'bad-identity');
  });

  test('a mesh certificate with two URI SANs is refused, whichever comes first', async () => {
    await refused(mesh.pki.leaf({ uris: [CLIENT, 'spiffe://cluster.local/ns/shop/sa/api'] }), 'bad-identity');
    await refused(mesh.pki.leaf({ uris: ['spiffe://cluster.local/ns/other/sa/x', CLIENT] }), 'bad-identity');
  });

  test('a URI SAN that is not a workload SPIFFE ID is refused', async () => {
    await refused(mesh.pki.leaf({ uris: ['spiffe://cluster.local/ns/shop/sa/client/extra'] }), 'bad-identity');
    await refused(mesh.pki.leaf({ uris: ['https://cluster.local/ns/shop/sa/client'] }), 'bad-identity');
    await refused(mesh.pki.leaf({ uris: ['spiffe://other.domain/ns/shop/sa/client'] }), 'bad-identity');
  });

  test('a certificate signed by a workload (non-CA) key is refused, even with the chain attached', async () => {
    const workload = mesh.pki.leaf({ uris: ['spiffe://cluster.local/ns/shop/sa/intruder'] });
    const forged = makeLeaf({ uris: [CLIENT], issuer: workload.issuer });
    await refused({ certPem: forged.certPem + workload.certPem, keyPem: forged.keyPem }, 'unauthorized-chain');
  });

  test('no client certificate at all is refused', async () => {
    await refused(undefined, 'no-certificate');
  });

  test('the TCP pass-through port is closed the same way', async () => {
    const db = mesh.pod('db');
    const foreign = makeLeaf({ uris: [CLIENT], issuer: makeRoot('thief root') });
    const before = db.apps.reduce((n, a) => n + a.received, 0);
    const result = await tlsProbe({ host: db.ip, port: MESH_PORT, servername: 'tcp-5432.inbound.skiff', certPem: foreign.certPem, keyPem: foreign.keyPem, payload: 'GET / HTTP/1.1\r\nhost: db\r\n\r\n' });
    equal(result.text, '');
    equal(db.apps.reduce((n, a) => n + a.received, 0), before);
    const genuine = mesh.pki.leaf({ uris: [CLIENT] });
    const allowed = await tlsProbe({ host: db.ip, port: MESH_PORT, servername: 'tcp-5432.inbound.skiff', certPem: genuine.certPem, keyPem: genuine.keyPem, payload: 'GET / HTTP/1.1\r\nhost: db\r\nconnection: close\r\n\r\n' });
    ok(allowed.text.startsWith('HTTP/1.1 200'), 'the genuine client reaches the database port');
  });

  test("a caller's claimed workload is counted only when it names the namespace its certificate proves", async () => {
    const genuine = mesh.pki.leaf({ uris: [CLIENT] });
    const claiming = (claim: string) => BUY.replace('content-length', `x-skiff-client: ${claim}\r\ncontent-length`);
    // Another namespace, a namespace of which the proven one is a prefix, and the proven one.
    for (const claim of ['bank/Deployment/teller/teller-0', 'shopping/Deployment/cart/cart-0', 'shop/Deployment/client/client-0']) {
      ok((await probe(genuine, undefined, claiming(claim))).text.startsWith('HTTP/1.1 200'));
    }
    const proxy = mesh.pod('api').proxy;
    ok(proxy);
    const inbound = (await proxy.telemetry.registry.getSingleMetric('skiff_requests_total')!.get()).values.filter((v) => v.labels.direction === 'inbound').map((v) => v.labels);
    ok(inbound.every((l) => l.source_namespace === 'shop'), JSON.stringify(inbound));
    ok(!inbound.some((l) => l.source_workload === 'teller' || l.source_workload === 'cart'), `claims of other namespaces counted: ${JSON.stringify(inbound)}`);
    ok(inbound.some((l) => l.source_workload_kind === 'Deployment' && l.source_workload === 'client'), `the genuine claim counted: ${JSON.stringify(inbound)}`);
  });

  test('after every probe the sidecar still serves the genuine caller', async () => {
    equal((await mesh.request('client', 'http://api.shop/books/1')).status, 200);
  });
});
