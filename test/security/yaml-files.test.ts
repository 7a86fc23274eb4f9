/**
 * Files the control plane reads (local mode's folder, `skiff validate`): huge, deeply nested
 * and alias-bomb YAML is refused unread with a clear code, the last good version stays, and
 * unchanged files are not parsed again on every poll.
 */
import { equal, ok } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FolderWatcher } from '../../src/local/folder.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { nestingBound } from '../../src/sources/files/yaml-limits.ts';

const SPLIT = `apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  service: web\n  backends:\n  - service: web-v1\n    weight: 90\n  - service: web-v2\n    weight: 10\n`;

describe('YAML files under attack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-yaml-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a 50 MB file is refused unread; the last good version of it stays in force', async () => {
    writeFileSync(join(dir, 'split.yaml'), SPLIT);
    const watcher = new FolderWatcher(dir);
    const first = await watcher.read();
    equal(first.documents.length, 1);
    const parses = watcher.cache.parses;
    const rss = process.memoryUsage().rss;
    writeFileSync(join(dir, 'split.yaml'), `${SPLIT}# ${'x'.repeat(50 * 1024 * 1024)}\n`);
    const second = await watcher.read();
    equal(watcher.cache.parses, parses, 'the big file was not parsed');
    ok(second.problems.some((p) => p.includes('SKIFF_E_FILE_TOO_LARGE') && p.includes('last good version')), second.problems.join('\n'));
    equal(second.documents.length, 1, 'the last good split is still there');
    ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'reading the folder did not load the file');
    writeFileSync(join(dir, 'split.yaml'), SPLIT);
  });

  test('deep nesting is refused before parsing, flow or block style', () => {
    const flow = parseYamlText('deep.yaml', `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    equal(flow.issues[0]?.code, 'SKIFF_E_YAML_TOO_DEEP');
    let block = '';
    for (let i = 0; i < 200; i++) block += `${'  '.repeat(i)}k${i}:\n`;
    equal(parseYamlText('deep.yaml', block).issues[0]?.code, 'SKIFF_E_YAML_TOO_DEEP');
    equal(parseYamlText('deep.yaml', `${'- '.repeat(100)}x\n`).issues[0]?.code, 'SKIFF_E_YAML_TOO_DEEP');
  });

  test('an alias bomb is refused', () => {
    let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 0; i < 8; i++) bomb += `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]\n`;
    const parsed = parseYamlText('bomb.yaml', bomb);
    equal(parsed.issues[0]?.code, 'SKIFF_E_YAML_TOO_DEEP');
    equal(parsed.documents.length, 0);
  });

  test('real manifests are far below the nesting bound', () => {
    for (const file of ['examples/bookstore/workloads.yaml', 'examples/bookstore/smi.yaml', 'deploy/controller.yaml']) {
      const depth = nestingBound(readFileSync(join(import.meta.dirname, '..', '..', file), 'utf8'));
      ok(depth < 20, `${file}: ${depth}`);
    }
  });

  test('polling an unchanged folder parses nothing', async () => {
    const watcher = new FolderWatcher(dir);
    await watcher.read();
    const parses = watcher.cache.parses;
    for (let i = 0; i < 5; i++) await watcher.read();
    equal(watcher.cache.parses, parses);
    writeFileSync(join(dir, 'other.yaml'), SPLIT.replace('name: web\n', 'name: web2\n'));
    await watcher.read();
    equal(watcher.cache.parses, parses + 1, 'only the new file was parsed');
  });
});
