/**
 * The TrafficMetrics API in local mode, against a backend whose latency the test chooses:
 * counts exact, p50/p90/p99 within 5 % of what the client measured for the same requests,
 * denials visible, every failure a Kubernetes Status, and `skiff stat` reading the same API.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { runStat } from '../../src/cli/stat.ts';
import type { TrafficMetrics, TrafficMetricsList } from '../../src/control/traffic/query.ts';
import { LocalRuntime } from '../../src/local/runtime.ts';
import { waitFor } from '../support/wait.ts';
import { claimSubnet } from '../support/subnet.ts';

const deployment = (name: string, account: string, app: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: lab}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}, tier: ${name === 'slow' ? 'backend' : 'client'}}}
    spec:
      serviceAccountName: ${account}
      containers:
      - name: ${name}
        command: ["node", "apps/${app}.mjs"]
        ports: [{name: http, containerPort: 8080}]
`;
const FOLDER = {
  'mesh.yaml': `apiVersion: v1
kind: Namespace
metadata: {name: lab, annotations: {skiff.dev/access: strict}}
---
apiVersion: v1
kind: Service
metadata: {name: slow, namespace: lab}
spec: {selector: {app: slow}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
${deployment('slow', 'slow', 'slow')}---
${deployment('client', 'client', 'idle')}---
${deployment('stranger', 'stranger', 'idle')}---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: client-to-slow, namespace: lab}
spec:
  destination: {kind: ServiceAccount, name: slow, namespace: lab}
  sources: [{kind: ServiceAccount, name: client, namespace: lab}]
  rules: [{kind: TCPRoute, name: any}]
---
apiVersion: specs.smi-spec.io/v1alpha4
kind: TCPRoute
metadata: {name: any, namespace: lab}
spec: {}
`,
  // Answers after ?ms=N milliseconds; /fail answers 500 at once.
  'apps/slow.mjs': `import http from 'node:http';
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/fail') { res.writeHead(500); res.end('failed'); return; }
  setTimeout(() => res.end('ok'), Number(url.searchParams.get('ms') ?? 0));
}).listen(Number(process.env.PORT ?? 8080), process.env.POD_IP);
`,
  'apps/idle.mjs': `import http from 'node:http';
http.createServer((_req, res) => res.end('idle')).listen(Number(process.env.PORT ?? 8080), process.env.POD_IP);
`,
};

const SLOW = 300;
/** Fast 500s from the application: failures, and quick ones. */
const FAILED = 17;
const DENIED = 7;
/**
 * The latency each request asks for: 50–449 ms, spread evenly, in a scrambled order (long
 * enough that what lies outside any sidecar, the test's own client, stays a small part).
 */
const delays = Array.from({ length: SLOW }, (_, i) => 50 + ((i * 37) % 400));
const exact = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))] as number;

