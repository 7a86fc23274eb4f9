/**
 * bench/propagation: how fast a TrafficSplit edit reaches every sidecar.
 *
 * Method: a control plane (`skiff up --control-plane-only`, its own process) watches a folder
 * with one Deployment of N meshed client replicas (default 1,000), two backends and a
 * TrafficSplit. N real config-stream clients (Server-Sent Events over mTLS with a workload
 * certificate from the control plane's CA, undici) run in WORKERS child processes (default 4,
 * so the clients' own decoding does not queue behind one event loop). Each behaves as a
 * sidecar does: it resolves on demand (its first call to `web` subscribes to it), takes
 * deltas and rebuilds the config from them (hash checked), and acknowledges every config as
 * the sidecar does (on its ack stream, 150 ms later; ACKS=post: one POST /v1/ack each at
 * once, as sidecars before the ack stream; ACK_DELAY_MS=0: on the ack stream at once). Each
 * round rewrites the split's weights in the YAML file and measures, from the file write, the
 * time until the control plane wrote the last config to its connection (its own part:
 * /debug/proxies' sentAt), until each client received the new config, and until the control
 * plane recorded the last ack. The clients share the machine's cores with the control plane,
 * so what they spend decoding, checking and acking (a sidecar does it on its own core) delays
 * the others. Times are on one clock for every process (bench/clock.ts); a worker keeps its
 * clients' arrival times and sends them in one message once all of them have the new config.
 * WARMUP changes (default 5) come first, reported apart: V8 compiles what a change runs once
 * it ran often enough, which a control plane that has run a while has done. Reported:
 * p50/p99/max over clients per round, the median round of ROUNDS consecutive changes
 * (default 11), the best and worst, control-plane CPU seconds and RSS, and where a round's CPU
 * went.
 *
 *   npm run bench:propagation      (CLIENTS=1000 ROUNDS=11 WARMUP=5 WORKERS=4;
 *                                   CONTROL_NODE_FLAGS="--cpu-prof" to profile the control plane)
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { Client, request } from 'undici';
import { createSecureContext } from 'node:tls';
import { ACK_DELAY, acker, ACKS, readConfigStream } from './config-stream.ts';
import { anchorNow, clockMs, fromWall } from './clock.ts';
import { createCertificate, readCsr } from '../src/lib/x509.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../src/lib/csr.ts';
import { keepTickObjectShape } from '../src/lib/tick-shape.ts';

const CLIENTS = Number(process.env.CLIENTS ?? 1000);
const WORKERS = Number(process.env.WORKERS ?? 4);
const now = clockMs;
const ROUNDS = Number(process.env.ROUNDS ?? 11);
const WARMUP = Number(process.env.WARMUP ?? 5);
const ROOT = join(import.meta.dirname, '..');
const isWorker = process.env.PROP_WORKER === '1';
const dir = isWorker ? (process.env.PROP_DIR as string) : mkdtempSync(join(tmpdir(), 'skiff-prop-'));
const CONTROL = 15110;
const DEBUG = 15120;

const split = (a: number, b: number) => `apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: web\n  namespace: bench\nspec:\n  service: web\n  backends:\n  - service: web-v1\n    weight: ${a}\n  - service: web-v2\n    weight: ${b}\n`;
const svc = (name: string, extra: string) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: bench\nspec:\n  selector:\n    app: web\n${extra}  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n`;
const dep = (name: string, replicas: number, labels: string, port: boolean) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: bench\nspec:\n  replicas: ${replicas}\n  template:\n    metadata:\n      labels:\n${labels}    spec:\n      serviceAccountName: ${name.startsWith('web') ? 'web' : 'client'}\n      containers:\n      - name: app\n${port ? '        ports:\n        - containerPort: 8080\n' : ''}`;
if (!isWorker) writeFileSync(join(dir, 'mesh.yaml'), [
  'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench\n  annotations:\n    skiff.dev/access: permissive\n',
  svc('web', ''), svc('web-v1', '    version: v1\n'), svc('web-v2', '    version: v2\n'),
  dep('web-v1', 1, '        app: web\n        version: v1\n', true), dep('web-v2', 1, '        app: web\n        version: v2\n', true),
  dep('client', CLIENTS, '        app: client\n', false),
].join('---\n'));
if (!isWorker) writeFileSync(join(dir, 'split.yaml'), split(50, 50));

const control = isWorker ? undefined : spawn(process.execPath, [...(process.env.CONTROL_NODE_FLAGS ?? '').split(' ').filter(Boolean), join(ROOT, 'bin/skiff.mjs'), 'up', dir, '--control-plane-only', '--control-port', String(CONTROL), '--debug-port', String(DEBUG), '--refresh', '3600'], { stdio: ['ignore', 'ignore', 'inherit'] });
process.on('exit', () => control?.kill('SIGKILL'));

function proc(pid: number): { cpu: number; rss: number; hwm: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { cpu: (Number(stat[11]) + Number(stat[12])) / 100, rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;

async function main(): Promise<void> {
  await until('the control plane is up', async () => {
    try {
      const res = await request(`http://127.0.0.1:${DEBUG}/debug/proxies`);
      return ((await res.body.json()) as unknown[]).length === CLIENTS + 2;
    } catch {
      return false;
    }
  });
  const received = new Map<string, { hash: string; at: number }>();
  let acked = 0;
  let bytes = 0;
  const workers = Array.from({ length: WORKERS }, (_, w) => {
    const child = fork(import.meta.filename, [], { env: { ...process.env, PROP_WORKER: '1', PROP_DIR: dir, PROP_FROM: String(Math.floor((w * CLIENTS) / WORKERS)), PROP_TO: String(Math.floor(((w + 1) * CLIENTS) / WORKERS)) } });
    child.on('message', (batch: { id: string; hash: string; at: number; bytes: number }[]) => {
      for (const m of batch) {
        received.set(m.id, { hash: m.hash, at: m.at });
        bytes += m.bytes;
        acked++;
      }
    });
    return child;
  });
  process.on('exit', () => { for (const w of workers) w.kill('SIGKILL'); });
  await until('every client has its first config', () => received.size === CLIENTS && acked >= CLIENTS);
  const pid = control?.pid as number;
  console.log(`bench/propagation — Node ${process.versions.node}; ${CLIENTS} stream clients (SSE over mTLS, undici, HTTP/2; acks ${ACKS === 'stream' ? `on the ack stream, ${ACK_DELAY} ms after their config` : 'one POST each'}) in ${WORKERS} processes + 2 backends; control plane in its own process; ${WARMUP} changes to warm up, then ${ROUNDS} rounds`);
  type Round = { p50: number; p99: number; max: number; lastAck: number; lastSent: number };
  /** One change: the split's weights rewritten, then every client's new config and every ack awaited. */
  const change = async (round: number): Promise<Round> => {
    const previous = new Map([...received].map(([id, r]) => [id, r.hash]));
    const ackedBefore = acked;
    const weight = 10 + (round % 9) * 10; // 10 … 90, again from 10: every round a new version
    const anchor = anchorNow();
    const t0 = anchor.clock;
    writeFileSync(join(dir, 'split.yaml'), split(100 - weight, weight));
    await until('every client got the new config', () => [...received].every(([id, r]) => r.hash !== previous.get(id)), 30_000);
    let status: { proxy: string; upToDate: boolean; sentAt: string | null }[] = [];
    // An ack on the ack stream is written ACK_DELAY after its config: asked only then (each answer costs the control plane ~8 ms).
    if (ACKS === 'stream') await new Promise((r) => setTimeout(r, ACK_DELAY));
    await until('the control plane recorded every ack', async () => {
      if (acked - ackedBefore < CLIENTS) return false;
      const res = await request(`http://127.0.0.1:${DEBUG}/debug/proxies`);
      status = ((await res.body.json()) as typeof status).filter((p) => p.proxy.startsWith('bench/client'));
      return status.every((p) => p.upToDate);
    }, 30_000);
    const lastAck = now() - t0;
    const times = [...received.values()].map((r) => r.at - t0);
    // The control plane's own part: file write → the last config handed to its connection (the rest is the clients, on the same cores).
    const lastSent = Math.max(...status.map((p) => fromWall(Date.parse(p.sentAt ?? ''), anchor) - t0));
    await new Promise((r) => setTimeout(r, 300));
    return { p50: pct(times, 50), p99: pct(times, 99), max: Math.max(...times), lastAck, lastSent };
  };
  // V8 compiles what a change runs (the folder's reading, the rebuild, the writes) after it ran
  // often enough: the first changes of a fresh control plane pay for that, one that has run a while does not.
  for (let round = 0; round < WARMUP; round++) console.log(`  warm-up change ${round + 1}: received p99 ${(await change(round)).p99.toFixed(0)} ms`);
  const before = proc(pid);
  const clientsBefore = workers.reduce((sum, w) => sum + proc(w.pid as number).cpu, 0);
  const selfBefore = process.cpuUsage();
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bytesBefore = bytes;
    const r = await change(WARMUP + round);
    rounds.push(r);
    console.log(`  round ${round + 1}: file write → last config written by the control plane ${r.lastSent.toFixed(0)} ms; → received p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms; → last ack recorded ${r.lastAck.toFixed(0)} ms; ${((bytes - bytesBefore) / CLIENTS).toFixed(0)} bytes per client`);
  }
  const after = proc(pid);
  const clientsCpu = workers.reduce((sum, w) => sum + proc(w.pid as number).cpu, 0) - clientsBefore;
  const selfCpu = process.cpuUsage(selfBefore);
  const med = (k: 'p50' | 'p99' | 'lastAck' | 'lastSent') => pct(rounds.map((r) => r[k]), 50);
  console.log(`median round: last config written ${med('lastSent').toFixed(0)} ms; received p50 ${med('p50').toFixed(0)} ms, p99 ${med('p99').toFixed(0)} ms, last ack ${med('lastAck').toFixed(0)} ms   (target p99 ≤ 100 ms; OSM batches 2-10 s, Traefik Mesh polls every 5 s)`);
  console.log(`received p99 over the rounds: best ${Math.min(...rounds.map((r) => r.p99)).toFixed(0)} ms, worst ${Math.max(...rounds.map((r) => r.p99)).toFixed(0)} ms; ${rounds.filter((r) => r.p99 <= 100).length} of ${ROUNDS} rounds within 100 ms`);
  console.log(`control plane: ${(after.cpu - before.cpu).toFixed(2)} CPU s over ${ROUNDS} rounds (${((after.cpu - before.cpu) / ROUNDS * 1000).toFixed(0)} ms per change), RSS ${after.rss.toFixed(0)} MB, peak ${after.hwm.toFixed(0)} MB`);
  // Where a round's CPU goes: what the machine's cores spend on all of it bounds how soon the last client can have its config.
  const perRound = (s: number) => `${((s / ROUNDS) * 1000).toFixed(0)} ms`;
  console.log(`CPU per round: control plane ${perRound(after.cpu - before.cpu)}, the ${CLIENTS} clients ${perRound(clientsCpu)} (${(clientsCpu / ROUNDS / CLIENTS * 1e6).toFixed(0)} µs each: TLS, HTTP/2, the delta applied and its hash checked, the ack), this process ${perRound((selfCpu.user + selfCpu.system) / 1e6)} (reports, polling /debug/proxies); ${availableParallelism()} cores`);
  for (const w of workers) w.kill('SIGTERM');
  // Let the control plane stop on its own (a --cpu-prof profile is written at exit), at most 5 s.
  await new Promise((r) => { control?.once('exit', r); control?.kill('SIGTERM'); setTimeout(r, 5000).unref(); });
  process.exit(0);
}

