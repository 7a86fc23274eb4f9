import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseYamlText } from '../sources/files/read-yaml.ts';
import { convert, fromHub, isSmiDocument, parseSmiObject, SMI_KINDS, type VersionedObject } from './index.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'smi');

function load(file: string) {
  const parsed = parseYamlText(file, readFileSync(file, 'utf8'));
  deepStrictEqual(parsed.issues, [], `${file} is valid YAML`);
  return parsed.documents;
}

describe('the spec\'s own examples, every kind and version', () => {
  for (const name of readdirSync(join(FIXTURES, 'valid'))) {
    test(name, () => {
      const docs = load(join(FIXTURES, 'valid', name));
      ok(docs.length > 0);
      for (const doc of docs) {
        const parsed = parseSmiObject(doc.value);
        deepStrictEqual(parsed.issues, [], `line ${doc.line}`);
        ok(parsed.hub && parsed.kind && parsed.version);
        deepStrictEqual(fromHub(parsed.hub, parsed.version), doc.value, `line ${doc.line}: round trip`);
        for (const other of SMI_KINDS[parsed.kind].versions) {
          deepStrictEqual(convert(convert(doc.value as VersionedObject, other), parsed.version), doc.value, `line ${doc.line} through ${other}`);
        }
      }
    });
  }

  test('every kind and version has at least one example', () => {
    const seen = new Set<string>();
    for (const name of readdirSync(join(FIXTURES, 'valid'))) {
      for (const doc of load(join(FIXTURES, 'valid', name))) {
        const { kind, version } = parseSmiObject(doc.value);
        seen.add(`${kind}/${version}`);
      }
    }
    const missing = Object.values(SMI_KINDS).flatMap((k) => k.versions.map((v) => `${k.kind}/${v}`)).filter((kv) => !seen.has(kv));
    deepStrictEqual(missing, []);
  });
});

describe('invalid objects report the expected codes at the expected paths', () => {
  for (const name of readdirSync(join(FIXTURES, 'invalid'))) {
    test(name, () => {
      const file = join(FIXTURES, 'invalid', name);
      const expected = [...readFileSync(file, 'utf8').matchAll(/^# expect: (\S+) (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
      ok(expected.length > 0, 'the fixture names what it expects');
      const [doc] = load(file);
      ok(doc);
      const parsed = parseSmiObject(doc.value);
      deepStrictEqual(parsed.issues.map((i) => `${i.code} ${i.path}`).sort(), expected);
      for (const i of parsed.issues) ok(i.message.length > 10, `a readable message for ${i.code}`);
      if (parsed.issues.some((i) => i.severity === 'error')) equal(parsed.hub, undefined, 'objects with errors are not converted');
    });
  }
});

test('only SMI groups are SMI documents', () => {
  ok(isSmiDocument({ apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit' }));
  ok(isSmiDocument({ apiVersion: 'specs.smi-spec.io/v9', kind: 'Anything' }));
  ok(!isSmiDocument({ apiVersion: 'v1', kind: 'Service' }));
  ok(!isSmiDocument({ apiVersion: 'metrics.smi-spec.io/v1alpha1', kind: 'TrafficMetrics' }));
  ok(!isSmiDocument('just a string'));
  ok(!isSmiDocument(null));
});

test('garbage in any field is reported, never thrown', () => {
  const shapes: unknown[] = [null, 42, 'x', [], { spec: null }, { spec: { backends: 'many' } }, { spec: { backends: [null, 3, { weight: {} }] } }, { destination: [], spec: [] }, { matches: 'x', spec: { matches: [null] } }];
  for (const kind of Object.values(SMI_KINDS)) {
    for (const version of kind.versions) {
      for (const shape of shapes) {
        const doc = { apiVersion: `${kind.group}/${version}`, kind: kind.kind, metadata: { name: 'x' }, ...(typeof shape === 'object' && shape !== null ? shape : { spec: shape }) };
        const parsed = parseSmiObject(doc);
        ok(Array.isArray(parsed.issues));
      }
    }
  }
});
