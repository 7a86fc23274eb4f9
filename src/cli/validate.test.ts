import { deepStrictEqual, equal, match, ok } from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runValidate } from './validate.ts';

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runValidate(args, (l) => lines.push(...l.split('\n')));
  return { code, lines };
}

const ROOT = join(import.meta.dirname, '..', '..');

test('the shipped examples and spec fixtures validate cleanly', async () => {
  const { code, lines } = await run([join(ROOT, 'test/fixtures/smi/valid'), join(ROOT, 'smi-crds')]);
  equal(code, 0, lines.join('\n'));
  match(lines.at(-1) ?? '', /^\d+ SMI objects in \d+ files: 0 errors, 0 warnings$/);
});

test('problems are reported compiler-style with file, line, object, path and code; exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-validate-'));
  writeFileSync(join(dir, 'app.yaml'), [
    'apiVersion: v1', 'kind: Service', 'metadata: {name: web}', '---',
    'apiVersion: split.smi-spec.io/v1alpha2', 'kind: TrafficSplit', 'metadata:', '  name: web', '  namespace: shop', 'spec:', '  service: web',
    '  backends:', '  - service: web-v1', '    weight: 90', '  - service: web-v2', '    weight: -10', '',
  ].join('\n'));
  writeFileSync(join(dir, 'broken.yml'), 'kind: TrafficSplit\nspec: [\n');
  const { code, lines } = await run([dir]);
  equal(code, 1);
  deepStrictEqual(lines.slice(0, 2), [
    `${join(dir, 'app.yaml')}:16: TrafficSplit/shop/web: spec.backends[1].weight: must be a non-negative integer, got -10 [SKIFF_E_SPLIT_WEIGHT]`,
    `${join(dir, 'broken.yml')}:3: ${lines[1]?.split(':3: ')[1]}`,
  ]);
  match(lines[1] ?? '', /\[SKIFF_E_YAML_SYNTAX\]$/);
  equal(lines.at(-1), '1 SMI object in 2 files: 2 errors, 0 warnings');
});

test('warnings do not fail unless --strict; --json gives the findings as data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-validate-'));
  writeFileSync(join(dir, 'zero.yaml'), 'apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: s}\nspec:\n  service: web\n  backends:\n  - {service: a, weight: 0}\n');
  equal((await run([dir])).code, 0);
  equal((await run(['--strict', dir])).code, 1);
  const json = await run(['--json', dir]);
  const report = JSON.parse(json.lines.join('\n'));
  equal(report.warnings, 1);
  equal(report.issues[0].code, 'SKIFF_W_SPLIT_ALL_ZERO');
  equal(report.issues[0].line, 7, 'the line of the backends list');
});

test('a missing path is an error, and no arguments is a usage error', async () => {
  const missing = await run([join(ROOT, 'does-not-exist')]);
  equal(missing.code, 1);
  ok(missing.lines.some((l) => l.includes('SKIFF_E_FILE_READ')));
  equal((await run([])).code, 2);
});
