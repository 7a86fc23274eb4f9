/**
 * gRPC through two sidecars with mTLS, with the real @grpc/grpc-js client and server: each
 * app talks h2c to its sidecar, the sidecars speak h2 to each other over mTLS (ALPN). A
 * TrafficSplit's weights hold per call over one client connection; an access denial is
 * PERMISSION_DENIED; a caller's deadline is honoured by the proxy; a server stream outlives
 * the route's request timeout; a cancelled call or stream is cancelled at the application and
 * counted 499; metrics count calls by grpc-status.
 */
import { equal, ok } from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { meshYaml, OUTBOUND_PORT, TestMesh } from '../support/mesh.ts';

const PORT = 9090;
const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown };
const method = (name: string, responseStream = false) => ({
  path: `/skiff.test.Echo/${name}`, requestStream: false, responseStream,
  requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize,
});
const ECHO = { hello: method('Hello'), slow: method('Slow'), fail: method('Fail'), ticks: method('Ticks', true) };
type EchoClient = grpc.Client & Record<keyof typeof ECHO, (...args: unknown[]) => unknown>;
const Client = grpc.makeGenericClientConstructor(ECHO, 'Echo') as unknown as new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => EchoClient;

const service = (name: string, selector: Record<string, string>) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  selector:\n${Object.entries(selector).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n  ports:\n  - name: grpc\n    port: ${PORT}\n    targetPort: ${PORT}\n    appProtocol: grpc\n`;
const split = `apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  service: api\n  backends:\n  - service: api-v1\n    weight: 70\n  - service: api-v2\n    weight: 30\n`;
const access = `apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n  name: echo\n  namespace: shop\nspec:\n  matches:\n  - name: calls\n    pathRegex: /skiff\\.test\\.Echo/.*\n    methods: [POST]\n---\napiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-calls\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: api\n    namespace: shop\n  rules:\n  - kind: HTTPRouteGroup\n    name: echo\n    matches: [calls]\n  sources:\n  - kind: ServiceAccount\n    name: client\n    namespace: shop\n`;
const policy = `apiVersion: policy.skiff.dev/v1alpha1\nkind: TrafficPolicy\nmetadata:\n  name: short\n  namespace: shop\nspec:\n  targetRefs:\n  - kind: Service\n    name: api\n  timeouts:\n    request: 500ms\n`;

/** Server streams that ended because their caller cancelled (the cancellation reached the application). */
let streamsCancelled = 0;

/** A gRPC server as pod `name`'s application. */
async function startServer(name: string, ip: string): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    hello: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, done: grpc.sendUnaryData<unknown>) =>
      done(null, { app: name, text: call.request.text, caller: call.metadata.get('x-forwarded-client-cert')[0] ?? '' }),
    slow: (_call: unknown, done: grpc.sendUnaryData<unknown>) => setTimeout(() => done(null, { app: name }), 3000),
    fail: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done({ code: grpc.status.INTERNAL, details: 'broken on purpose' }),
    ticks: (call: grpc.ServerWritableStream<{ n: number; ms: number }, unknown>) => {
      let i = 0;
      const timer = setInterval(() => {
        call.write({ app: name, i });
        if (++i >= call.request.n) {
          clearInterval(timer);
          call.end();
        }
      }, call.request.ms);
      call.on('cancelled', () => {
        clearInterval(timer);
        streamsCancelled++;
      });
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`${ip}:${PORT}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return server;
}

function call<T>(client: EchoClient, name: 'hello' | 'slow' | 'fail', request: unknown, options: grpc.CallOptions = {}): Promise<{ value?: T; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    (client[name] as (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: T) => void) => void)(request, new grpc.Metadata(), options, (error, value) => resolve(error ? { error } : { value: value as T }));
  });
}

