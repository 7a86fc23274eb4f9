/**
 * bench/scale: the control plane with a large mesh and thousands of real proxy connections.
 *
 * Method: a control plane process (MeshController + DistributionServer, the code `skiff
 * controller` runs, fed the generated snapshot of bench/generate-mesh.ts: 10,000 Services,
 * 50,000 meshed pods, 2,000 TrafficSplits) and CLIENTS real proxy connections (default 5,000)
 * in WORKERS processes. Each client is a pod of the mesh and behaves as a sidecar does: one
 * HTTP/2 connection with its workload certificate (mTLS), a config stream that resolves on
 * demand and takes deltas, a subscription for the hosts its application calls (what the
 * TrafficTargets let its identity call), every delta rebuilt and its hash checked, every
 * config acknowledged. The scenario is a control plane (re)starting under proxies that already
 * run: the mesh CA and every client's certificate and TLS context exist before the clock starts
 * (a sidecar builds its context once, on its own core), then the control plane process starts
 * and the clients connect as it listens, over ~5 s, each retrying as a sidecar does (backoff
 * with jitter; undici's 10 s connect timeout, as the sidecar's). Measured:
 *   - start: control plane process start → every client served its config with its Services,
 *     and how many connection attempts failed and were retried;
 *   - one weight change (one split) and a mesh-wide change (every split at once): from handing
 *     the edit to the controller to each subscribed client receiving it (p50/p99/max), the
 *     configs sent, bytes per subscriber;
 *   - the control plane's RSS and CPU.
 * The 50,000-connection figure is an extrapolation, printed with its arithmetic: the
 * per-connection memory and per-message CPU measured here, times 50,000.
 *
 *   npm run bench:scale        (CLIENTS=5000 WORKERS=4 ROUNDS=3; CONTROL_NODE_FLAGS="--cpu-prof" profiles the control plane)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { Client, request } from 'undici';
import type { ProxyConfig } from '../src/config/index.ts';
import { CertificateAuthority } from '../src/control/ca/authority.ts';
import { MeshController } from '../src/control/controller.ts';
import { DistributionServer } from '../src/control/distribute/server.ts';
import { backoffMs } from '../src/lib/backoff.ts';
import { CONTROLLER_NODE_FLAGS } from '../src/lib/controller-runtime.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../src/lib/csr.ts';
import { buildTopology } from '../src/model/index.ts';
import { acker, ACKS, readConfigStream } from './config-stream.ts';
import { cpuSeconds } from './process-cpu.ts';
import { clockMs } from './clock.ts';
import { keepTickObjectShape } from '../src/lib/tick-shape.ts';
import { generate, NAMESPACES, PODS_PER_SERVICE, SERVICES_PER_NS, withCanaryWeight } from './generate-mesh.ts';

const CLIENTS = Number(process.env.CLIENTS ?? 5000);
const WORKERS = Number(process.env.WORKERS ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const PORT = Number(process.env.SCALE_PORT ?? 15210);
const role = process.env.SCALE_ROLE ?? 'main';

interface ClientSpec { id: string; hosts: string[]; cert: string; key: string }
type ToMain =
  | { type: 'ready'; startedAt: number; buildMs: number }
  | { type: 'prepared' }
  | { type: 'retried'; error: string }
  | { type: 'edited'; round: string; at: number; expected: string[]; rebuildMs: number }
  | { type: 'usage'; rss: number; heap: number; cpu: number; bytes: { configs: number; deltas: number }; streams: number }
  | { type: 'served'; id: string; at: number }
  | { type: 'config'; id: string; hash: string; at: number; bytes: number };

function usage(): { rss: number; heap: number; cpu: number } {
  const u = process.resourceUsage();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, cpu: (u.userCPUTime + u.systemCPUTime) / 1e6 };
}

/** The clients: the pods of the first services of every namespace, CLIENTS in all; each calls what its identity may call. */
function clientSpecs(topology: ReturnType<typeof buildTopology>, ca: CertificateAuthority): ClientSpec[] {
  const callable = new Map<string, string[]>();
  for (const t of topology.targets) {
    const name = t.destination?.split('/sa/')[1];
    const ns = t.destination?.split('/ns/')[1]?.split('/')[0];
    if (!name || !ns) continue;
    for (const source of t.sources) callable.set(source, [...(callable.get(source) ?? []), `${name}.${ns}`]);
  }
  const perNamespace = Math.ceil(CLIENTS / NAMESPACES / PODS_PER_SERVICE);
  const keys = generateKeyPair();
  const key = privateKeyPem(keys.privateKey);
  const certs = new Map<string, string>();
  const clients: ClientSpec[] = [];
  for (let s = 1; s <= perNamespace && clients.length < CLIENTS; s++) {
    for (let n = 0; n < NAMESPACES && clients.length < CLIENTS; n++) {
      for (let p = 0; p < PODS_PER_SERVICE && clients.length < CLIENTS; p++) {
        const identity = `spiffe://cluster.local/ns/ns-${n}/sa/svc-${s}`;
        let cert = certs.get(identity);
        if (!cert) {
          cert = ca.issue(createCsr(keys, identity), identity, 3600_000).certificatePem;
          certs.set(identity, cert);
        }
        clients.push({ id: `ns-${n}/svc-${s}-${p}`, hosts: callable.get(identity) ?? [], cert, key });
      }
    }
  }
  return clients;
}

