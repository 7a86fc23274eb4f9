import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { installManifests, renderDeployFiles, renderManifests, uninstallManifests, type KubeObject } from './manifests.ts';
import { DEFAULT_INSTALL, readInstallFlags } from './options.ts';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');

test('deploy/ is exactly the default install as rendered from src/install/ (run `npm run deploy` after a change)', () => {
  const files = renderDeployFiles(DEFAULT_INSTALL);
  deepStrictEqual(readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml')).sort(), [...files.keys()].sort());
  for (const [name, text] of files) equal(readFileSync(join(DEPLOY, name), 'utf8'), text, `deploy/${name} is stale`);
});

test('install flags reach every object: namespace, image, replicas, mesh settings', () => {
  const { options, issues } = readInstallFlags({ namespace: 'mesh', image: 'registry.example/skiff:1.2.3', replicas: '3', 'trust-domain': 'example.org', 'default-access': 'permissive' });
  deepStrictEqual(issues, []);
  const objects = parseAllDocuments(renderManifests(installManifests(options))).map((d) => d.toJS() as KubeObject);
  const text = JSON.stringify(objects);
  ok(!text.includes('skiff-system'), 'no object refers to the default namespace');
  for (const o of objects) {
    if (['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'APIService'].includes(o.kind)) equal(o.metadata.namespace, undefined, o.kind);
    else if (o.metadata.name === 'skiff-controller-auth-reader') equal(o.metadata.namespace, 'kube-system', 'the front-proxy settings are read where Kubernetes keeps them');
    else equal(o.metadata.namespace, 'mesh', `${o.kind}/${o.metadata.name}`);
  }
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { image: string; command: string[]; args: string[] }[] } } } };
  equal(deployment.spec.replicas, 3);
  equal(deployment.spec.template.spec.containers[0]?.image, 'registry.example/skiff:1.2.3');
  deepStrictEqual(deployment.spec.template.spec.containers[0]?.command, ['/usr/local/bin/node', '--max-semi-space-size=32', '/app/skiff.mjs'], 'the controller runs with its young generation sized for proxy reconnect storms');
  deepStrictEqual(deployment.spec.template.spec.containers[0]?.args, ['controller', '--namespace', 'mesh', '--proxy-image', 'registry.example/skiff:1.2.3']);
  const mesh = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: { 'mesh.yaml': string } };
  ok(mesh.data['mesh.yaml'].includes('trustDomain: example.org') && mesh.data['mesh.yaml'].includes('defaultAccessMode: permissive'));
  const crd = objects.find((o) => o.metadata.name === 'trafficsplits.split.smi-spec.io') as unknown as { spec: { conversion: { webhook: { clientConfig: { service: { namespace: string } } } } } };
  equal(crd.spec.conversion.webhook.clientConfig.service.namespace, 'mesh');
  const injector = objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as { webhooks: { namespaceSelector: { matchExpressions: { values: string[] }[] } }[] };
  for (const w of injector.webhooks) ok(w.namespaceSelector.matchExpressions.some((e) => e.values.includes('mesh')), 'the control plane\'s own namespace is never injected');
  equal(objects.at(0)?.kind, 'CustomResourceDefinition', 'CRDs first');
  deepStrictEqual(objects.slice(-2).map((o) => o.kind), ['MutatingWebhookConfiguration', 'APIService'], 'webhooks and the APIService last: they need the controller');
});

test('bad flags are reported by name with SKIFF_E_INSTALL_OPTION; nothing is half-set', () => {
  const { issues } = readInstallFlags({ namespace: 'Mesh_1', image: 'a b', replicas: '1.5', 'trust-domain': 'spiffe://x', 'cluster-domain': '-bad-', 'default-access': 'open' });
  deepStrictEqual(issues.map((i) => i.path), ['--namespace', '--image', '--replicas', '--trust-domain', '--cluster-domain', '--default-access']);
  ok(issues.every((i) => i.code === 'SKIFF_E_INSTALL_OPTION'));
  for (const replicas of ['0', '11', '-1', '2e0', ' 2']) equal(readInstallFlags({ replicas }).issues.length, 1, replicas);
});

test('uninstall removes webhooks first and the CRDs last, or keeps the CRDs', () => {
  const all = uninstallManifests(DEFAULT_INSTALL, false).map((m) => m.object);
  deepStrictEqual(all.slice(0, 3).map((o) => o.kind), ['APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'], 'the APIService first: a dangling one breaks API discovery');
  equal(all.at(-1)?.kind, 'CustomResourceDefinition');
  equal(all.length, installManifests(DEFAULT_INSTALL).length);
  const kept = uninstallManifests(DEFAULT_INSTALL, true).map((m) => m.object);
  ok(!kept.some((o) => o.kind === 'CustomResourceDefinition'));
  ok(kept.every((o) => Object.keys(o).join() === 'apiVersion,kind,metadata'), 'names only');
});
