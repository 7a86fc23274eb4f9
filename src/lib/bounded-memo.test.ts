import { equal } from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMemo } from './bounded-memo.ts';

test('a bounded memo keeps at most its size: a flood of distinct keys starts it over, never grows it', () => {
  const memo = new BoundedMemo<string, number>(4);
  for (let i = 0; i < 4; i++) memo.set(`k${i}`, i);
  equal(memo.get('k3'), 3);
  equal(memo.count, 4);
  memo.set('k4', 4);
  equal(memo.count, 1, 'full: it started over with the new entry');
  equal(memo.get('k0'), undefined);
  equal(memo.get('k4'), 4);
  for (let i = 0; i < 10_000; i++) memo.set(`flood-${i}`, i);
  equal(memo.count <= 4, true);
});