describe('local mode: the TrafficMetrics API', () => {
  let dir: string;
  let runtime: LocalRuntime;
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });
  const clientSide: number[] = [];
  /** Every answer the client got, warm-up included: the sidecars count those too. */
  const answers = { ok: 0, appFailed: 0, meshFailed: 0 };
  const pod = (name: string) => [...runtime.pods.values()].find((p) => p.input.name.startsWith(name)) as NonNullable<ReturnType<typeof runtime.pods.get>>;
  const send = async (from: string, path: string) => {
    const started = performance.now();
    const res = await request(`http://${pod(from).input.ip}:15001${path}`, { headers: { host: 'slow.lab' }, dispatcher: agent });
    await res.body.text();
    if (from === 'client') {
      if (res.statusCode < 500) answers.ok++;
      else if (res.headers['x-skiff-reason'] === undefined) answers.appFailed++;
      else answers.meshFailed++;
    }
    return { status: res.statusCode, ms: performance.now() - started };
  };
  const api = async (path: string) => {
    const res = await request(`http://127.0.0.1:${runtime.debugPort}/apis/metrics.smi-spec.io/v1alpha1${path}`);
    return { status: res.statusCode, body: await res.body.json() as Omit<TrafficMetricsList, 'kind'> & Omit<TrafficMetrics, 'kind'> & { kind: string } };
  };
  const value = (m: Pick<TrafficMetrics, 'metrics'> | undefined, name: string) => {
    const v = m?.metrics.find((x) => x.name === name)?.value;
    return v === undefined ? undefined : v.endsWith('m') ? Number(v.slice(0, -1)) / 1000 : Number(v);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-metrics-'));
    mkdirSync(join(dir, 'apps'));
    for (const [file, text] of Object.entries(FOLDER)) writeFileSync(join(dir, file), text);
    runtime = new LocalRuntime({ dir, controlPort: 0, debugPort: 0, subnet: (await claimSubnet(10, 49)).subnet }); // 127.10-49.x.x: apart from the other tests' ranges
    await runtime.start();
    await waitFor('every proxy applied its config', () => {
      const s = runtime.controller.proxyStatus();
      return s.length === 3 && s.every((p) => p.upToDate);
    }, 30_000);
    await waitFor('the slow service answers the client', async () => (await send('client', '/?ms=0')).status === 200, 30_000);
    // Let the warm-up requests' report go by, then send the measured load: 5 at a time.
    await new Promise((r) => setTimeout(r, 6000));
    const start = Date.now();
    for (let i = 0; i < SLOW; i += 5) {
      const batch = await Promise.all(delays.slice(i, i + 5).map((ms) => send('client', `/?ms=${ms}`)));
      for (const r of batch) {
        equal(r.status, 200);
        clientSide.push(r.ms);
      }
    }
    for (let i = 0; i < FAILED; i++) {
      const r = await send('client', '/fail');
      equal(r.status, 500);
      clientSide.push(r.ms);
    }
    for (let i = 0; i < DENIED; i++) equal((await send('stranger', '/?ms=0')).status, 403);
    ok(Date.now() - start < 50_000, 'the measured load fits in the 1-minute window the test reads');
  });
  after(async () => {
    await runtime?.stop();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('counts are exact at both ends: successes, failures (5xx), denials', async () => {
    // Each sidecar reports on its own clock: wait until both ends' reports are in.
    const complete = async () => {
      const one = await api('/namespaces/lab/deployments/slow?t=1m');
      const all = (await api('/namespaces/lab/deployments/slow/edges?t=1m')).body.items;
      const find = (direction: string, side: string, name: string) => all.find((e) => e.edge?.direction === direction && e.edge.side === side && e.edge.resource.name === name);
      // Every count at both ends: each sidecar's last requests may be in a later report than the rest.
      const done = value(one.body, 'success_count') === answers.ok && value(one.body, 'denied_count') === DENIED && value(one.body, 'failure_count') === FAILED
        && value(find('from', 'client', 'client'), 'success_count') === answers.ok && value(find('from', 'client', 'stranger'), 'denied_count') === DENIED
        && value(find('from', 'client', 'client'), 'failure_count') === answers.appFailed + answers.meshFailed;
      return done && { slow: one.body, edges: all };
    };
    const { slow, edges } = await waitFor('the reports of the load', complete, 20_000).catch(async (err: Error) => {
      throw new Error(`${err.message}: sent ${JSON.stringify(answers)}, the API says ${JSON.stringify((await api('/namespaces/lab/deployments/slow/edges?t=1m')).body.items.map((e) => [e.edge, e.metrics]))}`);
    });
    equal(answers.appFailed, FAILED);
    equal(slow.kind, 'TrafficMetrics');
    equal(value(slow, 'failure_count'), FAILED, 'the server saw the application\'s 500s only');
    deepStrictEqual(slow.resource, { kind: 'Deployment', namespace: 'lab', name: 'slow' });
    const edge = (direction: string, side: string, name: string) => edges.find((e) => e.edge?.direction === direction && e.edge.side === side && e.edge.resource.name === name);
    equal(value(edge('from', 'server', 'client'), 'success_count'), answers.ok, 'from the client, counted by the server');
    equal(value(edge('from', 'client', 'client'), 'success_count'), answers.ok, 'from the client, counted by the client');
    equal(value(edge('from', 'client', 'client'), 'failure_count'), answers.appFailed + answers.meshFailed, 'the client also counts the answers its own sidecar made');
    equal(value(edge('from', 'server', 'stranger'), 'denied_count'), DENIED, 'the stranger\'s denials, seen by the server');
    equal(value(edge('from', 'client', 'stranger'), 'denied_count'), DENIED, 'and by the stranger\'s own sidecar');
  });

  test('p50, p90 and p99 lie between what the application spent and what the client measured (5 % either way for the buckets)', async (t) => {
    const edges = (await api('/namespaces/lab/deployments/client/edges?t=1m')).body.items;
    const sent = edges.find((e) => e.edge?.direction === 'to' && e.edge.side === 'client' && e.edge.resource.name === 'slow');
    const received = edges.find((e) => e.edge?.direction === 'to' && e.edge.side === 'server' && e.edge.resource.name === 'slow');
    const sorted = clientSide.toSorted((a, b) => a - b);
    // The application waits exactly what each request asks (the failures at once): no sidecar can
    // measure less. The client's clock also runs outside the sidecars (its own event loop, the
    // hop to its sidecar), more so on a busy machine: no sidecar can measure more.
    const applicationSide = [...delays, ...Array.from({ length: FAILED }, () => 0)].toSorted((a, b) => a - b);
    for (const [q, name] of [[0.5, 'p50_response_latency'], [0.9, 'p90_response_latency'], [0.99, 'p99_response_latency']] as const) {
      const want = exact(sorted, q);
      const floor = exact(applicationSide, q);
      const got = value(sent, name) as number;
      const atServer = value(received, name) as number;
      t.diagnostic(`${name}: application ${floor} ms, client ${want.toFixed(1)} ms, client's sidecar ${got} ms (${((100 * (got - want)) / want).toFixed(1)} % of the client's), server's sidecar ${atServer} ms`);
      ok(got >= floor * 0.95 && got <= want * 1.05, `${name} at the client's sidecar: ${got} ms, the application spent ${floor} ms, the client measured ${want.toFixed(1)} ms`);
      // The server's sidecar starts its clock one hop later: never more.
      ok(atServer <= got * 1.01 && atServer >= floor * 0.95, `${name} at the server's sidecar: ${atServer} ms (client's sidecar ${got} ms, application ${floor} ms)`);
    }
  });

  test('kinds, selectors and discovery; bad requests are Status 400/404, never 500', async () => {
    const pods = (await api('/namespaces/lab/pods?t=1m&labelSelector=tier%3Dbackend')).body;
    deepStrictEqual(pods.items.map((i) => i.resource.name), [pod('slow').input.name]);
    const ns = (await api('/namespaces/lab?t=1m')).body;
    equal(value(ns, 'success_count'), answers.ok, 'the namespace sums its pods');
    const discovery = (await api('')).body as unknown as { kind: string; resources: { name: string }[] };
    equal(discovery.kind, 'APIResourceList');
    ok(discovery.resources.some((r) => r.name === 'trafficsplits/edges'));
    for (const [path, code] of [['/namespaces/lab/widgets', 404], ['/namespaces/lab/deployments/nothing', 404], ['/pods?t=banana', 400], ['/pods?t=10m', 400], ['/pods?labelSelector=a%3D(', 400], ['/namespaces/lab/deployments?labelSelector=app%3Dslow', 400]] as const) {
      const r = await api(path);
      equal(r.status, code, path);
      equal(r.body.kind, 'Status', path);
    }
  });

  test('skiff stat --local shows the same numbers', async () => {
    const lines: string[] = [];
    equal(await runStat(['deploy', '-n', 'lab', '-t', '1m', '--local', '--debug-port', String(runtime.debugPort), '-o', 'wide'], (l) => lines.push(l)), 0);
    const row = lines.find((l) => l.startsWith('slow '))?.split(/\s+/);
    ok(row, lines.join('\n'));
    equal(row[5], String(DENIED));
    equal(row[7], String(answers.ok), lines.join('\n'));
    equal(row[8], String(FAILED));
  });
});
