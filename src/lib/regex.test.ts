import { equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { compileFullMatch, MAX_PATTERN_LENGTH } from './regex.ts';

function matcher(pattern: string) {
  const r = compileFullMatch(pattern);
  if (!r.ok) throw new Error(r.problem.message);
  return r.matcher;
}

test('patterns match the whole input', () => {
  const m = matcher('/api/.*');
  ok(m.test('/api/books'));
  ok(!m.test('/v2/api/books'), 'anchored at the start');
  ok(!matcher('/metrics').test('/metrics/extra'), 'anchored at the end');
  ok(matcher('a|b').test('b'), 'alternation is grouped before anchoring');
  ok(!matcher('a|b').test('ab'));
});

test('catastrophic patterns run in linear time', () => {
  const m = matcher('(a+)+$');
  const started = performance.now();
  equal(m.test(`${'a'.repeat(50_000)}!`), false);
  // A backtracking engine needs 2^50000 steps here; the bound is generous on purpose.
  ok(performance.now() - started < 5_000);
});

test('unsupported and oversized patterns are refused with a reason', () => {
  const look = compileFullMatch('(?=x)');
  ok(!look.ok && look.problem.kind === 'syntax' && /lookahead/.test(look.problem.message));
  const back = compileFullMatch('(a)\\1');
  ok(!back.ok && /backreferences/.test(back.problem.message));
  const long = compileFullMatch('a'.repeat(MAX_PATTERN_LENGTH + 1));
  ok(!long.ok && long.problem.kind === 'too-long');
  const big = compileFullMatch('[a-z]{900}[0-9]{900}[A-Z]{900}x{900}y{900}z{900}');
  ok(!big.ok && big.problem.kind === 'too-complex', big.ok ? 'compiled' : big.problem.message);
});
