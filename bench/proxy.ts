/**
 * bench/proxy: latency Skiff adds per hop, throughput on one core, CPU per request and memory,
 * side by side with nginx and HAProxy in the same run.
 *
 * Method (printed with the results):
 * - origin: nginx, 1 worker, answering 1 KiB on 127.0.50.1:8080, pinned to CPU 0 with the load tool;
 * - direct: fortio → origin;
 * - skiff mTLS (2 hops): fortio → client sidecar (outbound) → mTLS → server sidecar (inbound, strict
 *   access control, TrafficTarget check) → origin; both sidecars pinned to CPU 1;
 * - skiff 1 hop: fortio → sidecar (outbound) → origin in plain HTTP, pinned to CPU 1;
 * - nginx / HAProxy: one worker / one thread, plain proxying with upstream keep-alive, pinned to CPU 1;
 * - warm-up: WARMUP seconds (default 10) at 2,000 rps through every target first, so the JIT has
 *   compiled the hot path (measured: without it the first 1,000 rps round shows ~15 ms p99 per
 *   hop, after it under 1 ms);
 * - latency: fortio -uniform -qps R -c 16 for DURATION seconds (constant rate, evenly spaced),
 *   p50/p90/p99/max; "added per hop" = (proxied − direct) / hops at each percentile;
 * - throughput: fortio -qps 0 -c 32 for 10 s (closed loop) through one proxy on one core;
 * - CPU: user+system seconds of the proxy processes during the run, per 1,000 requests;
 * - memory: RSS and peak RSS (VmHWM) of each sidecar process after the runs;
 * - gRPC: fortio's gRPC ping server as origin (CPU 0), `fortio load -grpc -ping` at GRPC_RATE
 *   (default 1000) calls/s, 4 connections × 4 streams, direct vs the same two sidecars (h2c from
 *   fortio, h2 over mTLS between them, h2c to the origin) vs one plain hop vs nginx `grpc_pass`.
 *
 *   npm run bench:proxy            (DURATION=15 RATES=1000,5000 by default; ONLY=grpc for the gRPC rows)
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { PORTS } from '../src/lib/ports.ts';
import { buildTopology } from '../src/model/index.ts';
import { parseYamlText } from '../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../src/sources/files/snapshot.ts';
import { translateAll } from '../src/translate/index.ts';
import { request } from 'undici';
import { createTestPki } from '../test/support/pki.ts';

const ROOT = join(import.meta.dirname, '..');
const DURATION = Number(process.env.DURATION ?? 15);
const RATES = (process.env.RATES ?? '1000,5000').split(',').filter(Boolean).map(Number);
const WARMUP = Number(process.env.WARMUP ?? 10);
const FORTIO = execFileSync('bash', [join(ROOT, 'scripts/bench-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('=')[1] as string;
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
const children: ChildProcess[] = [];
const ADDR = { origin: '127.0.50.1', client: '127.0.50.2', oneHop: '127.0.50.3', nginx: '127.0.50.4', haproxy: '127.0.50.5' };

function start(name: string, cpu: number, command: string, args: string[]): ChildProcess {
  const child = spawn('taskset', ['-c', String(cpu), command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => { err += String(d); });
  child.on('exit', (code) => { if (code && code !== 0 && !stopping) process.stderr.write(`${name} exited ${code}: ${err.slice(-2000)}\n`); });
  children.push(child);
  return child;
}
let stopping = false;
function stopAll(): void {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
}
process.on('exit', stopAll);

function nginxConf(listen: string, body: string): string {
  return `worker_processes 1; daemon off; pid ${dir}/nginx-${listen}.pid; error_log /dev/null crit;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000; ${body} }`;
}

const GRPC_PORT = 8079;
const GRPC_RATE = Number(process.env.GRPC_RATE ?? 1000);
/** `ONLY=grpc`: the gRPC rows alone (the HTTP rows take most of the run). */
const GRPC_ONLY = process.env.ONLY === 'grpc';

