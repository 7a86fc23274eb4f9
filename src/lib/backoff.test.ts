import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, ShortenableWait } from './backoff.ts';

test('backoff stays between half and all of its doubling ceiling, capped', () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    const ceiling = Math.min(5000, 100 * 2 ** attempt);
    const ms = backoffMs(attempt, 100, 5000);
    ok(ms >= ceiling / 2 && ms <= ceiling, `attempt ${attempt}: ${ms}`);
  }
});

test('a wait is shortened, never lengthened, and ended at once', async () => {
  const wait = new ShortenableWait();
  let started = performance.now();
  const shortened = wait.wait(5000);
  wait.shorten(20);
  await shortened;
  ok(performance.now() - started < 1000, 'shortened to 20 ms');

  started = performance.now();
  const kept = wait.wait(30);
  wait.shorten(5000);
  await kept;
  ok(performance.now() - started < 1000, 'a longer shortening leaves the 30 ms wait as it was');

  started = performance.now();
  const ended = wait.wait(5000);
  wait.end();
  await ended;
  ok(performance.now() - started < 1000, 'ended now');
  wait.shorten(10);
  wait.end(); // nothing under way: no effect
});
