import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { renderCrdFiles } from './crds.ts';
import { SMI_KINDS } from './meta.ts';
import type { StructuralSchema } from './schemas/index.ts';

const DIR = join(import.meta.dirname, '..', '..', 'smi-crds');

test('smi-crds/ is exactly what the schemas generate (run `npm run crds` after changing a schema)', () => {
  const expected = renderCrdFiles();
  deepStrictEqual(readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort(), [...expected.keys()].sort());
  for (const [name, text] of expected) equal(readFileSync(join(DIR, name), 'utf8'), text, name);
});

/** The rules Kubernetes applies to CRD schemas ("structural schemas"). */
function structuralProblems(node: StructuralSchema, path: string): string[] {
  const problems: string[] = [];
  if (!node.type && !node['x-kubernetes-int-or-string'] && !node['x-kubernetes-preserve-unknown-fields']) problems.push(`${path}: no type`);
  if (node.type === 'array' && !node.items) problems.push(`${path}: array without items`);
  for (const [k, v] of Object.entries(node.properties ?? {})) problems.push(...structuralProblems(v, `${path}.${k}`));
  if (node.items) problems.push(...structuralProblems(node.items, `${path}[]`));
  for (const req of node.required ?? []) if (!node.properties?.[req]) problems.push(`${path}: requires undeclared ${req}`);
  return problems;
}

test('every served version is a structural schema, one is stored, and conversion goes through the webhook', () => {
  for (const info of Object.values(SMI_KINDS)) {
    const crd = parse(readFileSync(join(DIR, `${info.plural}.${info.group}.yaml`), 'utf8'));
    deepStrictEqual(crd.spec.versions.map((v: { name: string }) => v.name), info.versions);
    deepStrictEqual(crd.spec.versions.filter((v: { storage: boolean }) => v.storage).map((v: { name: string }) => v.name), [info.storage]);
    for (const v of crd.spec.versions) {
      ok(v.served, `${info.kind} ${v.name} served`);
      deepStrictEqual(v.subresources, { status: {} });
      deepStrictEqual(structuralProblems(v.schema.openAPIV3Schema, `${info.kind}/${v.name}`), []);
    }
    if (info.versions.length > 1) equal(crd.spec.conversion.strategy, 'Webhook');
  }
});
