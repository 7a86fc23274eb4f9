import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { formatMilli, parseQuantityMilli } from './quantity.ts';

test('quantities parse exactly to milli-values', () => {
  const cases: [string | number, bigint][] = [
    ['1', 1000n], ['500m', 500n], ['1500m', 1500n], ['0.5', 500n], ['.25', 250n], ['2k', 2000000n], ['1e3', 1000000n],
    ['1Ki', 1024000n], ['0', 0n], ['0m', 0n], [100, 100000n], [0.5, 500n], ['+3', 3000n], ['1000000n', 1n], ['-0', 0n],
  ];
  for (const [input, milli] of cases) deepStrictEqual(parseQuantityMilli(input), { ok: true, milli }, String(input));
});

test('quantities that are negative, finer than a milli or not quantities are refused with a reason', () => {
  for (const input of ['-1', '1u', '0.0001', 'abc', '1.2.3', '', '5mm', '1Ki3', Number.NaN, -2]) {
    const r = parseQuantityMilli(input);
    equal(r.ok, false, String(input));
  }
});

test('milli-values format canonically', () => {
  equal(formatMilli(3000n), '3');
  equal(formatMilli(500n), '500m');
  equal(formatMilli(0n), '0');
});
