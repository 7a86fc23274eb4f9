/**
 * Against a real kube-apiserver: the generated CRDs install, every served version of every
 * kind can be written and read in every other version through Skiff's conversion webhook
 * without loss, and invalid objects are refused by Skiff's validating webhook.
 */
import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdmissionregistrationV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { convert, findKind, splitApiVersion, SMI_KINDS, type VersionedObject } from '../../src/api/index.ts';
import { renderCrdFiles } from '../../src/api/crds.ts';
import { startWebhookServer } from '../../src/control/webhooks/server.ts';
import { parseYamlText } from '../../src/sources/files/read-yaml.ts';
import { startCluster, type TestCluster } from './harness.ts';

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
    const hooks = await startWebhookServer({ host: '127.0.0.1', port: 0, ...cluster.servingCertificate(['localhost']) });
    stopWebhooks = () => hooks.app.close();
    const caBundle = Buffer.from(cluster.caPem).toString('base64');
    for (const [name, text] of renderCrdFiles()) {
      if (name === 'kustomization.yaml') continue;
      const crd = parse(text);
      if (crd.spec.conversion) crd.spec.conversion.webhook.clientConfig = { url: `${hooks.url}/convert`, caBundle };
      const created = await cluster.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      equal(created.status, 201, JSON.stringify(created.body));
    }
    for (const info of Object.values(SMI_KINDS)) {
      const name = `${info.plural}.${info.group}`;
      for (let i = 0; ; i++) {
        const crd = (await cluster.api('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)).body as { status?: { conditions?: { type: string; status: string }[] } };
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
        if (i > 100) throw new Error(`${name} never became established`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await kc.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: 'skiff-smi-validation' },
        webhooks: [{
          name: 'smi.validate.skiff.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5,
          clientConfig: { url: `${hooks.url}/validate`, caBundle },
          rules: [{ apiGroups: ['split.smi-spec.io', 'access.smi-spec.io', 'specs.smi-spec.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['*'] }],
        }],
      },
    });
    objects = kc.makeApiClient(CustomObjectsApi);
    // The webhook configuration takes a moment to be used by the API server.
    await new Promise((r) => setTimeout(r, 1500));
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