function mesh(meshed: boolean): string {
  const inject = meshed ? '' : '      annotations:\n        skiff.dev/inject: "false"\n';
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    skiff.dev/access: strict\n---
apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---
apiVersion: v1\nkind: Service\nmetadata:\n  name: ping\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: grpc\n    port: ${GRPC_PORT}\n    targetPort: ${GRPC_PORT}\n    appProtocol: grpc\n---
apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    metadata:\n${inject}      labels:\n        app: web\n    spec:\n      serviceAccountName: web\n      containers:\n      - name: app\n        ports:\n        - containerPort: 8080\n        - containerPort: ${GRPC_PORT}\n---
apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: client\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app: client\n    spec:\n      serviceAccountName: client\n      containers:\n      - name: app\n---
apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: all\n  namespace: shop\nspec:\n  matches:\n    ports: []\n---
apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-web\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: web\n  rules:\n  - kind: TCPRoute\n    name: all\n  sources:\n  - kind: ServiceAccount\n    name: client\n`;
}

function configsFor(meshed: boolean, clientAddress: string) {
  const { documents } = parseYamlText('bench.yaml', mesh(meshed));
  const snapshot = snapshotFromDocuments(documents.map((d) => d.value), { allocate: (_ns, pod) => (pod.startsWith('web') ? ADDR.origin : clientAddress) });
  return translateAll(buildTopology(snapshot));
}

function sidecar(name: string, config: unknown, address: string, certDir: string | undefined, appHost = ADDR.origin): { child: ChildProcess; outbound: string } {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const nodeFlags = (process.env.SKIFF_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const args = [join(ROOT, 'node_modules/node/bin/node'), ...nodeFlags, join(ROOT, 'bin/skiff.mjs'), 'proxy', '--config', file, '--inbound', `${address}:${PORTS.inbound}`, '--outbound', `${address}:${PORTS.outbound}`, '--admin', `${address}:${PORTS.admin}`, '--health', `${address}:${PORTS.health}`, '--app-host', appHost];
  if (certDir) args.push('--certs', certDir);
  const [command, ...rest] = args;
  return { child: start(name, 1, command as string, rest), outbound: `${address}:${PORTS.outbound}` };
}

async function waitHttp(url: string, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await request(url, { headers });
      await res.body.text();
      if (res.statusCode === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const last = await request(url, { headers }).then(async (r) => `${r.statusCode} ${JSON.stringify(r.headers)} ${await r.body.text()}`, (e: Error) => e.message);
  throw new Error(`${url} never answered 200 (last: ${last})`);
}

function cpuSeconds(pids: number[]): number {
  const tick = 100;
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return sum + (Number(fields[11]) + Number(fields[12])) / tick;
  }, 0);
}

function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

interface FortioResult { qps: number; count: number; p50: number; p90: number; p99: number; max: number; errors: number }

function fortio(url: string, qps: number, connections: number, seconds: number): FortioResult {
  const out = join(dir, `fortio-${Date.now()}.json`);
  // -uniform spaces requests evenly in time (a constant-rate, open-loop arrival process) instead
  // of firing all connections at once every tick.
  const pacing = qps > 0 ? ['-uniform'] : [];
  execFileSync('taskset', ['-c', '0', FORTIO, 'load', '-quiet', ...pacing, '-qps', String(qps), '-c', String(connections), '-t', `${seconds}s`, '-json', out, '-H', 'Host: web.shop', url], { stdio: 'ignore' });
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const pct = (p: number) => (r.DurationHistogram.Percentiles.find((x: { Percentile: number }) => x.Percentile === p)?.Value ?? NaN) * 1000;
  const ok = r.RetCodes?.['200'] ?? 0;
  return { qps: r.ActualQPS, count: r.DurationHistogram.Count, p50: pct(50), p90: pct(90), p99: pct(99), max: r.DurationHistogram.Max * 1000, errors: r.DurationHistogram.Count - ok };
}

/** fortio's gRPC ping load at `qps` against host:port, with `ping.shop` as the authority. */
function fortioGrpc(target: string, qps: number, seconds: number): FortioResult {
  const out = join(dir, `fortio-grpc-${Date.now()}.json`);
  const run = spawnSync('taskset', ['-c', '0', FORTIO, 'load', '-grpc', '-ping', '-uniform', '-qps', String(qps), '-c', '4', '-s', '4', '-t', `${seconds}s`, '-json', out, '-H', `host: ping.shop:${GRPC_PORT}`, target], { encoding: 'utf8' });
  const log = `${run.stdout}${run.stderr}`;
  if (process.env.GRPC_ERRORS) for (const line of log.split('\n').filter((l) => /rror|fail/i.test(l)).slice(0, 5)) console.log(`    ${line.slice(0, 300)}`);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const pct = (p: number) => (r.DurationHistogram.Percentiles.find((x: { Percentile: number }) => x.Percentile === p)?.Value ?? NaN) * 1000;
  const errors = r.DurationHistogram.Count - (r.RetCodes?.SERVING ?? 0);
  if (errors > 0) console.log(`    (${target}: ${JSON.stringify(r.RetCodes)})`);
  return { qps: r.ActualQPS, count: r.DurationHistogram.Count, p50: pct(50), p90: pct(90), p99: pct(99), max: r.DurationHistogram.Max * 1000, errors };
}

async function main(): Promise<void> {
  const body = 'x'.repeat(1024);
  writeFileSync(join(dir, 'origin.conf'), nginxConf('origin', `server { listen ${ADDR.origin}:8080 reuseport; location / { return 200 '${body}'; } }`));
  writeFileSync(join(dir, 'nginx.conf'), nginxConf('proxy', `upstream o { server ${ADDR.origin}:8080; keepalive 64; } server { listen ${ADDR.nginx}:8080; location / { proxy_pass http://o; proxy_http_version 1.1; proxy_set_header Connection ""; } }
upstream g { server ${ADDR.origin}:${GRPC_PORT}; keepalive 64; } server { listen ${ADDR.nginx}:${GRPC_PORT} http2; location / { grpc_pass grpc://g; } }`));
  writeFileSync(join(dir, 'haproxy.cfg'), `global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  option http-keep-alive\nfrontend f\n  bind ${ADDR.haproxy}:8080\n  default_backend o\nbackend o\n  http-reuse always\n  server s ${ADDR.origin}:8080\n`);
  start('origin', 0, 'nginx', ['-c', join(dir, 'origin.conf'), '-p', dir]);
  start('grpc origin', 0, FORTIO, ['server', '-http-port', `${ADDR.origin}:8089`, '-grpc-port', `${ADDR.origin}:${GRPC_PORT}`, '-redirect-port', 'disabled', '-tcp-port', 'disabled', '-udp-port', 'disabled']);
  const nginx = start('nginx', 1, 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
  const haproxy = start('haproxy', 1, 'haproxy', ['-f', join(dir, 'haproxy.cfg')]);

  const pki = createTestPki();
  const meshed = configsFor(true, ADDR.client);
  const certs = (name: string, id: string) => { const d = join(dir, `certs-${name}`); mkdirSync(d, { recursive: true }); pki.issue(d, id, 24 * 3600_000); return d; };
  const server = sidecar('server', meshed.get('shop/web-0'), ADDR.origin, certs('server', 'spiffe://cluster.local/ns/shop/sa/web'));
  const client = sidecar('client', meshed.get('shop/client-0'), ADDR.client, certs('client', 'spiffe://cluster.local/ns/shop/sa/client'));
  const plain = configsFor(false, ADDR.oneHop);
  const oneHop = sidecar('one-hop', plain.get('shop/client-0'), ADDR.oneHop, undefined);

  const targets = [
    { name: 'direct', url: `http://${ADDR.origin}:8080/`, hops: 0, pids: [] as number[] },
    { name: 'skiff mTLS (2 hops)', url: `http://${client.outbound}/`, hops: 2, pids: [client.child.pid as number, server.child.pid as number] },
    { name: 'skiff 1 hop (plain)', url: `http://${oneHop.outbound}/`, hops: 1, pids: [oneHop.child.pid as number] },
    { name: 'nginx (1 worker)', url: `http://${ADDR.nginx}:8080/`, hops: 1, pids: [] as number[] },
    { name: 'haproxy (1 thread)', url: `http://${ADDR.haproxy}:8080/`, hops: 1, pids: [haproxy.pid as number] },
  ];
  for (const t of targets) await waitHttp(t.url, { host: 'web.shop' });
  const nginxWorker = Number(execFileSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
  (targets[3] as { pids: number[] }).pids = [nginxWorker];

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`bench/proxy — Node ${process.versions.node}, ${cpu}, ${cpus().length} cores; nginx ${execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || '1.22'}; fortio 1.63.0`);
  console.log(`origin: nginx 1 worker, 1 KiB body; load: fortio -uniform on CPU 0, proxies on CPU 1; ${DURATION}s per rate, 16 connections; warm-up ${WARMUP}s at 2000 rps per target once, then 3s before each measurement\n`);
  const fmt = (n: number) => n.toFixed(2).padStart(8);
  // Node's JIT needs a few seconds of traffic before the hot path is compiled: measure steady state.
  if (!GRPC_ONLY) {
    for (const t of targets) fortio(t.url, 2000, 16, WARMUP);
    for (const rate of RATES) {
      console.log(`rate ${rate} rps: latency in ms (p50 / p90 / p99 / max), added per hop vs direct, CPU s per 1k requests`);
      let direct: FortioResult | undefined;
      for (const t of targets) {
        fortio(t.url, rate, 16, 3);
        const before = cpuSeconds(t.pids);
        const r = fortio(t.url, rate, 16, DURATION);
        const used = cpuSeconds(t.pids) - before;
        if (t.hops === 0) direct = r;
        const added = direct && t.hops > 0 ? `added/hop p50 ${((r.p50 - direct.p50) / t.hops).toFixed(3)} p90 ${((r.p90 - direct.p90) / t.hops).toFixed(3)} p99 ${((r.p99 - direct.p99) / t.hops).toFixed(3)}` : '';
        console.log(`  ${t.name.padEnd(22)} ${fmt(r.p50)} ${fmt(r.p90)} ${fmt(r.p99)} ${fmt(r.max)}  qps ${r.qps.toFixed(0).padStart(5)} errors ${r.errors}  ${added}${t.pids.length ? `  cpu ${(used / (r.count / 1000)).toFixed(3)} s/1k` : ''}`);
      }
    }
    console.log('\nmax throughput, closed loop (fortio -qps 0 -c 32, 10s), one proxy on one core:');
    for (const t of targets.filter((x) => x.hops === 1 || x.hops === 0)) {
      const r = fortio(t.url, 0, 32, 10);
      console.log(`  ${t.name.padEnd(22)} ${r.qps.toFixed(0).padStart(7)} rps  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`);
    }
    const r2 = fortio(targets[1]?.url as string, 0, 32, 10);
    console.log(`  ${'skiff mTLS (2 hops)'.padEnd(22)} ${r2.qps.toFixed(0).padStart(7)} rps  (both sidecars share CPU 1)`);
  }
  console.log(`\ngRPC ping (fortio -grpc -ping -uniform -qps ${GRPC_RATE} -c 4 -s 4, ${DURATION}s): latency in ms (p50 / p90 / p99 / max), added per hop vs direct, CPU s per 1k calls`);
  const grpcTargets = [
    { name: 'direct', target: `${ADDR.origin}:${GRPC_PORT}`, hops: 0, pids: [] as number[] },
    { name: 'skiff mTLS (2 hops)', target: client.outbound, hops: 2, pids: targets[1]?.pids ?? [] },
    { name: 'skiff 1 hop (plain)', target: oneHop.outbound, hops: 1, pids: targets[2]?.pids ?? [] },
    { name: 'nginx grpc_pass', target: `${ADDR.nginx}:${GRPC_PORT}`, hops: 1, pids: [nginxWorker] },
  ];
  let grpcDirect: FortioResult | undefined;
  for (const t of grpcTargets) fortioGrpc(t.target, 2000, WARMUP);
  for (const t of grpcTargets) {
    fortioGrpc(t.target, GRPC_RATE, 3);
    const before = cpuSeconds(t.pids);
    const r = fortioGrpc(t.target, GRPC_RATE, DURATION);
    const used = cpuSeconds(t.pids) - before;
    if (t.hops === 0) grpcDirect = r;
    const added = grpcDirect && t.hops > 0 ? `added/hop p50 ${((r.p50 - grpcDirect.p50) / t.hops).toFixed(3)} p99 ${((r.p99 - grpcDirect.p99) / t.hops).toFixed(3)}` : '';
    console.log(`  ${t.name.padEnd(22)} ${fmt(r.p50)} ${fmt(r.p90)} ${fmt(r.p99)} ${fmt(r.max)}  qps ${r.qps.toFixed(0).padStart(5)} errors ${r.errors}  ${added}${t.pids.length ? `  cpu ${(used / (r.count / 1000)).toFixed(3)} s/1k` : ''}`);
  }
  console.log('\nsidecar memory (MB): ');
  for (const [name, child] of [['client (mTLS)', client.child], ['server (mTLS)', server.child], ['one hop', oneHop.child]] as const) {
    const m = memory(child.pid as number);
    console.log(`  ${name.padEnd(14)} RSS ${m.rss.toFixed(1)}  peak ${m.hwm.toFixed(1)}`);
  }
  stopAll();
}

await main().catch((err) => {
  console.error(err);
  stopAll();
  process.exitCode = 1;
});
