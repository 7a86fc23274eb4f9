/** Installs Skiff's SMI CRDs (conversion through a local webhook server) and the validating webhook. */
import { equal } from 'node:assert/strict';
import { parse } from 'yaml';
import { SMI_KINDS } from '../../src/api/index.ts';
import { renderCrdFiles } from '../../src/api/crds.ts';
import { startWebhookServer } from '../../src/control/webhooks/server.ts';
import type { TestCluster } from './harness.ts';

export async function installSmi(cluster: TestCluster): Promise<{ stop(): Promise<void> }> {
  const hooks = await startWebhookServer({ host: '127.0.0.1', port: 0, ...cluster.servingCertificate(['localhost']) });
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
  const webhook = await cluster.api('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'skiff-smi-validation' },
    webhooks: [{
      name: 'smi.validate.skiff.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5,
      clientConfig: { url: `${hooks.url}/validate`, caBundle },
      rules: [{ apiGroups: [...new Set(Object.values(SMI_KINDS).map((k) => k.group))], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['*'] }],
    }],
  });
  equal(webhook.status, 201, JSON.stringify(webhook.body));
  // The API server picks the webhook configuration up asynchronously.
  await new Promise((r) => setTimeout(r, 1500));
  return { stop: () => hooks.app.close() };
}