/** The control plane: the generated mesh, a controller, the distribution server; edits on request. */
async function control(): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  const startedAt = clockMs();
  let snapshot = generate();
  const t0 = performance.now();
  const controller = new MeshController({ debounceMs: 1, maxDelayMs: 5 });
  controller.update(snapshot);
  controller.rebuild();
  const buildMs = performance.now() - t0;
  // The mesh CA the proxies' certificates come from, kept in its state folder as across a restart.
  const ca = await CertificateAuthority.open({ trustDomain: 'cluster.local', stateDir: process.env.SCALE_CA_DIR as string });
  const server = new DistributionServer({ controller, ca, host: '127.0.0.1', port: PORT });
  await server.start();
  const send = (m: ToMain) => process.send?.(m);
  send({ type: 'ready', startedAt, buildMs });
  process.on('message', (m: { type: string; round?: string; all?: boolean; canary?: number; collect?: boolean }) => {
    if (m.type === 'usage') {
      // Before and after the connections the heap is measured after a full collection (garbage would count as memory held).
      if (m.collect) (globalThis as { gc?: () => void }).gc?.();
      let streams = 0;
      for (const r of controller.proxies.values()) if (r.connected > 0) streams++;
      send({ type: 'usage', ...usage(), bytes: { ...server.sentBytes }, streams });
      return;
    }
    if (m.type !== 'edit') return;
    snapshot = withCanaryWeight(snapshot, m.canary ?? 50, (ns, k) => m.all === true || (ns === 'ns-0' && k === 0));
    const at = clockMs();
    controller.once('changed', (ids) => {
      const expected = ids.filter((id) => (controller.proxies.get(id)?.connected ?? 0) > 0);
      send({ type: 'edited', round: m.round ?? '', at, expected, rebuildMs: clockMs() - at });
    });
    controller.update(snapshot);
  });
}

