/**
 * bench/harness: what bench/proxy and bench/soak share — the mesh they drive (a client and a
 * web workload, strict access with one TrafficTarget), sidecars started the way injection
 * starts them (the sidecar bundle, its V8 flags and malloc setting), fortio, and readings of a
 * process's CPU time and memory from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { request } from 'undici';
import { PORTS } from '../src/lib/ports.ts';
import { SIDECAR_ENV, sidecarNodeFlags } from '../src/lib/sidecar-runtime.ts';
import { buildBundle, buildSidecarBundle } from '../src/local/bundle.ts';
import { trainCodeCache } from '../scripts/train-code-cache.ts';
import { buildTopology } from '../src/model/index.ts';
import { parseYamlText } from '../src/sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../src/sources/files/snapshot.ts';
import { translateAll } from '../src/translate/index.ts';
import { createTestPki } from '../test/support/pki.ts';
export { cpuSeconds } from './process-cpu.ts';

export const ROOT = join(import.meta.dirname, '..');
export const FORTIO = execFileSync('bash', [join(ROOT, 'scripts/bench-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('=')[1] as string;
export const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
const children: ChildProcess[] = [];
export const ADDR = { origin: '127.0.50.1', client: '127.0.50.2', oneHop: '127.0.50.3', nginx: '127.0.50.4', haproxy: '127.0.50.5', floor: '127.0.50.6', floorFastify: '127.0.50.7', floorClient: '127.0.50.8', floorServer: '127.0.50.9' };
export const NODE = join(ROOT, 'node_modules/node/bin/node');

export function start(name: string, cpu: number, command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn('taskset', ['-c', String(cpu), command, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr?.on('data', (d) => { err += String(d); });
  child.on('exit', (code) => { if (code && code !== 0 && !stopping) process.stderr.write(`${name} exited ${code}: ${err.slice(-2000)}\n`); });
  children.push(child);
  return child;
}
let stopping = false;
export function stopAll(): void {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
}
process.on('exit', stopAll);

export function nginxConf(listen: string, body: string): string {
  return `worker_processes 1; daemon off; pid ${dir}/nginx-${listen}.pid; error_log /dev/null crit;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000; ${body} }`;
}

export const GRPC_PORT = 8079;

export function mesh(meshed: boolean): string {
  const inject = meshed ? '' : '      annotations:\n        skiff.dev/inject: "false"\n';
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    skiff.dev/access: strict\n---
apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n---
apiVersion: v1\nkind: Service\nmetadata:\n  name: ping\n  namespace: shop\nspec:\n  selector:\n    app: web\n  ports:\n  - name: grpc\n    port: ${GRPC_PORT}\n    targetPort: ${GRPC_PORT}\n    appProtocol: grpc\n---
apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    metadata:\n${inject}      labels:\n        app: web\n    spec:\n      serviceAccountName: web\n      containers:\n      - name: app\n        ports:\n        - containerPort: 8080\n        - containerPort: ${GRPC_PORT}\n---
apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: client\n  namespace: shop\nspec:\n  template:\n    metadata:\n      labels:\n        app: client\n    spec:\n      serviceAccountName: client\n      containers:\n      - name: app\n---
apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata:\n  name: all\n  namespace: shop\nspec:\n  matches:\n    ports: []\n---
apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n  name: client-web\n  namespace: shop\nspec:\n  destination:\n    kind: ServiceAccount\n    name: web\n  rules:\n  - kind: TCPRoute\n    name: all\n  sources:\n  - kind: ServiceAccount\n    name: client\n  - kind: ServiceAccount\n    name: web\n`;
}

export function configsFor(meshed: boolean, clientAddress: string) {
  const { documents } = parseYamlText('bench.yaml', mesh(meshed));
  const snapshot = snapshotFromDocuments(documents.map((d) => d.value), { allocate: (_ns, pod) => (pod.startsWith('web') ? ADDR.origin : clientAddress) });
  return translateAll(buildTopology(snapshot));
}

/** A program bundled as sidecars are (one file, dependencies inside). */
export async function bundled(entry: string, name: string): Promise<string> {
  const out = join(dir, `${name}.mjs`);
  await buildBundle(esbuild, entry, out, `bench/proxy: ${name}`);
  return out;
}

