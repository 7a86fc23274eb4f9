/**
 * Attacker's side of the control plane's distribution endpoint: bootstrap tokens used twice,
 * late or for another pod, foreign key types, oversized bodies, forged client certificates,
 * hostile proxy ids, config streams opened for a pod before it exists, and subscriptions
 * (on-demand outbound) made for another pod, malformed, oversized or past the limit, and the
 * identity a connection proved staying that connection's own.
 */
import { equal, match, notEqual, ok } from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { CertificateAuthority } from '../../src/control/ca/authority.ts';
import { MeshController } from '../../src/control/controller.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { BootstrapTokens } from '../../src/control/distribute/tokens.ts';
import { createCsr, generateKeyPair, privateKeyPem, type KeyPair } from '../../src/lib/csr.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { meshYaml } from '../support/mesh.ts';
import { makeLeaf, makeRoot } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';

function snapshot(workloads: { name: string; ports?: number[] }[], extra = '') {
  const { documents } = parseYamlText('mesh.yaml', meshYaml('shop', 'strict', workloads, extra));
  let n = 1;
  return snapshotFromDocuments(documents.map((d) => d.value), { allocate: () => `10.9.0.${n++}` });
}

describe('control plane: certificates and config streams under attack', () => {
  const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5 });
  const tokens = new BootstrapTokens();
  let ca: CertificateAuthority;
  let server: DistributionServer;
  let url: string;
  const agents: Agent[] = [];
  const agent = (cert?: { certPem: string; keyPem: string }) => {
    const a = new Agent({ connect: { ca: ca.trustBundle(), ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
    agents.push(a);
    return a;
  };
  const askCertificate = async (body: unknown, dispatcher = agent()) => {
    const res = await request(`${url}/v1/certificate`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.statusCode, body: await res.body.json() as { error?: string; certificate?: string } };
  };
  /** A workload certificate issued by the mesh CA itself. */
  const workloadCert = (identity: string) => {
    const keys = generateKeyPair();
    return { certPem: ca.issue(createCsr(keys, identity), identity).certificatePem, keyPem: privateKeyPem(keys.privateKey) };
  };

  before(async () => {
    ca = await CertificateAuthority.open({ trustDomain: 'cluster.local' });
    controller.update(snapshot([{ name: 'web', ports: [8080] }]));
    controller.rebuild();
    server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: 0, tokens, unknownStreamTtlMs: 400, requestTimeoutMs: 1000 });
    url = await server.start();
  });
  after(async () => {
    await server?.close();
    controller.stop();
    await Promise.all(agents.map((a) => a.close()));
  });

  test('a bootstrap token works once', async () => {
    const token = tokens.issue('shop/web-0');
    const csr = createCsr(generateKeyPair(), 'shop/web-0');
    equal((await askCertificate({ proxy: 'shop/web-0', csr, token })).status, 200);
    const again = await askCertificate({ proxy: 'shop/web-0', csr, token });
    equal(again.status, 403);
    match(again.body.error ?? '', /proof of identity/);
  });

  test('an expired bootstrap token is refused', async () => {
    const shortLived = new BootstrapTokens(50);
    const token = shortLived.issue('shop/web-0');
    await new Promise((r) => setTimeout(r, 100));
    equal(shortLived.consume('shop/web-0', token), false);
  });

  test('a token for one pod does not work for another, and a wrong guess does not burn the real one', async () => {
    const token = tokens.issue('shop/web-0');
    const csr = createCsr(generateKeyPair(), 'shop/web-0');
    equal((await askCertificate({ proxy: 'shop/web-0', csr, token: 'ab'.repeat(24) })).status, 403);
    equal((await askCertificate({ proxy: 'shop/web-0', csr, token })).status, 200);
  });

  test('an RSA key is refused: workload certificates are ECDSA P-256 only', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }) as unknown as KeyPair;
    const result = await askCertificate({ proxy: 'shop/web-0', csr: createCsr(rsa, 'shop/web-0'), token: tokens.issue('shop/web-0') });
    equal(result.status, 400);
    match(result.body.error ?? '', /ECDSA P-256/);
  });

  test('malformed and oversized requests are refused before anything is issued', async () => {
    equal((await askCertificate({ proxy: 'x'.repeat(5000), csr: 'junk', token: 'junk' })).status, 400);
    equal((await askCertificate({ proxy: 'shop/web-0', csr: 'not a csr', token: tokens.issue('shop/web-0') })).status, 400);
    equal((await askCertificate({ proxy: 'shop/web-0', csr: 'x'.repeat(100_000) })).status, 413);
    equal((await askCertificate('{"proxy": ')).status, 400);
  });

  test('a certificate from a foreign CA is no identity: no config, no renewal', async () => {
    const forged = makeLeaf({ uris: ['spiffe://cluster.local/ns/shop/sa/web'], issuer: makeRoot('thief') });
    const stream = await request(`${url}/v1/config?proxy=shop/web-0`, { dispatcher: agent(forged) }).catch((err: Error) => err);
    if (!(stream instanceof Error)) {
      equal(stream.statusCode, 401);
      await stream.body.dump();
    }
    const renewal = await askCertificate({ proxy: 'shop/web-0', csr: createCsr(generateKeyPair(), 'shop/web-0') }, agent(forged)).catch((err: Error) => err);
    if (!(renewal instanceof Error)) equal(renewal.status, 403);
  });

  test('hostile proxy ids are refused; streams for unknown ids expire and leave nothing behind', async () => {
    const caller = agent(workloadCert('spiffe://cluster.local/ns/shop/sa/web'));
    const long = await request(`${url}/v1/config?proxy=${'a'.repeat(5000)}`, { dispatcher: caller });
    equal(long.statusCode, 400);
    await long.body.dump();
    const before = server.streamCount();
    const unknown = await request(`${url}/v1/config?proxy=shop/ghost-0`, { dispatcher: caller, bodyTimeout: 0 });
    equal(unknown.statusCode, 200);
    const closed = unknown.body.text().then(() => true, () => true);
    ok(await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 5000))]), 'the stream for an id the mesh does not know was closed');
    await waitFor('the stream entry is gone', () => server.streamCount() === before, 2000);
  });

  test('a stream opened for a pod before it exists, by another identity, never receives that pod\'s config', async () => {
    const thief = agent(workloadCert('spiffe://cluster.local/ns/shop/sa/web'));
    const res = await request(`${url}/v1/config?proxy=shop/payments-0`, { dispatcher: thief, bodyTimeout: 0 });
    equal(res.statusCode, 200);
    const received = res.body.text().catch(() => '');
    controller.update(snapshot([{ name: 'web', ports: [8080] }, { name: 'payments', ports: [8443] }]));
    await waitFor('payments-0 exists', () => controller.proxies.has('shop/payments-0'), 2000);
    const text = await Promise.race([received, new Promise<string>((r) => setTimeout(() => r('timeout'), 5000))]);
    ok(!text.includes('event: config'), 'no config event was sent to the wrong identity');
    ok(text !== 'timeout', 'the stream was closed');
  });

  test('subscriptions: only the pod\'s own identity, well-formed, bounded', async () => {
    const subscribe = async (body: unknown, dispatcher: Agent) => {
      const res = await request(`${url}/v1/subscribe`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: res.statusCode, body: await res.body.json() as { error?: string; hosts?: unknown[] } };
    };
    const service = 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n';
    controller.update(snapshot([{ name: 'web', ports: [8080] }, { name: 'payments', ports: [8443] }], service));
    await waitFor('the web Service exists', () => controller.topology?.services.some((s) => s.name === 'web'), 2000);
    const web = agent(workloadCert('spiffe://cluster.local/ns/shop/sa/web'));
    const other = agent(workloadCert('spiffe://cluster.local/ns/shop/sa/payments'));
    const ok200 = await subscribe({ proxy: 'shop/web-0', hosts: ['web', 'nowhere.example'] }, web);
    equal(ok200.status, 200, JSON.stringify(ok200.body));
    equal(JSON.stringify(ok200.body.hosts), '["shop/web",null]');
    equal((await subscribe({ proxy: 'shop/web-0', hosts: ['web'] }, other)).status, 403, 'another identity may not change what web-0 is sent');
    equal((await subscribe({ proxy: 'shop/web-0', hosts: ['web'] }, agent())).status, 401, 'no client certificate, no subscription');
    equal((await subscribe({ proxy: 'shop/ghost-0', hosts: ['web'] }, agent())).status, 401, 'and no answer about which pods exist');
    const forged = makeLeaf({ uris: ['spiffe://cluster.local/ns/shop/sa/web'], issuer: makeRoot('thief') });
    const viaForged = await subscribe({ proxy: 'shop/web-0', hosts: ['web'] }, agent(forged)).catch((err: Error) => err);
    if (!(viaForged instanceof Error)) equal(viaForged.status, 401, 'a certificate from a foreign CA is no identity');
    equal((await subscribe({ proxy: 'shop/ghost-0', hosts: ['web'] }, web)).status, 404);
    equal((await subscribe({ proxy: 'shop/web-0', services: ['../etc/passwd'] }, web)).status, 400, 'a Service key is <ns>/<name>');
    equal((await subscribe({ proxy: 'shop/web-0', hosts: Array.from({ length: 65 }, (_, i) => `h${i}`) }, web)).status, 400, 'at most 64 hosts a question');
    equal((await subscribe({ proxy: 'shop/web-0', hosts: ['x'.repeat(300)] }, web)).status, 400);
    equal((await subscribe({ proxy: 'shop/web-0', extra: true }, web)).status, 400);
    equal((await subscribe('{"proxy": ', web)).status, 400);
    equal((await subscribe({ proxy: 'shop/web-0', services: Array.from({ length: 40_000 }, (_, i) => `ns/service-number-${i}`) }, web)).status, 413);
    const many = (from: number) => Array.from({ length: 2500 }, (_, i) => `ns/s${from + i}`);
    equal((await subscribe({ proxy: 'shop/web-0', services: many(0) }, web)).status, 200);
    equal((await subscribe({ proxy: 'shop/web-0', services: many(2500) }, web)).status, 429, 'at most 5,000 Services per proxy');
  });

  test('acks: only the pod\'s own identity may say what it applied', async () => {
    const ack = async (body: unknown, dispatcher: Agent) => (await request(`${url}/v1/ack`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).statusCode;
    const hash = 'a'.repeat(64);
    equal(await ack({ proxy: 'shop/web-0', hash }, agent()), 401);
    equal(await ack({ proxy: 'shop/web-0', hash }, agent(workloadCert('spiffe://cluster.local/ns/shop/sa/payments'))), 403);
    equal(await ack({ proxy: 'shop/web-0', hash: 'not a hash' }, agent(workloadCert('spiffe://cluster.local/ns/shop/sa/web'))), 400);
    notEqual(controller.proxies.get('shop/web-0')?.appliedHash, hash, 'nothing was recorded');
  });

  test('the identity is each connection\'s own: proved once per connection, never carried to another', async () => {
    // The server reads a connection's certificate once and keeps it for the connection's streams.
    const post = (session: http2.ClientHttp2Session, body: unknown) => new Promise<number>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/v1/ack', 'content-type': 'application/json' });
      req.on('response', (headers) => resolve(Number(headers[':status'])));
      req.on('error', reject);
      req.resume();
      req.end(JSON.stringify(body));
    });
    const connect = (cert?: { certPem: string; keyPem: string }) => http2.connect(url, { ca: ca.trustBundle(), ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) });
    const web = connect(workloadCert('spiffe://cluster.local/ns/shop/sa/web'));
    const payments = connect(workloadCert('spiffe://cluster.local/ns/shop/sa/payments'));
    const anonymous = connect();
    const forged = connect(makeLeaf({ uris: ['spiffe://cluster.local/ns/shop/sa/web'], issuer: makeRoot('thief') }));
    forged.on('error', () => undefined);
    try {
      const hash = controller.proxies.get('shop/web-0')?.config.hash as string;
      for (let round = 0; round < 3; round++) {
        // Interleaved on four connections: each answer follows its own connection's certificate.
        const [asWeb, asPayments, asNobody, asForged, paymentsOwn] = await Promise.all([
          post(web, { proxy: 'shop/web-0', hash }),
          post(payments, { proxy: 'shop/web-0', hash }),
          post(anonymous, { proxy: 'shop/web-0', hash }),
          post(forged, { proxy: 'shop/web-0', hash }).catch(() => 401),
          post(payments, { proxy: 'shop/payments-0', hash: 'b'.repeat(64) }),
        ]);
        equal(asWeb, 200, `round ${round}: web's connection acks for web-0`);
        equal(asPayments, 403, `round ${round}: payments' connection, after web's succeeded, is still payments`);
        equal(asNobody, 401, `round ${round}: a connection without a certificate stays without an identity`);
        equal(asForged, 401, `round ${round}: a foreign CA's certificate stays no identity`);
        equal(paymentsOwn, 200, `round ${round}: payments may ack for its own pod`);
      }
    } finally {
      for (const s of [web, payments, anonymous, forged]) s.destroy();
    }
  });

  test('HTTP/2: a request whose body never ends is cancelled, a config stream is not', async () => {
    const cert = workloadCert('spiffe://cluster.local/ns/shop/sa/web');
    const session = http2.connect(url, { ca: ca.trustBundle(), cert: cert.certPem, key: cert.keyPem });
    try {
      const slow = session.request({ ':method': 'POST', ':path': '/v1/subscribe', 'content-type': 'application/json', 'content-length': '100' }, { endStream: false });
      slow.write('{"proxy": "shop/');
      const stream = session.request({ ':path': '/v1/config?proxy=shop/web-0' });
      let events = '';
      stream.on('data', (chunk: Buffer) => { events += chunk.toString(); });
      const started = performance.now();
      const closed = new Promise<number>((resolve) => slow.on('close', () => resolve(slow.rstCode ?? -1)));
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-2), 10_000))]);
      const took = performance.now() - started;
      equal(code, http2.constants.NGHTTP2_CANCEL, 'the half-sent request was cancelled');
      ok(took < 5000, `within the bound (${Math.round(took)} ms)`);
      await new Promise((r) => setTimeout(r, 1500));
      ok(!stream.closed, 'the config stream, open longer than the bound, is still open');
      ok(events.includes('event: config'), 'and it carried the config');
      stream.close();
    } finally {
      session.destroy();
    }
  });
});