/** One worker: its share of the clients, each a sidecar's config stream and subscription. */
async function worker(): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  const { ca, specs } = await new Promise<{ ca: string; specs: ClientSpec[] }>((resolve) => process.once('message', resolve as (m: unknown) => void));
  const send = (m: ToMain) => process.send?.(m);
  // A sidecar builds its TLS context from its certificate once; here thousands of sidecars share
  // a process, so clients of one identity share it (building one per connection was a fifth of
  // a worker's CPU, time real sidecars spend on their own cores).
  const contexts = new Map<string, SecureContext>();
  const contextOf = (spec: ClientSpec) => {
    let context = contexts.get(spec.cert);
    if (!context) contexts.set(spec.cert, (context = createSecureContext({ ca, cert: spec.cert, key: spec.key, minVersion: 'TLSv1.3' })));
    return context;
  };
  for (const spec of specs) contextOf(spec);
  const base = `https://127.0.0.1:${PORT}`;
  const go = new Promise((resolve) => process.once('message', resolve));
  send({ type: 'prepared' });
  await go;
  await Promise.all(specs.map(async (spec, i) => {
    await new Promise((r) => setTimeout(r, i * 4)); // pods starting over a few seconds, not all in one instant
    // As a sidecar does: a refused or timed-out connection is tried again with backoff and jitter.
    for (let attempt = 0; ; attempt++) {
      try {
        await stream(spec);
        return;
      } catch (err) {
        send({ type: 'retried', error: (err as Error).message.replace(/\(attempted .*/, '').trim() });
        if (attempt >= 8) throw err;
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 100, 5000)));
      }
    }
  }).map((p) => p.catch((err: Error) => console.error(`client failed: ${err.message}`))));

  async function stream(spec: ClientSpec): Promise<void> {
    const client = new Client(base, { allowH2: true, connect: { secureContext: contextOf(spec), servername: 'localhost' } });
    const acks = acker(client, base, spec.id);
    const res = await request(`${base}/v1/config?proxy=${encodeURIComponent(spec.id)}&demand=1&udp=1&deltas=1`, { dispatcher: client, bodyTimeout: 0 });
    let held: ProxyConfig | undefined;
    let served: string | undefined;
    await readConfigStream(res.body, spec.id, clockMs, (config, arrived, bytes) => {
      held = config;
      acks.ack(config.hash).catch(() => undefined);
      if (served === undefined) {
        served = '';
        void request(`${base}/v1/subscribe`, { method: 'POST', dispatcher: client, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ proxy: spec.id, hosts: spec.hosts }) })
          .then(async (r) => {
            served = ((await r.body.json()) as { hash: string }).hash;
            if (held?.hash === served) send({ type: 'served', id: spec.id, at: clockMs() });
          });
        return;
      }
      if (served !== '' && config.hash === served) {
        send({ type: 'served', id: spec.id, at: arrived });
        served = '';
      }
      send({ type: 'config', id: spec.id, hash: config.hash, at: arrived, bytes });
    }).finally(() => acks.close());
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
  const messages: ((m: ToMain) => void)[] = [];
  const on = (m: ToMain) => { for (const f of messages) f(m); };
  const next = <T extends ToMain['type']>(type: T) => new Promise<Extract<ToMain, { type: T }>>((resolve) => {
    const f = (m: ToMain) => {
      if (m.type !== type) return;
      messages.splice(messages.indexOf(f), 1);
      resolve(m as Extract<ToMain, { type: T }>);
    };
    messages.push(f);
  });
  // Before the clock: the mesh CA, every client's certificate, and the client processes with their TLS contexts built.
  const caDir = mkdtempSync(join(tmpdir(), 'skiff-scale-ca-'));
  process.on('exit', () => rmSync(caDir, { recursive: true, force: true }));
  const ca = await CertificateAuthority.open({ trustDomain: 'cluster.local', stateDir: caDir });
  const clients = clientSpecs(buildTopology(generate()), ca);
  const served = new Map<string, number>();
  const latest = new Map<string, { hash: string; at: number; bytes: number }>();
  const retries = new Map<string, number>();
  const collect = (m: ToMain) => {
    if (m.type === 'served') served.set(m.id, m.at);
    if (m.type === 'config') latest.set(m.id, { hash: m.hash, at: m.at, bytes: m.bytes });
    if (m.type === 'retried') retries.set(m.error, (retries.get(m.error) ?? 0) + 1);
  };
  const workers: ChildProcess[] = [];
  const prepared: Promise<void>[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const part = clients.filter((_, i) => i % WORKERS === w);
    const child = fork(import.meta.filename, [], { env: { ...process.env, SCALE_ROLE: 'worker' }, execArgv: w === 0 ? (process.env.WORKER_NODE_FLAGS ?? '').split(' ').filter(Boolean) : [] });
    prepared.push(new Promise<void>((resolve) => child.on('message', (m: ToMain) => { if (m.type === 'prepared') resolve(); })));
    child.send({ ca: ca.trustBundle(), specs: part });
    child.on('message', collect);
    child.on('message', on);
    workers.push(child);
    children.push(child);
  }
  await Promise.all(prepared);
  // What the client processes spent preparing is not theirs to count below.
  const workersCpuBefore = cpuSeconds(workers.map((c) => c.pid as number));
  // The clock starts with the control plane's process.
  const ctl = fork(import.meta.filename, [], { env: { ...process.env, SCALE_ROLE: 'control', SCALE_CA_DIR: caDir }, execArgv: [...CONTROLLER_NODE_FLAGS, '--max-old-space-size=6000', '--expose-gc', ...(process.env.CONTROL_NODE_FLAGS ?? '').split(' ').filter(Boolean)] });
  children.push(ctl);
  ctl.on('message', on);
  const ready = await next('ready');
  // The model's memory, after a full collection (~0.3 s, inside the clock), before the clients go.
  ctl.send({ type: 'usage', collect: true });
  const idle = await next('usage');
  for (const w of workers) w.send({ type: 'go' });
  console.log(`bench/scale — Node ${process.version}; ${NAMESPACES * SERVICES_PER_NS} Services, ${NAMESPACES * SERVICES_PER_NS * PODS_PER_SERVICE} pods; ${clients.length} real proxy connections (HTTP/2 + mTLS, on demand, deltas, acks ${ACKS === 'stream' ? 'on the ack stream' : 'one POST each'}) in ${WORKERS} processes; control plane in its own process (${CONTROLLER_NODE_FLAGS.join(' ')})`);
  console.log(`control plane: generate + first rebuild ${(ready.buildMs / 1000).toFixed(1)} s`);
  console.log(`control plane before any connection: RSS ${mb(idle.rss)}`);
  const deadline = Date.now() + 300_000;
  while (served.size < clients.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (served.size < clients.length) throw new Error(`only ${served.size} of ${clients.length} clients were served`);
  const lastServed = Math.max(...served.values());
  ctl.send({ type: 'usage' });
  const atServed = await next('usage');
  const workersCpu = cpuSeconds(workers.map((c) => c.pid as number)) - workersCpuBefore;
  const connectMs = lastServed - (ready.startedAt + ready.buildMs);
  console.log(`start → every client served its Services: ${((lastServed - ready.startedAt) / 1000).toFixed(1)} s   (target ≤ 30 s; ${((lastServed - ready.startedAt - ready.buildMs) / 1000).toFixed(1)} s after the first rebuild)`);
  // What bounds it here: the clients' processes share the cores with the control plane.
  const retried = [...retries.values()].reduce((a, b) => a + b, 0);
  console.log(`  connection attempts that failed and were retried: ${retried}${retried ? ` (${[...retries].map(([e, n]) => `${n} × ${e}`).join('; ')})` : ''}`);
  console.log(`  CPU while the clients connected: control plane ${(atServed.cpu - idle.cpu).toFixed(1)} s, the ${WORKERS} client processes ${workersCpu.toFixed(1)} s, of ${((cpus().length * connectMs) / 1000).toFixed(1)} s the machine's ${cpus().length} cores had`);
  await new Promise((r) => setTimeout(r, 2000));
  ctl.send({ type: 'usage', collect: true });
  const steady = await next('usage');
  console.log(`control plane steady: RSS ${mb(steady.rss)} with ${steady.streams} streams   (target ≤ 1 GB); JS heap in use ${mb(steady.heap)}, ${mb(idle.heap)} before any connection`);
  for (const all of [false, true]) {
    for (let round = 0; round < ROUNDS; round++) {
      ctl.send({ type: 'usage' });
      const before = await next('usage');
      ctl.send({ type: 'edit', round: String(round), all, canary: 20 + round * 10 + (all ? 5 : 0) });
      const edited = await next('edited');
      const prior = new Map(edited.expected.map((id) => [id, latest.get(id)?.hash]));
      const until = Date.now() + 60_000;
      while (edited.expected.some((id) => latest.get(id)?.hash === prior.get(id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const times = edited.expected.map((id) => (latest.get(id)?.at ?? NaN) - edited.at);
      ctl.send({ type: 'usage' });
      const after = await next('usage');
      const bytes = after.bytes.deltas + after.bytes.configs - before.bytes.deltas - before.bytes.configs;
      const n = Math.max(1, edited.expected.length);
      console.log(`  ${all ? 'every split (2,000 at once)' : 'one split'} round ${round + 1}: ${edited.expected.length} subscribed clients; edit → received p50 ${pct(times, 50).toFixed(0)} ms, p99 ${pct(times, 99).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (rebuild ${edited.rebuildMs.toFixed(0)} ms); ${(bytes / n).toFixed(0)} bytes per subscriber (${after.bytes.configs - before.bytes.configs} in whole configs); control CPU ${(after.cpu - before.cpu).toFixed(2)} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  ctl.send({ type: 'usage' });
  const end = await next('usage');
  const perStream = (steady.rss - idle.rss) / Math.max(1, steady.streams);
  console.log(`control plane at the end: RSS ${mb(end.rss)}, CPU ${end.cpu.toFixed(1)} s in all`);
  console.log(`extrapolation to 50,000 connections: RSS without streams ${mb(idle.rss)} (the mesh model: the same for any number of proxies) + ${(perStream / 1024).toFixed(0)} KB per stream measured here × 50,000 = ${mb(idle.rss + perStream * 50_000)}; a weight change costs per subscriber, not per connection`);
  // The processes stop on their own (a --cpu-prof profile is written at exit), at most 5 s.
  const exited = children.map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of children) c.kill('SIGTERM');
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 5000).unref())]);
  process.exit(0);
}

if (role === 'control') await control();
// A worker's clients stand in for sidecars, which keep a tick object from start (src/lib/tick-shape.ts).
else if (role === 'worker') { keepTickObjectShape(); await worker(); }
else await main().catch((err) => {
  console.error(err);
  process.exit(1);
});
