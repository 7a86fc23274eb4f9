/**
 * How update() queues a rebuild: without a wait (local mode) it runs in the same turn of the
 * event loop, not on a timer's next millisecond; with one, after it, once for a burst; stop()
 * and a direct rebuild() cancel what was queued, so a snapshot is never rebuilt twice or
 * after the controller stopped.
 */
import { equal } from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { goldenSnapshots } from '../../test/support/golden.ts';
import { MeshController } from './controller.ts';

const [snapshot] = goldenSnapshots();
const rebuildsOf = (controller: MeshController) => {
  const seen = { count: 0 };
  controller.on('rebuilt', () => seen.count++);
  return seen;
};
const turn = () => new Promise((r) => setTimeout(r, 30));

test('no wait: rebuilt in this turn of the event loop, not on a timer', async () => {
  await readFile(import.meta.filename); // from an I/O callback: immediates run in this turn, timers in the next
  const controller = new MeshController({ debounceMs: 0 });
  const seen = rebuildsOf(controller);
  controller.update(snapshot!);
  const inThisTurn = await new Promise<number>((resolve) => setImmediate(() => resolve(seen.count)));
  equal(inThisTurn, 1);
});

test('a debounce: rebuilt after its wait, once for a burst', async () => {
  const controller = new MeshController({ debounceMs: 10 });
  const seen = rebuildsOf(controller);
  controller.update(snapshot!);
  controller.update(snapshot!);
  equal(seen.count, 0);
  await turn();
  equal(seen.count, 1);
});

test('stop() and a direct rebuild() cancel the queued rebuild', async () => {
  for (const debounceMs of [0, 10]) {
    const stopped = new MeshController({ debounceMs });
    const seenStopped = rebuildsOf(stopped);
    stopped.update(snapshot!);
    stopped.stop();
    const direct = new MeshController({ debounceMs });
    const seenDirect = rebuildsOf(direct);
    direct.update(snapshot!);
    direct.rebuild();
    await turn();
    equal(seenStopped.count, 0, `debounce ${debounceMs}: stopped`);
    equal(seenDirect.count, 1, `debounce ${debounceMs}: rebuilt once`);
  }
});
