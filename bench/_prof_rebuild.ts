import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { MeshController } from '../src/control/controller.ts';
import { generate, SERVICES_PER_NS, withCanaryWeight } from './generate-mesh.ts';
let snapshot = generate();
const controller = new MeshController();
controller.update(snapshot);
controller.rebuild();
for (const id of controller.proxies.keys()) {
  const [ns = '', pod = ''] = id.split('/');
  controller.demand(id, { services: Array.from({ length: 10 }, (_, i) => `${ns}/svc-${(i * 7 + pod.length) % SERVICES_PER_NS}`), tcp: false }, false);
}
const s = new Session(); s.connect();
await s.post('Profiler.enable'); await s.post('Profiler.setSamplingInterval', { interval: 200 }); await s.post('Profiler.start');
const times: number[] = [];
for (let run = 0; run < 10; run++) {
  snapshot = withCanaryWeight(snapshot, 20 + run, (ns, k) => ns === 'ns-1' && k === 5);
  const t = performance.now();
  controller.update(snapshot); controller.rebuild();
  times.push(performance.now() - t);
}
const { profile } = await s.post('Profiler.stop');
writeFileSync('/tmp/prof/rebuild.cpuprofile', JSON.stringify(profile));
console.log(times.map((t) => t.toFixed(0)).join(' '));
