/**
 * bench/translate: how long a full rebuild of a large mesh takes, and how much memory it holds.
 *
 * Method: a generated snapshot of N namespaces × S services × P pods per service (defaults
 * 100 × 100 × 5 = 10,000 services, 50,000 meshed pods), 2,000 TrafficSplits, 5,000
 * TrafficTargets (HTTPRouteGroup + TCPRoute rules), one HTTPRouteGroup and TCPRoute per
 * namespace. Each run: buildTopology(snapshot) then translateAll(topology), after one warm-up
 * run; reported are the median and max of RUNS runs, RSS and heap after a forced GC with the
 * results held, and the peak RSS of the process.
 *
 *   node --expose-gc bench/translate.ts [RUNS]         (npm run bench:translate)
 */
import { buildTopology } from '../src/model/index.ts';
import { translateAll } from '../src/translate/index.ts';
import { generate, NAMESPACES, PODS_PER_SERVICE, SERVICES_PER_NS, SPLITS_PER_NS, TARGETS_PER_NS } from './generate-mesh.ts';

const RUNS = Number(process.argv[2] ?? 5);

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;
let peakRss = 0;
const sampler = setInterval(() => {
  const u = process.memoryUsage();
  peakRss = Math.max(peakRss, u.rss);
  peakHeap = Math.max(peakHeap, u.heapUsed);
}, 5);

console.log(`bench/translate — Node ${process.version}, ${process.arch}; ${NAMESPACES} namespaces × ${SERVICES_PER_NS} services × ${PODS_PER_SERVICE} pods; ${NAMESPACES * SPLITS_PER_NS} splits; ${NAMESPACES * TARGETS_PER_NS} targets; ${RUNS} runs after 1 warm-up`);
const snapshot = generate();
gc?.();
const baseline = process.memoryUsage();
const build: number[] = [];
const translate: number[] = [];
let kept: unknown;
let peakHeap = 0;
for (let run = 0; run <= RUNS; run++) {
  kept = undefined; // a rebuild replaces the previous result; measure one rebuild's footprint
  gc?.();
  const t0 = performance.now();
  const topology = buildTopology(snapshot);
  const t1 = performance.now();
  const configs = translateAll(topology);
  const t2 = performance.now();
  if (run > 0) {
    build.push(t1 - t0);
    translate.push(t2 - t1);
  }
  kept = { topology, configs };
  if (run === 0) console.log(`proxies configured: ${configs.size}, services: ${topology.services.length}, active splits: ${topology.splits.filter((s) => s.active).length}, targets: ${topology.targets.length}`);
}
await new Promise((r) => setTimeout(r, 20));
gc?.();
const held = process.memoryUsage();
clearInterval(sampler);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const total = build.map((b, i) => b + (translate[i] as number));
console.log(`buildTopology:  median ${median(build).toFixed(0)} ms, max ${Math.max(...build).toFixed(0)} ms`);
console.log(`translateAll:   median ${median(translate).toFixed(0)} ms, max ${Math.max(...translate).toFixed(0)} ms`);
console.log(`full rebuild:   median ${median(total).toFixed(0)} ms, max ${Math.max(...total).toFixed(0)} ms   (target ≤ 1000 ms)`);
console.log(`memory: snapshot alone ${mb(baseline.heapUsed)} heap; with topology + configs held ${mb(held.heapUsed)} heap, ${mb(held.rss)} RSS`);
console.log(`peak during rebuilds: ${mb(peakHeap)} heap used, ${mb(peakRss)} RSS   (target ≤ 300 MB)`);
if (!kept) process.exitCode = 1;
