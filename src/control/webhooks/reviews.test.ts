import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { reviewAdmission, reviewConversion } from './reviews.ts';

const v2 = { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '7' }, spec: { service: 'web', backends: [{ service: 'web-v1', weight: 90 }, { service: 'web-v2', weight: 10 }] } };

test('conversion reviews convert every object to the desired version, keeping metadata', () => {
  const out = reviewConversion({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request: { uid: 'r1', desiredAPIVersion: 'split.smi-spec.io/v1alpha4', objects: [v2] } });
  equal(out.response?.result.status, 'Success');
  equal(out.response?.uid, 'r1');
  deepStrictEqual(out.response?.convertedObjects, [{ ...v2, apiVersion: 'split.smi-spec.io/v1alpha4' }]);
});

test('admission refuses objects with errors using validate\'s messages, and passes warnings on', () => {
  const bad = structuredClone(v2);
  bad.spec.backends[1]!.weight = -10;
  const refused = reviewAdmission({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'a1', operation: 'CREATE', object: bad } });
  equal(refused.response?.allowed, false);
  equal(refused.response?.status?.code, 422);
  ok(refused.response?.status?.message.includes('spec.backends[1].weight: must be a non-negative integer, got -10 [SKIFF_E_SPLIT_WEIGHT]'));
  const zero = structuredClone(v2);
  zero.spec.backends = [{ service: 'web-v1', weight: 0 }];
  const warned = reviewAdmission({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'a2', operation: 'CREATE', object: zero } });
  equal(warned.response?.allowed, true);
  ok(warned.response?.warnings?.[0]?.includes('SKIFF_W_SPLIT_ALL_ZERO'));
  equal(reviewAdmission({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'a3', operation: 'DELETE' } }).response?.allowed, true);
});
