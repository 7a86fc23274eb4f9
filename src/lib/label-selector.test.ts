import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { matchesSelector, parseLabelSelector } from './label-selector.ts';

const select = (text: string, labels: Record<string, string>) => {
  const parsed = parseLabelSelector(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return matchesSelector(parsed.selector, labels);
};

test('every requirement form, joined by commas, all must hold', () => {
  const labels = { app: 'bookstore', version: 'v1', 'app.kubernetes.io/part-of': 'shop' };
  ok(select('app=bookstore', labels));
  ok(select('app==bookstore,version!=v2', labels));
  ok(select('version in (v1, v2)', labels));
  ok(!select('version notin (v1)', labels));
  ok(select('app.kubernetes.io/part-of', labels));
  ok(select('!tier', labels));
  ok(!select('app=bookstore,tier', labels));
  ok(select('', labels));
  ok(select('tier!=web', labels), 'a missing key is not equal to anything');
});

test('malformed selectors are refused with the part that is wrong', () => {
  for (const [text, part] of [['app=(x', '(x'], ['in (a)', 'in (a)'], ['-bad=x', '-bad'], ['app=x y', 'x y'], ['a'.repeat(5000), 'longer than 4096']] as const) {
    const parsed = parseLabelSelector(text);
    equal(parsed.ok, false, text);
    if (!parsed.ok) ok(parsed.problem.includes(part), `${text}: ${parsed.problem}`);
  }
  deepStrictEqual(parseLabelSelector('a=b'), { ok: true, selector: [{ key: 'a', op: 'in', values: ['b'] }] });
});
