/**
 * bench/allocation: what each proxied request allocates on the JavaScript heap, and what
 * collecting it costs, for a Skiff sidecar beside the Node floor. A count, not a timing: it
 * moves little with the machine's load, so a hot-path change that allocates less shows here
 * even where bench/proxy's CPU rows are too noisy to tell.
 *
 * Method (printed with the results):
 * - the proxies run as in bench/proxy (the sidecar bundle, its V8 flags and malloc setting,
 *   CPU 1; nginx answering 1 KiB as origin and fortio on CPU 0), each with bench/gc-meter.mjs
 *   preloaded;
 * - warm-up: WARMUP seconds (default 5) at RATE rps; then the meter starts (V8's GC profiler),
 *   fortio sends RATE rps (default 2,000) for SECONDS (default 10) over 16 connections, and the
 *   meter stops;
 * - allocated per request: the used heap's growth between collections, summed, ÷ requests;
 *   promoted per request: what scavenges moved to the old generation (objects that outlived a
 *   young-generation collection, which then cost a copy each and a major collection to free);
 *   collections and their time per 10,000 requests, by type (Scavenge: the young generation).
 *
 * With HEAP_PROFILE=1 each proxy also writes a sampling heap profile of the measured span
 * (bench/gc-meter.mjs), whose path is printed: which functions allocate.
 *
 *   npm run bench:alloc
 */
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { SIDECAR_ENV } from '../src/lib/sidecar-runtime.ts';
import { ADDR, bundled, sidecarProgram, configsFor, dir, fortio, meshedPair, NODE, NODE_FLAGS, ROOT, sidecar, start, startOrigin, stopAll, waitHttp } from './harness.ts';

const RATE = Number(process.env.RATE ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 5);
const METER = join(ROOT, 'bench', 'gc-meter.mjs');
const HEAP_PROFILE = process.env.HEAP_PROFILE === '1';

interface Meter { allocated: number; promoted: number; byType: Record<string, { count: number; ms: number }> }

/** What runs before node so that the process is metered into `out`. */
const metered = (name: string) => ['env', `NODE_OPTIONS=--import=${METER}`, `GC_METER_OUT=${join(dir, `gc-${name}.json`)}`, ...(HEAP_PROFILE ? [`GC_METER_HEAP_PROFILE=${join(dir, `${name}.heapprofile`)}`] : [])];

/** The meter's reading once written (a heap profile is written first: up to a minute on a slow host). */
async function meterOf(label: string): Promise<Meter> {
  const file = join(dir, `gc-${label}.json`);
  for (let i = 0; i < 600 && !existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return JSON.parse(readFileSync(file, 'utf8')) as Meter;
}

async function main(): Promise<void> {
  startOrigin();
  const { program, codeCache } = await sidecarProgram();
  const floorProgram = await bundled(join(ROOT, 'bench', 'node-floor.ts'), 'node-floor');
  const { server, client } = await meshedPair(program, { server: metered('server'), client: metered('client') });
  const oneHop = await sidecar(program, 'one-hop', configsFor(false, ADDR.oneHop).get('shop/client-0'), ADDR.oneHop, undefined, ADDR.origin, metered('one-hop'));
  const [envCommand, ...envArgs] = [...metered('floor'), NODE, ...NODE_FLAGS, floorProgram, `${ADDR.floor}:8080`, `${ADDR.origin}:8080`];
  const floor = start('node floor', 1, envCommand as string, envArgs, { ...SIDECAR_ENV });
  const targets = [
    { name: 'skiff 1 hop (plain)', url: `http://${oneHop.outbound}/`, processes: [{ label: 'one-hop', pid: oneHop.child.pid }] },
    { name: 'skiff mTLS pair', url: `http://${client.outbound}/`, processes: [{ label: 'client', pid: client.child.pid }, { label: 'server', pid: server.child.pid }] },
    { name: 'node floor (1 hop)', url: `http://${ADDR.floor}:8080/`, processes: [{ label: 'floor', pid: floor.pid }] },
  ];
  for (const t of targets) await waitHttp(t.url, { host: 'web.shop' }, 20);
  console.log(`bench/allocation — Node ${process.versions.node}; ${RATE} rps for ${SECONDS}s over 16 connections after ${WARMUP}s of warm-up; heap growth between collections (V8 GCProfiler) per request; node flags: ${NODE_FLAGS.join(' ')}; code cache ${codeCache}`);
  for (const t of targets) {
    fortio(t.url, RATE, 16, WARMUP);
    // The env wrapper execs node: the pid is the proxy's own.
    for (const p of t.processes) process.kill(p.pid as number, 'SIGUSR2');
    const r = fortio(t.url, RATE, 16, SECONDS);
    for (const p of t.processes) process.kill(p.pid as number, 'SIGUSR2');
    for (const p of t.processes) {
      const m = await meterOf(p.label);
      const per10k = (n: number) => (n * 10_000) / r.count;
      const kinds = Object.entries(m.byType).map(([type, s]) => `${type} ${per10k(s.count).toFixed(0)} (${per10k(s.ms).toFixed(0)} ms)`).join(', ');
      console.log(`  ${`${t.name}${t.processes.length > 1 ? ` — ${p.label}` : ''}`.padEnd(32)} ${(m.allocated / r.count / 1024).toFixed(2).padStart(6)} KB allocated, ${(m.promoted / r.count / 1024).toFixed(2).padStart(5)} KB promoted per request   per 10k requests: ${kinds || 'no collection'}   (${r.count} requests, ${r.errors} errors)`);
    }
  }
  if (HEAP_PROFILE) console.log(`sampling heap profiles (the sampling itself allocates a little): ${dir}/*.heapprofile`);
  stopAll();
}

await main().catch((err) => {
  console.error(err);
  stopAll();
  process.exitCode = 1;
});