/** A worker: streams for clients [PROP_FROM, PROP_TO), acking every config and telling the parent when it arrived. */
async function worker(): Promise<void> {
  const caDir = join(dir, '.skiff', 'ca');
  const caPem = readFileSync(join(caDir, 'ca.pem'), 'utf8');
  const keys = generateKeyPair();
  const cert = createCertificate({ commonName: 'client', publicKey: readCsr(createCsr(keys, 'client')).publicKey, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3600_000), isCA: false, uris: ['spiffe://cluster.local/ns/bench/sa/client'] }, { certificatePem: caPem, privateKey: createPrivateKey(readFileSync(join(caDir, 'ca-key.pem'), 'utf8')) });
  // Clients share one TLS context (a sidecar builds its own once, on its own core); each has its own HTTP/2 connection, as a sidecar does.
  const context = createSecureContext({ ca: caPem, cert, key: privateKeyPem(keys.privateKey), minVersion: 'TLSv1.3' });
  const base = `https://127.0.0.1:${CONTROL}`;
  // What arrived is kept here (the time taken on arrival) and goes to the parent in one message once every client of this
  // worker has a new config: the bench's own bookkeeping stays off the cores while the configs are on their way.
  const from = Number(process.env.PROP_FROM);
  const count = Number(process.env.PROP_TO) - from;
  let batch = new Map<string, { id: string; hash: string; at: number; bytes: number }>();
  const report = (m: { id: string; hash: string; at: number; bytes: number }) => {
    batch.set(m.id, m);
    if (batch.size < count) return;
    process.send?.([...batch.values()]);
    batch = new Map();
  };
  for (let i = from; i < from + count; i++) {
    const id = `bench/client-${i}`;
    void (async () => {
      const channel = new Client(base, { allowH2: true, connect: { secureContext: context, servername: 'localhost' }, keepAliveTimeout: 60_000 });
      const acks = acker(channel, base, id);
      const res = await request(`${base}/v1/config?proxy=${encodeURIComponent(id)}&demand=1&udp=1&deltas=1`, { dispatcher: channel, bodyTimeout: 0 });
      let subscribed = false;
      await readConfigStream(res.body, id, now, async (config, at, bytes) => {
        await acks.ack(config.hash);
        if (!subscribed) {
          // The application's first call to web: the proxy asks for it, as on-demand.ts does.
          subscribed = true;
          const sub = await request(`${base}/v1/subscribe`, { method: 'POST', dispatcher: channel, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ proxy: id, hosts: ['web'] }) });
          await sub.body.dump();
          return;
        }
        report({ id, hash: config.hash, at, bytes });
      });
    })().catch(() => undefined);
  }
}

if (isWorker) {
  // The clients stand in for sidecars, which keep a tick object from start (src/lib/tick-shape.ts).
  keepTickObjectShape();
  // Stop on SIGTERM by exiting, so a --cpu-prof profile (NODE_OPTIONS) is written.
  process.on('SIGTERM', () => process.exit(0));
  await worker();
} else {
  await main().catch((err) => {
    console.error(err);
    control?.kill('SIGKILL');
    process.exit(1);
  });
}
