/**
 * `skiff check --pre`, `skiff install` and `skiff uninstall` against a real kube-apiserver,
 * through kubectl as a user runs them (no node here: the controller never starts; the node
 * tests check a running install).
 */
import { equal, ok } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from './harness.ts';

const SKIFF = join(import.meta.dirname, '..', '..', 'bin', 'skiff.mjs');

describe('install, check --pre and uninstall on a real API server', () => {
  let cluster: TestCluster;
  const skiff = (...args: string[]) => new Promise<{ status: number; out: string; err: string }>((resolve) => {
    execFile(process.execPath, [SKIFF, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ status: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }));
  });

  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('check --pre passes on an empty cluster with an admin kubeconfig', async () => {
    const pre = await skiff('check', '--pre', '--namespace', 'mesh-a', '--kubeconfig', cluster.kubeconfigPath);
    equal(pre.status, 0, pre.out + pre.err);
    for (const line of ['✔ Kubernetes API reachable and new enough: v1.', '✔ clock in step with the API server', '✔ permissions to install: all granted', '✔ namespace mesh-a free: not there yet']) ok(pre.out.includes(line), `${line}\n${pre.out}`);
  });

  test('skiff install | kubectl apply -f - creates everything; check --pre then says the namespace is taken; uninstall removes it all', async () => {
    const manifests = await skiff('install', '--namespace', 'mesh-a', '--trust-domain', 'example.org', '--replicas', '1');
    equal(manifests.status, 0, manifests.err);
    const applied = await cluster.kubectl(['apply', '-f', '-'], manifests.out);
    equal(applied.status, 0, applied.stderr);
    ok(applied.stdout.includes('mutatingwebhookconfiguration.admissionregistration.k8s.io/skiff-injector created'), applied.stdout);
    const mesh = (await cluster.api('GET', '/api/v1/namespaces/mesh-a/configmaps/skiff-mesh')).body as { data: Record<string, string> };
    ok(mesh.data['mesh.yaml']?.includes('trustDomain: example.org'));
    const pre = await skiff('check', '--pre', '--namespace', 'mesh-a', '--kubeconfig', cluster.kubeconfigPath);
    equal(pre.status, 1);
    ok(pre.out.includes('✘ namespace mesh-a free: it exists already'), pre.out);
    // The output is stable: against what it installed, the server sees nothing to change (GitOps tools show no drift).
    const diff = await cluster.kubectl(['diff', '-f', '-'], (await skiff('install', '--namespace', 'mesh-a', '--trust-domain', 'example.org', '--replicas', '1')).out);
    equal(diff.status, 0, diff.stdout + diff.stderr);
    const removed = await cluster.kubectl(['delete', '--wait=false', '-f', '-'], (await skiff('uninstall', '--namespace', 'mesh-a')).out);
    equal(removed.status, 0, removed.stderr);
    for (const path of ['/apis/rbac.authorization.k8s.io/v1/clusterroles/skiff-controller', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/skiff-injector', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/trafficsplits.split.smi-spec.io']) {
      const r = await cluster.api('GET', path);
      ok(r.status === 404 || (r.body as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp, `${path} is gone or going`);
    }
  });
});
