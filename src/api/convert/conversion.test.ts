import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convert, PRESERVE_ANNOTATION, toHub, type HubTrafficTargetSpec, type VersionedObject } from '../index.ts';

/** Exactly what Flagger's three SMI routers write (shared/reference/flagger.md §2). */
function flaggerSplit(version: 'v1alpha1' | 'v1alpha2' | 'v1alpha3', canary: number): VersionedObject {
  const weight = (n: number) => (version === 'v1alpha1' ? String(n) : n);
  return {
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: {
      name: 'podinfo',
      namespace: 'test',
      ownerReferences: [{ apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: 'podinfo', uid: 'c0ffee', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      service: 'podinfo',
      backends: [
        { service: 'podinfo-canary', weight: weight(canary) },
        { service: 'podinfo-primary', weight: weight(100 - canary) },
      ],
    },
  };
}

describe('Flagger TrafficSplits', () => {
  for (const version of ['v1alpha1', 'v1alpha2', 'v1alpha3'] as const) {
    for (const canary of [0, 10, 50, 100]) {
      test(`${version} at canary ${canary}%: stored as v1alpha4 without annotations and read back unchanged`, () => {
        const written = flaggerSplit(version, canary);
        const stored = convert(written, 'v1alpha4');
        equal(stored.metadata.annotations, undefined, 'a Flagger split needs nothing carried in an annotation');
        deepStrictEqual((stored.spec as { backends: unknown }).backends, [
          { service: 'podinfo-canary', weight: canary },
          { service: 'podinfo-primary', weight: 100 - canary },
        ]);
        deepStrictEqual(convert(stored, version), written);
        deepStrictEqual(toHub(written).spec, toHub(stored).spec);
      });
    }
  }
});

describe('content a version cannot hold', () => {
  const abTest: VersionedObject = {
    apiVersion: 'split.smi-spec.io/v1alpha4',
    kind: 'TrafficSplit',
    metadata: { name: 'ab', namespace: 'shop' },
    spec: { service: 'web', matches: [{ kind: 'HTTPRouteGroup', name: 'firefox' }], backends: [{ service: 'web-v1', weight: 0 }, { service: 'web-v2', weight: 100 }] },
  };

  test('v1alpha4 matches survive a v1alpha2 client that changes the weights', () => {
    const seenByOldClient = convert(abTest, 'v1alpha2');
    ok(seenByOldClient.metadata.annotations?.[PRESERVE_ANNOTATION], 'matches travel in the annotation');
    equal((seenByOldClient.spec as Record<string, unknown>).matches, undefined);
    const edited = structuredClone(seenByOldClient);
    (edited.spec as { backends: { weight: number }[] }).backends[0]!.weight = 30;
    (edited.spec as { backends: { weight: number }[] }).backends[1]!.weight = 70;
    const back = convert(edited, 'v1alpha4');
    deepStrictEqual(back.spec, { service: 'web', matches: [{ kind: 'HTTPRouteGroup', name: 'firefox' }], backends: [{ service: 'web-v1', weight: 30 }, { service: 'web-v2', weight: 70 }] });
    equal(back.metadata.annotations, undefined, 'the annotation is removed once the content is back');
  });

  test('v1alpha1 quantities are respelled canonically once an edit changes their value', () => {
    const v1: VersionedObject = { apiVersion: 'split.smi-spec.io/v1alpha1', kind: 'TrafficSplit', metadata: { name: 's' }, spec: { service: 'web', backends: [{ service: 'a', weight: '500m' }, { service: 'b', weight: '1' }] } };
    const stored = convert(v1, 'v1alpha4');
    deepStrictEqual((stored.spec as { backends: unknown }).backends, [{ service: 'a', weight: 500 }, { service: 'b', weight: 1000 }]);
    (stored.spec as { backends: { weight: number }[] }).backends[0]!.weight = 250;
    deepStrictEqual((convert(stored, 'v1alpha1').spec as { backends: unknown }).backends, [{ service: 'a', weight: '250' }, { service: 'b', weight: '1000' }]);
  });

  test('a v1alpha2 destination port is kept through v1alpha3 and restored', () => {
    const v2: VersionedObject = {
      apiVersion: 'access.smi-spec.io/v1alpha2', kind: 'TrafficTarget', metadata: { name: 't', namespace: 'default', annotations: { team: 'a' } },
      spec: { destination: { kind: 'ServiceAccount', name: 'b', port: '9091' }, sources: [{ kind: 'ServiceAccount', name: 'a' }], rules: [{ kind: 'TCPRoute', name: 'r' }] },
    };
    const v3 = convert(v2, 'v1alpha3');
    deepStrictEqual((v3.spec as { destination: unknown }).destination, { kind: 'ServiceAccount', name: 'b' });
    equal((toHub(v3).spec as HubTrafficTargetSpec).destination.port, 9091, 'the port still restricts access when read as v1alpha3');
    deepStrictEqual(convert(v3, 'v1alpha2'), v2);
  });

  test('v1alpha2 headers survive v1alpha1, which has none', () => {
    const v2: VersionedObject = { apiVersion: 'specs.smi-spec.io/v1alpha2', kind: 'HTTPRouteGroup', metadata: { name: 'r' }, matches: [{ name: 'ff', pathRegex: '/x', headers: [{ 'user-agent': '.*Firefox.*' }] }] };
    const v1 = convert(v2, 'v1alpha1');
    deepStrictEqual(v1.matches, [{ name: 'ff', pathRegex: '/x' }]);
    deepStrictEqual(convert(v1, 'v1alpha2'), v2);
  });

  test('an unreadable preserve annotation is ignored, not fatal', () => {
    const v2: VersionedObject = { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 's', annotations: { [PRESERVE_ANNOTATION]: '{not json' } }, spec: { service: 'web', backends: [{ service: 'a', weight: 1 }] } };
    deepStrictEqual(convert(v2, 'v1alpha4').metadata, { name: 's', annotations: {} });
  });
});
