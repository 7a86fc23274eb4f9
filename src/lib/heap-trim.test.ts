import { deepStrictEqual, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { trimHeapPeriodically } from './heap-trim.ts';

test('trimming starts one period later, says it is available here (glibc, koffi), and stops', async () => {
  const started: boolean[] = [];
  const trimming = trimHeapPeriodically((available) => started.push(available), 20);
  await new Promise((r) => setTimeout(r, 120));
  trimming.stop();
  deepStrictEqual(started, [true]);
});

test('a trim gives a fragmented heap\'s free pages back: RSS falls', () => {
  // 64 KiB buffers come from malloc's heap (under the mmap threshold); freeing all but every
  // 16th leaves free pages between live ones, which glibc keeps until trimmed.
  const script = `
    const { mallocTrim } = await import(${JSON.stringify(new URL('./libc.ts', import.meta.url).href)});
    const trim = mallocTrim();
    let held = Array.from({ length: 3000 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1));
    held = held.filter((_, i) => i % 16 === 0);
    globalThis.gc(); globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
    const before = process.memoryUsage().rss;
    trim(0);
    console.log(JSON.stringify({ before, after: process.memoryUsage().rss, held: held.length }));`;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, MALLOC_ARENA_MAX: '2' } });
  const { before, after } = JSON.parse(run.stdout) as { before: number; after: number };
  ok(before - after > 64e6, `RSS ${(before / 1e6).toFixed(1)} → ${(after / 1e6).toFixed(1)} MB`);
});
