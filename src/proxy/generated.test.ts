import { deepStrictEqual, equal } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ANSWERS, statusOf, type Reason } from './generated.ts';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'answers.md'), 'utf8');

test('every generated answer is documented in docs/answers.md with its status, and nothing else is', () => {
  const rows = [...DOC.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \|/gm)].map((m) => [m[1] as string, (m[2] as string).trim()]).filter(([r]) => r !== 'x-skiff-reason');
  deepStrictEqual(rows.map(([r]) => r).sort(), Object.keys(ANSWERS).sort());
  for (const [reason, status] of rows) {
    const expected = ANSWERS[reason as Reason].status;
    equal(status, expected === 0 ? 'the policy\'s' : String(expected), reason);
  }
});

test('a fault answers with its policy\'s status; every other reason with its own', () => {
  equal(statusOf('fault-injected', 418), 418);
  equal(statusOf('circuit-open', 418), 503);
});
