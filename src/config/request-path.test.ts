import { deepStrictEqual } from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeRequestTarget } from './request-path.ts';

const cases: [string, ReturnType<typeof normalizeRequestTarget>][] = [
  ['/books/../admin', { path: '/admin', query: '' }],
  ['/books/%2e%2e/admin', { path: '/admin', query: '' }],
  ['/books/.%2E/x', { path: '/x', query: '' }],
  ['//admin//x', { path: '/admin/x', query: '' }],
  ['/a/b/..', { path: '/a/', query: '' }],
  ['/a/./b/', { path: '/a/b/', query: '' }],
  ['/..', { path: '/', query: '' }],
  ['/%41%7e%20%c3%a9?q=/../a', { path: '/A~%20%C3%A9', query: '?q=/../a' }],
  ['*', { problem: 'the asterisk-form request target (OPTIONS *) is not proxied' }],
];

test('paths reach one normal form (RFC 3986 dot segments, merged slashes, unreserved decoded)', () => {
  for (const [input, expected] of cases) deepStrictEqual(normalizeRequestTarget(input), expected, input);
});

test('encoded slashes, bad escapes, fragments and non-paths are refused', () => {
  for (const bad of ['/a%2fb', '/a%5Cb', '/a%zz', '/a%4', '/a#frag', 'books', 'http://x/']) {
    deepStrictEqual('problem' in normalizeRequestTarget(bad), true, bad);
  }
});

test('the normal form is a fixed point and never contains dot segments or empty segments', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom('a', '.', '..', '', '%2e', '%2E%2e', 'b%41', '~'), { maxLength: 12 }), (segments) => {
    const first = normalizeRequestTarget(`/${segments.join('/')}`);
    if ('problem' in first) return;
    deepStrictEqual(normalizeRequestTarget(first.path), first);
    const inner = first.path.split('/').slice(1, -1);
    for (const s of inner) if (s === '.' || s === '..' || s === '') throw new Error(`segment "${s}" left in ${first.path}`);
  }), { numRuns: 300 });
});
