/**
 * bench/gc-meter: preloaded into a proxy under test (`node --import bench/gc-meter.mjs …`) by
 * bench/allocation. The first SIGUSR2 starts V8's GC profiler; the next one stops it and writes
 * to $GC_METER_OUT what the heap went through in between: the collections by type, their time,
 * and the bytes allocated (how much the used heap grew between one collection's end and the
 * next one's start, summed, plus its growth since the last one), and the bytes promoted (how much
 * the spaces outside the young generation grew in scavenges). With $GC_METER_HEAP_PROFILE
 * set, it also writes there a sampling heap profile of the same span, garbage included (open
 * it in Chrome's DevTools, Memory tab), to see which functions allocate.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { GCProfiler, getHeapStatistics } from 'node:v8';

const out = process.env.GC_METER_OUT;
const heapProfileOut = process.env.GC_METER_HEAP_PROFILE;
let profiler;
let usedAtStart = 0;
let session;

function sampleHeap(start) {
  if (!heapProfileOut) return;
  if (start) {
    session = new Session();
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err) writeFileSync(heapProfileOut, JSON.stringify(result.profile));
    session.disconnect();
  });
}

/** What a scavenge moved out of the young generation: how much every other space grew in it. */
function promotedBy(gc) {
  const before = new Map(gc.beforeGC.heapSpaceStatistics.map((s) => [s.spaceName, s.spaceUsedSize]));
  let grown = 0;
  for (const s of gc.afterGC.heapSpaceStatistics) if (!s.spaceName.startsWith('new_')) grown += Math.max(0, s.spaceUsedSize - (before.get(s.spaceName) ?? 0));
  return grown;
}

process.on('SIGUSR2', () => {
  if (!out) return;
  if (!profiler) {
    profiler = new GCProfiler();
    usedAtStart = getHeapStatistics().used_heap_size;
    profiler.start();
    sampleHeap(true);
    return;
  }
  const { statistics } = profiler.stop();
  sampleHeap(false);
  profiler = undefined;
  const byType = {};
  let allocated = 0;
  let usedAfterLast = usedAtStart;
  let promoted = 0;
  for (const gc of statistics) {
    allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - usedAfterLast);
    if (gc.gcType === 'Scavenge') promoted += promotedBy(gc);
    usedAfterLast = gc.afterGC.heapStatistics.usedHeapSize;
    const t = (byType[gc.gcType] ??= { count: 0, ms: 0 });
    t.count++;
    t.ms += gc.cost / 1000;
  }
  allocated += Math.max(0, getHeapStatistics().used_heap_size - usedAfterLast);
  writeFileSync(out, JSON.stringify({ allocated, promoted, byType }));
});
