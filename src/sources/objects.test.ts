import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { toPod } from './objects.ts';

const IN_CLUSTER = { injects: false, readyWithoutStatus: false };
const FROM_YAML = { injects: true, readyWithoutStatus: true };

const pod = (extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'web-5d8f-abcde', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': '5d8f' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d8f', controller: true }] },
  spec: { serviceAccountName: 'web', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }, { name: 'skiff-proxy', ports: [{ containerPort: 15006 }] }] },
  status: { podIP: '10.244.0.7', conditions: [{ type: 'Ready', status: 'True' }] },
  ...extra,
});

test('both sources read the same pod the same way: meshed by its sidecar, workload through the ReplicaSet, the sidecar\'s ports left out', () => {
  const cluster = toPod(pod(), IN_CLUSTER);
  deepStrictEqual(toPod(pod(), FROM_YAML), cluster);
  equal(cluster.meshed, true);
  deepStrictEqual(cluster.owner, { kind: 'Deployment', name: 'web' });
  deepStrictEqual(cluster.containerPorts, [{ containerPort: 8080, name: 'http' }]);
  equal(cluster.ready, true);
});

test('without a sidecar container a cluster pod is not meshed; YAML that local mode runs is, unless it opts out', () => {
  const plain = { ...pod(), spec: { containers: [{ name: 'app' }] } };
  equal(toPod(plain, IN_CLUSTER).meshed, false);
  equal(toPod(plain, FROM_YAML).meshed, true);
  const optedOut = { ...plain, metadata: { ...plain.metadata, annotations: { 'skiff.dev/inject': 'false' } } };
  equal(toPod(optedOut, FROM_YAML).meshed, false);
});

test('readiness: the Ready condition decides; no status counts as ready only for hand-written YAML; a deleting pod never is', () => {
  const noStatus = { ...pod(), status: {} };
  equal(toPod(noStatus, IN_CLUSTER).ready, false);
  equal(toPod(noStatus, FROM_YAML).ready, true);
  equal(toPod(pod({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }), FROM_YAML).ready, false);
  const deleting = { ...pod(), metadata: { ...pod().metadata, deletionTimestamp: '2026-11-30T00:00:00Z' } };
  equal(toPod(deleting, IN_CLUSTER).ready, false);
});

test('garbage fields do not throw', () => {
  const weird = toPod({ metadata: 'x', spec: { containers: 'y' }, status: 7 }, IN_CLUSTER);
  deepStrictEqual([weird.name, weird.meshed, weird.ready, weird.containerPorts], ['', false, false, []]);
});
