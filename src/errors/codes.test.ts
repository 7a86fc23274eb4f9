import { deepStrictEqual, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CODES } from './codes.ts';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

test('every code is documented in docs/errors.md, and every documented code exists', () => {
  const documented = [...DOC.matchAll(/^### (SKIFF_[A-Z0-9_]+)$/gm)].map((m) => m[1]);
  deepStrictEqual([...documented].sort(), Object.keys(CODES).sort());
});

test('each documented code has an explanation, and code prefixes match severities', () => {
  for (const [code, info] of Object.entries(CODES)) {
    const section = DOC.split(`### ${code}\n`)[1]?.split(/\n#{2,3} /)[0] ?? '';
    ok(section.trim().length > 40, `${code} needs a real explanation`);
    ok(code.startsWith(info.severity === 'error' ? 'SKIFF_E_' : 'SKIFF_W_'), `${code} prefix matches severity ${info.severity}`);
  }
});