describe('gRPC through two sidecars', () => {
  let mesh: TestMesh;
  const servers: grpc.Server[] = [];
  const clients: EchoClient[] = [];
  /** A client in pod `from`, one connection to its sidecar's outbound listener, calling api.shop. */
  const clientOf = (from: string) => {
    const client = new Client(`${mesh.pod(from).ip}:${OUTBOUND_PORT}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': `api.shop:${PORT}` });
    clients.push(client);
    return client;
  };

  before(async () => {
    mesh = await TestMesh.start(meshYaml('shop', 'strict', [
      { name: 'api-v1', labels: { app: 'api', version: 'v1' }, sa: 'api', ports: [PORT] },
      { name: 'api-v2', labels: { app: 'api', version: 'v2' }, sa: 'api', ports: [PORT] },
      { name: 'client' }, { name: 'intruder' },
    ], [service('api', { app: 'api' }), service('api-v1', { app: 'api', version: 'v1' }), service('api-v2', { app: 'api', version: 'v2' }), split, access, policy].join('---\n')), { ownApps: [PORT] });
    for (const name of ['api-v1', 'api-v2']) servers.push(await startServer(`${name}-0`, mesh.pod(name).ip));
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const s of servers) s.forceShutdown();
    await mesh?.close();
  });

  test('a unary call reaches the app over mTLS, which sees the verified caller', async () => {
    const got = await call<{ app: string; text: string; caller: string }>(clientOf('client'), 'hello', { text: 'hi' });
    ok(got.value, got.error?.message);
    ok(got.value.app.startsWith('api-v'), got.value.app);
    equal(got.value.text, 'hi');
    ok(got.value.caller.endsWith('URI=spiffe://cluster.local/ns/shop/sa/client'), got.value.caller);
  });

  test('the split\'s weights hold per call over one client connection (70/30 within 4.5 sigma)', async () => {
    const client = clientOf('client');
    const n = 600;
    let v2 = 0;
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => call<{ app: string }>(client, 'hello', { text: String(i) })));
      for (const r of batch) {
        ok(r.value, r.error?.message);
        if (r.value.app === 'api-v2-0') v2++;
      }
    }
    const p = 0.3;
    ok(Math.abs(v2 / n - p) <= 4.5 * Math.sqrt((p * (1 - p)) / n), `api-v2 answered ${v2} of ${n}`);
    // One connection carried them all: the client's channel never reconnected.
    equal(client.getChannel().getConnectivityState(false), grpc.connectivityState.READY);
  });

  test('an identity no TrafficTarget lists gets PERMISSION_DENIED, with the reason', async () => {
    const got = await call(clientOf('intruder'), 'hello', { text: 'let me in' });
    equal(got.error?.code, grpc.status.PERMISSION_DENIED);
    ok(got.error?.details.includes('no TrafficTarget allows spiffe://cluster.local/ns/shop/sa/intruder'), got.error?.details);
  });

  test('an application\'s error counts as its HTTP meaning in the metrics (INTERNAL → 500)', async () => {
    const got = await call(clientOf('client'), 'fail', {});
    equal(got.error?.code, grpc.status.INTERNAL);
    equal(got.error?.details, 'broken on purpose');
    const metrics = await (await fetch(`http://${mesh.pod('client').ip}:15000/metrics`)).text();
    ok(metrics.split('\n').some((l) => l.startsWith('skiff_requests_total{') && l.includes('direction="outbound"') && l.includes('status_code="500"')),
      metrics.split('\n').filter((l) => l.startsWith('skiff_requests_total')).join('\n'));
  });

  test('the proxy honours grpc-timeout: a call whose deadline passes gets DEADLINE_EXCEEDED from the sidecar', async () => {
    // A bare HTTP/2 client (no deadline of its own), so the answer can only come from the proxy.
    const session = http2.connect(`http://${mesh.pod('client').ip}:${OUTBOUND_PORT}`);
    try {
      const started = Date.now();
      const { headers, trailers } = await new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/skiff.test.Echo/Slow', ':authority': `api.shop:${PORT}`, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' });
        let headers: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => { headers = h; });
        stream.on('trailers', (t) => resolve({ headers, trailers: t }));
        stream.on('end', () => resolve({ headers, trailers: {} }));
        stream.on('error', reject);
        stream.resume();
        const body = Buffer.from('{}');
        const frame = Buffer.alloc(5);
        frame.writeUInt32BE(body.length, 1);
        stream.end(Buffer.concat([frame, body]));
      });
      const elapsed = Date.now() - started;
      equal(headers[':status'], 200);
      equal(trailers['grpc-status'] ?? headers['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
      equal(headers['x-skiff-reason'], 'upstream-timeout');
      ok(elapsed >= 180 && elapsed < 450, `answered after ${elapsed} ms: the 200 ms deadline, not the route's 500 ms`);
    } finally {
      session.close();
    }
  });

  test('a call the client cancels is counted 499 by both sidecars: not an error of the endpoint', async () => {
    const client = clientOf('client');
    const count = async (pod: string, direction: string) => {
      const text = await (await fetch(`http://${mesh.pod(pod).ip}:15000/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith('skiff_requests_total{') && l.includes(`direction="${direction}"`) && l.includes('status_code="499"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    const before = { client: await count('client', 'outbound'), servers: await count('api-v1', 'inbound') + await count('api-v2', 'inbound') };
    for (let i = 0; i < 3; i++) {
      const cancelled = new Promise<grpc.ServiceError>((resolve) => {
        const pending = (client.slow as (r: unknown, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall)({}, (e) => resolve(e as grpc.ServiceError));
        setTimeout(() => pending.cancel(), 150);
      });
      equal((await cancelled).code, grpc.status.CANCELLED);
    }
    await new Promise((r) => setTimeout(r, 300));
    equal(await count('client', 'outbound') - before.client, 3);
    equal(await count('api-v1', 'inbound') + await count('api-v2', 'inbound') - before.servers, 3);
    const ejected = mesh.pod('client').proxy?.stats().endpoints.filter((e) => e.ejections > 0) ?? [];
    equal(ejected.length, 0, JSON.stringify(ejected));
  });

  test('a server stream the client cancels is cancelled at the application too, through both sidecars', async () => {
    const client = clientOf('client');
    const before = streamsCancelled;
    const ended = new Promise<{ items: number; code?: number }>((resolve) => {
      let items = 0;
      const stream = (client.ticks as (r: unknown) => grpc.ClientReadableStream<unknown>)({ n: 100, ms: 50 });
      stream.on('data', () => {
        if (++items === 3) stream.cancel();
      });
      stream.on('error', (error: grpc.ServiceError) => resolve({ items, code: error.code }));
      stream.on('end', () => resolve({ items }));
    });
    equal((await ended).code, grpc.status.CANCELLED);
    const deadline = Date.now() + 2000;
    while (streamsCancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    equal(streamsCancelled, before + 1, 'the application saw the cancellation (not 5 s later, at the end of its stream)');
  });

  test('a server stream outlives the route\'s 500 ms request timeout', async () => {
    const client = clientOf('client');
    const got = await new Promise<{ items: unknown[]; error?: grpc.ServiceError }>((resolve) => {
      const items: unknown[] = [];
      const stream = (client.ticks as (r: unknown) => grpc.ClientReadableStream<unknown>)({ n: 6, ms: 200 });
      stream.on('data', (d) => items.push(d));
      stream.on('error', (error: grpc.ServiceError) => resolve({ items, error }));
      stream.on('end', () => resolve({ items }));
    });
    equal(got.error, undefined);
    equal(got.items.length, 6);
  });
});
