/**
 * Against a real kube-apiserver: the generated CRDs install, every served version of every
 * kind can be written and read in every other version through Skiff's conversion webhook
 * without loss, and invalid objects are refused by Skiff's validating webhook.
 */
import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { convert, findKind, SMI_KINDS, splitApiVersion, type VersionedObject } from '../../src/api/index.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { startCluster, type TestCluster } from './harness.ts';
import { installSmi } from './smi-setup.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'smi');

function fixtures(kind: 'valid' | 'invalid'): { file: string; object: VersionedObject }[] {
  return readdirSync(join(FIXTURES, kind)).flatMap((name) => {
    const file = join(FIXTURES, kind, name);
    return parseYamlText(file, readFileSync(file, 'utf8')).documents.map((d) => ({ file: name, object: d.value as VersionedObject }));
  });
}

/** What a client wrote: everything but server-managed metadata and status. */
function content(o: VersionedObject): Record<string, unknown> {
  const { metadata, status: _status, ...rest } = o;
  return { ...rest, annotations: metadata.annotations ?? {} };
}

describe('SMI CRDs on a real API server', () => {
  let cluster: TestCluster;
  let stopWebhooks: () => Promise<void>;
  let objects: CustomObjectsApi;

  before(async () => {
    cluster = await startCluster();
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    const smi = await installSmi(cluster);
    stopWebhooks = () => smi.stop();
    objects = kc.makeApiClient(CustomObjectsApi);
  });

  after(async () => {
    await stopWebhooks?.();
    await cluster?.stop();
  });

  test('every valid example, written in its version, reads back unchanged in every served version', async () => {
    let checked = 0;
    for (const { object } of fixtures('valid')) {
      const { group, version } = splitApiVersion(object.apiVersion);
      const info = findKind(group, object.kind);
      ok(info);
      const body = structuredClone(object);
      body.metadata = { ...body.metadata, name: `${body.metadata.name}-${version}`, namespace: 'default' };
      await objects.createNamespacedCustomObject({ group, version, namespace: 'default', plural: info.plural, body });
      const read = async (v: string) => objects.getNamespacedCustomObject({ group, version: v, namespace: 'default', plural: info.plural, name: body.metadata.name as string }) as Promise<VersionedObject>;
      const asWritten = await read(version);
      deepStrictEqual(content(asWritten), content(body), `${object.kind} ${body.metadata.name} read back as written`);
      for (const other of info.versions) {
        // The server's answer in each version is exactly Skiff's conversion of what it stored.
        deepStrictEqual(content(await read(other)), content(convert(asWritten, other)), `${object.kind} ${body.metadata.name} read as ${other}`);
        deepStrictEqual(content(convert(await read(other), version)), content(body), `${object.kind} ${body.metadata.name}: ${other} and back is lossless`);
        checked++;
      }
    }
    ok(checked > 40, `${checked} reads`);
  });

  test('Flagger\'s update through v1alpha2 keeps what only v1alpha4 can say', async () => {
    const base = { kind: 'TrafficSplit', metadata: { name: 'podinfo', namespace: 'default' } };
    await objects.createNamespacedCustomObject({ group: 'split.smi-spec.io', version: 'v1alpha4', namespace: 'default', plural: 'trafficsplits',
      body: { ...base, apiVersion: 'split.smi-spec.io/v1alpha4', spec: { service: 'podinfo', matches: [{ kind: 'HTTPRouteGroup', name: 'ab' }], backends: [{ service: 'podinfo-canary', weight: 0 }, { service: 'podinfo-primary', weight: 100 }] } } });
    const old = await objects.getNamespacedCustomObject({ group: 'split.smi-spec.io', version: 'v1alpha2', namespace: 'default', plural: 'trafficsplits', name: 'podinfo' }) as VersionedObject & { spec: { backends: { weight: number }[] } };
    equal((old.spec as Record<string, unknown>).matches, undefined);
    old.spec.backends[0]!.weight = 10;
    old.spec.backends[1]!.weight = 90;
    await objects.replaceNamespacedCustomObject({ group: 'split.smi-spec.io', version: 'v1alpha2', namespace: 'default', plural: 'trafficsplits', name: 'podinfo', body: old });
    const stored = await objects.getNamespacedCustomObject({ group: 'split.smi-spec.io', version: 'v1alpha4', namespace: 'default', plural: 'trafficsplits', name: 'podinfo' }) as { spec: unknown };
    deepStrictEqual(stored.spec, { service: 'podinfo', matches: [{ kind: 'HTTPRouteGroup', name: 'ab' }], backends: [{ service: 'podinfo-canary', weight: 10 }, { service: 'podinfo-primary', weight: 90 }] });
  });

  test('kubectl: kustomize smi-crds/, apply and get in any version, printer columns, readable refusals', async () => {
    const kubectl = cluster.kubectl;
    // kubectl's own kustomize builds smi-crds/ (the CRDs in this cluster were installed with a
    // test webhook URL, so a real `apply -k` here would merge url and service; see before()).
    const rendered = await kubectl(['kustomize', join(import.meta.dirname, '..', '..', 'smi-crds')]);
    equal(rendered.status, 0, rendered.stderr);
    equal((rendered.stdout.match(/^kind: CustomResourceDefinition$/gm) ?? []).length, Object.keys(SMI_KINDS).length);
    const applied = await kubectl(['apply', '-f', '-'], `apiVersion: split.smi-spec.io/v1alpha1
kind: TrafficSplit
metadata:
  name: from-kubectl
  namespace: default
spec:
  service: shop
  backends:
  - service: shop-v1
    weight: 750m
  - service: shop-v2
    weight: 250m
`);
    equal(applied.status, 0, applied.stderr);
    const asV4 = await kubectl(['get', 'trafficsplits.v1alpha4.split.smi-spec.io', 'from-kubectl', '-o', 'json']);
    equal(asV4.status, 0, asV4.stderr);
    deepStrictEqual(JSON.parse(asV4.stdout).spec.backends, [{ service: 'shop-v1', weight: 750 }, { service: 'shop-v2', weight: 250 }]);
    const table = await kubectl(['get', 'ts', 'from-kubectl']);
    equal(table.status, 0, table.stderr);
    ok(/^NAME\s+SERVICE\s+ACCEPTED\s+PROGRAMMED\s+AGE/.test(table.stdout), table.stdout);
    const refused = await kubectl(['apply', '-f', '-'], 'apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n  name: twice\n  namespace: default\nspec:\n  service: shop\n  backends:\n  - {service: a, weight: 1}\n  - {service: a, weight: 1}\n');
    ok(refused.status !== 0);
    ok(refused.stderr.includes('[SKIFF_E_SPLIT_DUPLICATE_BACKEND]'), refused.stderr);
  });

  test('invalid objects are refused, semantic errors with Skiff\'s codes', async () => {
    let refused = 0;
    for (const { file, object } of fixtures('invalid')) {
      const expected = readFileSync(join(FIXTURES, 'invalid', file), 'utf8');
      if (!/# expect: SKIFF_E_/.test(expected) || /SKIFF_E_(UNSERVED_VERSION|UNKNOWN_KIND)/.test(expected)) continue;
      const { group, version } = splitApiVersion(object.apiVersion);
      const info = findKind(group, object.kind);
      ok(info, file);
      const body = { ...structuredClone(object), metadata: { ...object.metadata, namespace: object.metadata.namespace ?? 'default' } };
      if (body.metadata.namespace !== 'default') continue;
      await rejects(objects.createNamespacedCustomObject({ group, version, namespace: 'default', plural: info.plural, body }), (err: { code?: number; body?: unknown }) => {
        ok(err.code === 422 || err.code === 400, `${file}: ${err.code}`);
        return true;
      }, file);
      refused++;
    }
    ok(refused >= 15, `${refused} refused`);
    const duplicate = { apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: { name: 'dup', namespace: 'default' }, spec: { service: 'web', backends: [{ service: 'a', weight: 1 }, { service: 'a', weight: 2 }] } };
    await rejects(objects.createNamespacedCustomObject({ group: 'split.smi-spec.io', version: 'v1alpha4', namespace: 'default', plural: 'trafficsplits', body: duplicate }), (err: { body?: unknown }) => {
      const message = String((typeof err.body === 'string' ? JSON.parse(err.body) : err.body as { message?: string })?.message);
      equal(message, 'admission webhook "smi.validate.skiff.dev" denied the request: TrafficSplit/default/dup: spec.backends[1].service: "a" is already a backend at spec.backends[0]; list each Service once [SKIFF_E_SPLIT_DUPLICATE_BACKEND]');
      return true;
    });
  });
});
