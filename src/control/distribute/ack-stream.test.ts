import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_LINE_LIMIT, takeAckLines } from './ack-stream.ts';

const P = 'shop/a-0';
const line = (o: object) => `${JSON.stringify({ proxy: P, ...o })}\n`;

test('takeAckLines: whole lines taken in order, blank lines skipped, the unfinished rest kept', () => {
  const taken: object[] = [];
  const text = `${line({ hash: 'a'.repeat(64) })}\n${line({ error: 'refused' })}{"proxy":"sh`;
  deepStrictEqual(takeAckLines(text, P, (a) => taken.push(a)), { rest: '{"proxy":"sh' });
  deepStrictEqual(taken, [{ hash: 'a'.repeat(64) }, { error: 'refused' }]);
});

test('takeAckLines: the first bad line stops it; what came before counts, nothing after', () => {
  const taken: object[] = [];
  const result = takeAckLines(`${line({ hash: 'b'.repeat(64) })}[1,2]\n${line({ hash: 'c'.repeat(64) })}`, P, (a) => taken.push(a));
  equal(result.problem, 'a line is not an ack: / must be object');
  deepStrictEqual(taken, [{ hash: 'b'.repeat(64) }]);
});

test('takeAckLines: an unfinished line past the limit is refused before its end arrives', () => {
  equal(takeAckLines('x'.repeat(ACK_LINE_LIMIT), P, () => undefined).problem, undefined);
  equal(takeAckLines('x'.repeat(ACK_LINE_LIMIT + 1), P, () => undefined).problem, `a line is longer than ${ACK_LINE_LIMIT} bytes`);
});

test('takeAckLines: the limit counts bytes, so a line of multibyte characters is refused at its size, not its length', () => {
  const twoByte = 'é'.repeat(ACK_LINE_LIMIT / 2);
  equal(takeAckLines(twoByte, P, () => undefined).problem, undefined);
  equal(takeAckLines(`${twoByte}é`, P, () => undefined).problem, `a line is longer than ${ACK_LINE_LIMIT} bytes`);
  equal(takeAckLines(`${line({ error: '€'.repeat(3000) })}`, P, () => undefined).problem, `a line is longer than ${ACK_LINE_LIMIT} bytes`);
});
