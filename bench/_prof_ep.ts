import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { MeshController } from '../src/control/controller.ts';
import { generate, PODS_PER_SERVICE, SERVICES_PER_NS } from './generate-mesh.ts';
let snapshot = generate();
const controller = new MeshController();
controller.update(snapshot);
controller.rebuild();
for (const id of controller.proxies.keys()) {
  const [ns = '', pod = ''] = id.split('/');
  controller.demand(id, { services: Array.from({ length: 10 }, (_, i) => `${ns}/svc-${(i * 7 + pod.length) % SERVICES_PER_NS}`), tcp: false }, false);
}
const ENDPOINT_POD = SERVICES_PER_NS * PODS_PER_SERVICE + 15 * PODS_PER_SERVICE;
const s = new Session(); s.connect();
await s.post('Profiler.enable'); await s.post('Profiler.setSamplingInterval', { interval: 200 }); await s.post('Profiler.start');
const times: number[] = [];
for (let run = 0; run < 10; run++) {
  const ready = run % 2 !== 0;
  const changedPod = snapshot.pods[ENDPOINT_POD] as (typeof snapshot.pods)[number];
  const pods = snapshot.pods.map((p, i) => (i === ENDPOINT_POD ? { ...p, ready } : p));
  const endpointSlices = snapshot.endpointSlices.map((sl) => (sl.namespace === changedPod.namespace && sl.endpoints.some((e) => e.pod === changedPod.name)
    ? { ...sl, endpoints: sl.endpoints.map((e) => (e.pod === changedPod.name ? { ...e, ready } : e)) } : sl));
  snapshot = { ...snapshot, pods, endpointSlices };
  const t = performance.now();
  controller.update(snapshot); controller.rebuild();
  times.push(performance.now() - t);
}
const { profile } = await s.post('Profiler.stop');
writeFileSync('/tmp/prof/ep.cpuprofile', JSON.stringify(profile));
console.log(times.map((t) => t.toFixed(0)).join(' '));
