/**
 * Pods made from a workload document are kept across snapshots while the document is the same
 * object (local mode's folder reader keeps documents of files it did not read again), and
 * made again when the document was read again or the pod's address changed.
 */
import { deepStrictEqual, equal, notEqual } from 'node:assert/strict';
import { test } from 'node:test';
import type { PodInput } from '../../model/index.ts';
import { parseYamlText } from './read-yaml.ts';
import { snapshotFromDocuments } from './snapshot.ts';

const deployment = (replicas: number) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: ${replicas}\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: app\n        ports:\n        - containerPort: 8080\n`;
const documents = (text: string) => parseYamlText('web.yaml', text).documents.map((d) => d.value);

test('pods of an unchanged workload document are kept; a document read again or a new address makes them again', () => {
  const generated = new WeakMap<object, readonly PodInput[]>();
  const addresses = new Map([['web-0', '10.0.0.1'], ['web-1', '10.0.0.2']]);
  const allocate = (_ns: string, pod: string) => addresses.get(pod) ?? '10.0.0.9';
  const docs = documents(deployment(2));
  const first = snapshotFromDocuments(docs, { allocate, generated }).pods;
  const again = snapshotFromDocuments(docs, { allocate, generated }).pods;
  equal(again[0], first[0], 'the same pod, not made again');
  equal(again[1], first[1]);
  // Without the cache, or from a document read again, the pods are new objects of equal content.
  const fresh = snapshotFromDocuments(documents(deployment(2)), { allocate, generated }).pods;
  notEqual(fresh[0], first[0]);
  deepStrictEqual(fresh, first);
  // A pod whose address changed is made again; the others are kept.
  addresses.set('web-1', '10.0.0.7');
  const moved = snapshotFromDocuments(docs, { allocate, generated }).pods;
  equal(moved[0], first[0]);
  equal(moved[1]?.ip, '10.0.0.7');
  // More replicas in a document read again: every pod from it, the new one too.
  deepStrictEqual(snapshotFromDocuments(documents(deployment(3)), { allocate, generated }).pods.map((p) => p.name), ['web-0', 'web-1', 'web-2']);
});