/**
 * The sidecar bundle as the image ships it: its launcher, its code and a code cache trained
 * with the flags below (SKIFF_CODE_CACHE=off leaves the cache out, to compare).
 */
export async function sidecarProgram(): Promise<{ program: string; codeCache: string }> {
  // As in the image and local mode, koffi (lib/libc.ts) resolves from beside the bundle.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const { entry } = await buildSidecarBundle(esbuild, join(dir, 'skiff-proxy.mjs'), 'bench: the sidecar');
  if (process.env.SKIFF_CODE_CACHE === 'off') return { program: entry, codeCache: 'none (SKIFF_CODE_CACHE=off)' };
  const trained = await trainCodeCache(entry, NODE, NODE_FLAGS);
  return { program: entry, codeCache: `trained (${(trained.bytes / 1e6).toFixed(1)} MB)` };
}
/** SKIFF_NODE_FLAGS adds V8 flags to the sidecars' own (to try one); the Node floor gets the same. */
export const NODE_FLAGS = [...sidecarNodeFlags(), ...(process.env.SKIFF_NODE_FLAGS ?? '').split(' ').filter(Boolean)];

export interface Sidecar { child: ChildProcess; outbound: string; health: string; readyMs: number }

/** Starts a sidecar on CPU 1 and waits until it is ready; `prefix` runs before node (e.g. entering a cgroup). */
export async function sidecar(program: string, name: string, config: unknown, address: string, certDir: string | undefined, appHost = ADDR.origin, prefix: string[] = []): Promise<Sidecar> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const args = [...prefix, NODE, ...NODE_FLAGS, program, 'proxy', '--config', file, '--inbound', `${address}:${PORTS.inbound}`, '--outbound', `${address}:${PORTS.outbound}`, '--admin', `${address}:${PORTS.admin}`, '--health', `${address}:${PORTS.health}`, '--app-host', appHost];
  if (certDir) args.push('--certs', certDir);
  const [command, ...rest] = args;
  const health = `http://${address}:${PORTS.health}/ready`;
  const started = performance.now();
  const child = start(name, 1, command as string, rest, { ...SIDECAR_ENV });
  await waitHttp(health, {}, 5);
  return { child, outbound: `${address}:${PORTS.outbound}`, health, readyMs: performance.now() - started };
}

/** Where a slow backend answers (startSlowBackend), behind the origin's `/slow`. */
export const SLOW_BACKEND = { port: 8081, delay: '1s' };

/**
 * The origin: nginx answering 1 KiB on ADDR.origin:8080, on CPU 0 beside the load tool; `/slow`
 * goes to the slow backend (when started) and is answered after SLOW_BACKEND.delay.
 */
export function startOrigin(): ChildProcess {
  const slow = `location /slow { rewrite ^ /echo?delay=${SLOW_BACKEND.delay} break; proxy_pass http://slow; proxy_http_version 1.1; proxy_set_header Connection ""; }`;
  writeFileSync(join(dir, 'origin.conf'), nginxConf('origin', `upstream slow { server ${ADDR.origin}:${SLOW_BACKEND.port}; keepalive 64; } server { listen ${ADDR.origin}:8080 reuseport; location / { return 200 '${'x'.repeat(1024)}'; } ${slow} }`));
  return start('origin', 0, 'nginx', ['-c', join(dir, 'origin.conf'), '-p', dir]);
}

/** A fortio server on CPU 0 that answers `/echo?delay=…` after the delay: the origin's `/slow`. */
export function startSlowBackend(): ChildProcess {
  return start('slow-backend', 0, FORTIO, ['server', '-loglevel', 'Warning', '-http-port', `${ADDR.origin}:${SLOW_BACKEND.port}`, '-grpc-port', 'disabled', '-redirect-port', 'disabled']);
}

/**
 * The mTLS pair: the web workload's sidecar (server, in front of the origin) and the client's,
 * with certificates for their identities, started one after the other so each start → ready
 * is its own; `prefixes` run before node (e.g. entering a cgroup).
 */
