import { deepStrictEqual, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { keepTickObjectShape } from './tick-shape.ts';

/**
 * Ticks in bursts, a collection that reduces memory while none is alive (what V8's memory
 * reducer runs in a quiet spell), ticks again; then how many of `nextTick`'s object-literal
 * sites V8 has turned megamorphic (read from %DebugPrint of the function's feedback).
 */
function megamorphicSitesAfterQuietSpell(keep: boolean): number {
  const script = `
    const { keepTickObjectShape } = await import(${JSON.stringify(new URL('./tick-shape.ts', import.meta.url).href)});
    if (${keep}) keepTickObjectShape();
    const noop = () => {};
    const burst = async (n) => { for (let b = 0; b < n; b++) { for (let i = 0; i < 100; i++) process.nextTick(noop, i); await new Promise((r) => setImmediate(r)); } };
    await burst(2000);
    await new Promise((r) => setTimeout(r, 10));
    globalThis.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    await burst(2000);
    const nextTick = process.nextTick;
    %DebugPrint(nextTick);`;
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  deepStrictEqual(run.status, 0, run.stderr);
  ok(run.stdout.includes('DefineKeyedOwnPropertyInLiteral'), 'the feedback of nextTick was printed');
  return run.stdout.split('\n').filter((line) => /DefineKeyedOwnPropertyInLiteral MEGAMORPHIC/.test(line)).length;
}

test('after a quiet spell, V8 turns nextTick\'s object literal megamorphic (what the kept tick object prevents)', () => {
  // If this fails, V8 no longer does it and keepTickObjectShape may go.
  ok(megamorphicSitesAfterQuietSpell(false) > 0);
});

test('with a tick object kept, nextTick\'s object literal stays monomorphic through a quiet spell', () => {
  deepStrictEqual(megamorphicSitesAfterQuietSpell(true), 0);
});

test('a tick object is kept, once, and no async hook is left enabled', () => {
  ok(keepTickObjectShape());
  ok(keepTickObjectShape());
  // An enabled hook would make Node run emitInit for every async resource; ask Node's own flag.
  const script = `
    const { keepTickObjectShape } = await import(${JSON.stringify(new URL('./tick-shape.ts', import.meta.url).href)});
    const { createRequire } = await import('node:module');
    const hooks = createRequire(import.meta.url)('internal/async_hooks');
    console.log(JSON.stringify({ kept: keepTickObjectShape(), hooks: hooks.initHooksExist() }));`;
  const run = spawnSync(process.execPath, ['--expose-internals', '--input-type=module', '-e', script], { encoding: 'utf8' });
  deepStrictEqual(JSON.parse(run.stdout), { kept: true, hooks: false }, run.stderr);
});
