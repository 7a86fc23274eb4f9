import { equal, ok } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FSWatcher } from 'node:fs';
import { FileWatch } from './file-watch.ts';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A FileWatch on `dir` counting its reads; `pollMs` as given. */
async function watching(dir: string, pollMs: number): Promise<{ watch: FileWatch; reads: () => number }> {
  let reads = 0;
  const watch = new FileWatch(dir, async () => { reads++; }, pollMs);
  await watch.start();
  return { watch, reads: () => reads };
}

test('a change is read at once through fs.watch; while the watch runs, a fast poll does not read every pollMs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-watch-'));
  const { watch, reads } = await watching(dir, 20);
  try {
    await pause(300);
    equal(reads(), 1, 'only the first read: the poll is a safety net every few seconds, not every 20 ms');
    writeFileSync(join(dir, 'config.json'), '{}');
    for (let i = 0; i < 50 && reads() < 2; i++) await pause(20);
    ok(reads() >= 2, 'the change was read within a second');
  } finally {
    watch.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a watch (its folder is missing), the poll reads every pollMs', async () => {
  const { watch, reads } = await watching(join(tmpdir(), 'skiff-no-such-folder-' + process.pid), 20);
  try {
    await pause(300);
    ok(reads() >= 5, `${reads()} reads in 300 ms`);
  } finally {
    watch.stop();
  }
});

test('a watch that fails later hands over to the poll at its own pace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-watch-'));
  const { watch, reads } = await watching(dir, 20);
  try {
    (watch as unknown as { watcher: FSWatcher }).watcher.emit('error', new Error('the folder went away'));
    await pause(300);
    ok(reads() >= 5, `${reads()} reads in 300 ms`);
  } finally {
    watch.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('asked to read during a read, it reads once more after it (however often it was asked), and says when that read is done', async () => {
  let reads = 0;
  let release: (() => void) | undefined;
  const watch = new FileWatch(join(tmpdir(), 'skiff-no-such-folder-' + process.pid), () => {
    reads++;
    return new Promise<void>((resolve) => { release = resolve; });
  }, 60_000);
  const first = watch.trigger();
  const second = watch.trigger();
  const third = watch.trigger();
  equal(reads, 1, 'one read at a time');
  release?.();
  await first;
  await pause(0);
  equal(reads, 2, 'the asks made during the first read made one more');
  let secondDone = false;
  void second.then(() => { secondDone = true; });
  await pause(10);
  equal(secondDone, false, 'the second ask resolves with the read after it, not before');
  release?.();
  await Promise.all([second, third]);
  equal(reads, 2);
  watch.stop();
});