export async function meshedPair(program: string, prefixes: { server?: string[]; client?: string[] } = {}): Promise<{ server: Sidecar; client: Sidecar; certDirs: { server: string; client: string } }> {
  const pki = createTestPki();
  const certs = (name: string, id: string) => { const d = join(dir, `certs-${name}`); mkdirSync(d, { recursive: true }); pki.issue(d, id, 24 * 3600_000); return d; };
  const configs = configsFor(true, ADDR.client);
  const certDirs = { server: certs('server', 'spiffe://cluster.local/ns/shop/sa/web'), client: certs('client', 'spiffe://cluster.local/ns/shop/sa/client') };
  const server = await sidecar(program, 'server', configs.get('shop/web-0'), ADDR.origin, certDirs.server, ADDR.origin, prefixes.server);
  const client = await sidecar(program, 'client', configs.get('shop/client-0'), ADDR.client, certDirs.client, ADDR.origin, prefixes.client);
  return { server, client, certDirs };
}

export async function waitHttp(url: string, headers: Record<string, string> = {}, everyMs = 100): Promise<void> {
  for (let i = 0; i < 10_000 / everyMs; i++) {
    try {
      const res = await request(url, { headers });
      await res.body.text();
      if (res.statusCode === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const last = await request(url, { headers }).then(async (r) => `${r.statusCode} ${JSON.stringify(r.headers)} ${await r.body.text()}`, (e: Error) => e.message);
  throw new Error(`${url} never answered 200 (last: ${last})`);
}

/** MB: RSS, its private anonymous part, and peak RSS. */
export function memoryOf(pid: number): { rss: number; anon: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: mb('VmRSS'), anon: mb('RssAnon'), peak: mb('VmHWM') };
}

export function memory(pid: number): string {
  const m = memoryOf(pid);
  const f = (n: number) => n.toFixed(1).padStart(6);
  return `RSS ${f(m.rss)}  anon ${f(m.anon)}  peak ${f(m.peak)}`;
}

export interface FortioResult { qps: number; count: number; p50: number; p90: number; p99: number; max: number; errors: number }

function fortioArgs(url: string, qps: number, connections: number, seconds: number, out: string): string[] {
  // -uniform spaces requests evenly in time (a constant-rate, open-loop arrival process) instead
  // of firing all connections at once every tick.
  const pacing = qps > 0 ? ['-uniform'] : [];
  // -r: histogram resolution 10 µs (fortio's default, 1 ms, hides what a proxy adds).
  return ['-c', '0', FORTIO, 'load', '-quiet', '-r', '0.00001', ...pacing, '-qps', String(qps), '-c', String(connections), '-t', `${seconds}s`, '-json', out, '-H', 'Host: web.shop', url];
}

function fortioResult(out: string): FortioResult {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const pct = (p: number) => (r.DurationHistogram.Percentiles.find((x: { Percentile: number }) => x.Percentile === p)?.Value ?? NaN) * 1000;
  const ok = r.RetCodes?.['200'] ?? 0;
  return { qps: r.ActualQPS, count: r.DurationHistogram.Count, p50: pct(50), p90: pct(90), p99: pct(99), max: r.DurationHistogram.Max * 1000, errors: r.DurationHistogram.Count - ok };
}

/** fortio on CPU 0 against `url` (Host web.shop): `qps` 0 is a closed loop. Blocks until done. */
export function fortio(url: string, qps: number, connections: number, seconds: number): FortioResult {
  const out = join(dir, `fortio-${Date.now()}.json`);
  execFileSync('taskset', fortioArgs(url, qps, connections, seconds, out), { stdio: 'ignore' });
  return fortioResult(out);
}

/** The same, without blocking this process (for sampling while it runs). */
export function fortioAsync(url: string, qps: number, connections: number, seconds: number): Promise<FortioResult> {
  const out = join(dir, `fortio-${Date.now()}.json`);
  const child = spawn('taskset', fortioArgs(url, qps, connections, seconds, out), { stdio: 'ignore' });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(fortioResult(out)) : reject(new Error(`fortio exited ${code}`)))));
}

