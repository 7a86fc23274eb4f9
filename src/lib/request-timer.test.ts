import { deepStrictEqual, equal, ok, strictEqual } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { keptDurations, setRequestTimer } from './request-timer.ts';

test('a request timer fires with its arguments, and a cleared one does not', async () => {
  const fired: unknown[] = [];
  setRequestTimer((a: string, b: number) => fired.push([a, b]), 5, 'idle', 7);
  const cleared = setRequestTimer((a: string) => fired.push(a), 5, 'cleared');
  clearTimeout(cleared);
  await new Promise((r) => setTimeout(r, 40));
  deepStrictEqual(fired, [['idle', 7]]);
  ok(keptDurations().includes(5));
});

test('a duration longer than Node can time (a policy of 99999h) arms nothing, neither a 1 ms timer nor a keeper', () => {
  const ms = 99_999 * 3_600_000;
  equal(setRequestTimer(() => { throw new Error('fired'); }, ms, 0), undefined);
  ok(!keptDurations().includes(ms));
});

/** Runs a script in a child Node with `internal/timers` readable; returns its stdout's JSON and how long it lived. */
function inChild(body: string): { out: unknown; ms: number } {
  const script = `
    const { timerListMap } = require('internal/timers');
    import(${JSON.stringify(new URL('./request-timer.ts', import.meta.url).href)}).then(({ setRequestTimer }) => { ${body} });`;
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--expose-internals', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  strictEqual(run.status, 0, run.stderr);
  return { out: JSON.parse(run.stdout), ms: performance.now() - started };
}

test("a cleared request timer leaves its duration's timer list in place (a plain setTimeout's list goes with it)", () => {
  const { out } = inChild(`
    const plain = setTimeout(() => {}, 15000); clearTimeout(plain);
    const plainKept = timerListMap[15000] !== undefined;
    const first = setRequestTimer(() => {}, 16000, 0); const list = timerListMap[16000]; clearTimeout(first);
    const second = setRequestTimer(() => {}, 16000, 0); const same = timerListMap[16000] === list; clearTimeout(second);
    console.log(JSON.stringify({ plainKept, kept: timerListMap[16000] !== undefined, same }));`);
  deepStrictEqual(out, { plainKept: false, kept: true, same: true });
});

test('the kept lists hold no process open, and at most 64 durations are kept', () => {
  const { out, ms } = inChild(`
    for (let ms = 1000; ms < 1100; ms++) clearTimeout(setRequestTimer(() => {}, 60000 + ms, 0));
    const kept = Object.keys(timerListMap).filter((k) => Number(k) > 60000).length;
    console.log(JSON.stringify({ kept }));`);
  deepStrictEqual(out, { kept: 64 });
  ok(ms < 10_000, `the child lived ${ms} ms`);
});
