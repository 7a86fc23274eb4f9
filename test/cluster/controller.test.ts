/**
 * The controller against a real API server: informers see Services, Pods and SMI objects of
 * any version, the topology and proxy configs follow kubectl-style edits, and status
 * conditions are written (status only, never spec).
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { CertificateAuthority, identityOf } from '../../src/control/ca/authority.ts';
import { DistributionServer } from '../../src/control/distribute/server.ts';
import { KubernetesController } from '../../src/control/kubernetes.ts';
import { LeaderElector } from '../../src/control/leader.ts';
import { loadMeshConfig } from '../../src/control/mesh-config-map.ts';
import { secretRootStore, TOKEN_AUDIENCE, tokenReviewVerifier } from '../../src/control/kubernetes-identity.ts';
import { createCsr, generateKeyPair } from '../../src/lib/csr.ts';
import { startCluster, type TestCluster } from './harness.ts';
import { installSmi } from './smi-setup.ts';
import { waitFor } from '../support/wait.ts';
import { checkSourceContract, CONTRACT_OBJECTS } from '../support/source-contract.ts';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');


describe('controller on a real API server', () => {
  let cluster: TestCluster;
  let smi: { stop(): Promise<void> };
  let controller: KubernetesController;
  const ok201 = async (path: string, body: unknown) => {
    const res = await cluster.api('POST', path, body);
    ok(res.status === 201 || res.status === 200, `${path}: ${JSON.stringify(res.body)}`);
  };
  const pod = async (name: string, labels: Record<string, string>, sa: string, ip: string) => {
    await ok201('/api/v1/namespaces/shop/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop', labels },
      spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] }, { name: 'skiff-proxy', image: 'skiff' }] },
    });
    const res = await cluster.api('PATCH', `/api/v1/namespaces/shop/pods/${name}/status`, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } });
    ok(res.status === 200, JSON.stringify(res.body));
  };

  before(async () => {
    cluster = await startCluster();
    smi = await installSmi(cluster);
    await ok201('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', annotations: { 'skiff.dev/access': 'permissive' } } });
    for (const sa of ['web', 'client', 'default']) await ok201('/api/v1/namespaces/shop/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } }).catch(() => undefined);
    for (const [name, selector] of [['web', { app: 'web' }], ['web-v1', { app: 'web', version: 'v1' }], ['web-v2', { app: 'web', version: 'v2' }]] as const) {
      await ok201('/api/v1/namespaces/shop/services', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    }
    await pod('web-v1-0', { app: 'web', version: 'v1' }, 'web', '10.244.0.11');
    await pod('web-v2-0', { app: 'web', version: 'v2' }, 'web', '10.244.0.12');
    await pod('client-0', { app: 'client' }, 'client', '10.244.0.13');
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    controller = new KubernetesController({ kubeconfig: kc, statusIntervalMs: 300 });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await smi?.stop();
    await cluster?.stop();
  });

  const webRoute = () => controller.controller.proxies.get('shop/client-0')?.config.outbound.services.find((s) => s.namespace === 'shop' && s.name === 'web')?.ports[0]?.routes[0];

  test('pods and services become endpoints and configs', async () => {
    const topology = await waitFor('three meshed pods', () => controller.controller.topology?.pods.filter((p) => p.meshed).length === 3 && controller.controller.topology);
    deepStrictEqual(topology.services.find((s) => s.name === 'web')?.ports[0]?.endpoints.map((e) => e.address), ['10.244.0.11', '10.244.0.12']);
    equal(controller.controller.proxies.get('shop/client-0')?.identity, 'spiffe://cluster.local/ns/shop/sa/client');
    // Every proxy calls web and web-v2, as a sidecar resolving on demand asks for them at its application's first call.
    for (const id of ['shop/client-0', 'shop/web-v1-0', 'shop/web-v2-0']) deepStrictEqual(controller.controller.demand(id, { hosts: ['web', 'web-v2.shop.svc.cluster.local'] })?.hosts, ['shop/web', 'shop/web-v2']);
  });

  test('a v1alpha2 TrafficSplit (Flagger\'s) routes the apex by weight; a weight change via the API follows; status is written, spec never', async () => {
    await ok201('/apis/split.smi-spec.io/v1alpha2/namespaces/shop/trafficsplits', { apiVersion: 'split.smi-spec.io/v1alpha2', kind: 'TrafficSplit', metadata: { name: 'web' }, spec: { service: 'web', backends: [{ service: 'web-v1', weight: 90 }, { service: 'web-v2', weight: 10 }] } });
    await waitFor('the split route', () => webRoute()?.split === 'shop/web');
    deepStrictEqual(webRoute()?.backends, [{ cluster: 'shop/web-v1:80', weight: 90 }, { cluster: 'shop/web-v2:80', weight: 10 }]);
    const path = '/apis/split.smi-spec.io/v1alpha2/namespaces/shop/trafficsplits/web';
    // Like Flagger: GET then PUT; a status write in between makes the PUT conflict, so retry.
    await waitFor('the weights update', async () => {
      const current = (await cluster.api('GET', path)).body as { spec: { backends: { weight: number }[] } };
      current.spec.backends[0]!.weight = 40;
      current.spec.backends[1]!.weight = 60;
      const put = await cluster.api('PUT', path, current);
      ok(put.status === 200 || put.status === 409, JSON.stringify(put.body));
      return put.status === 200;
    });
    await waitFor('the new weights', () => webRoute()?.backends[0]?.weight === 40);
    const stored = await waitFor('status conditions', async () => {
      const o = (await cluster.api('GET', '/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits/web')).body as { spec: unknown; metadata: { generation: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string }[]; proxies?: { total: number } } };
      return o.status?.observedGeneration === o.metadata.generation && o.status.conditions?.length === 3 && o;
    });
    deepStrictEqual(stored.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs', 'Programmed=False/Pending']);
    equal(stored.status?.proxies?.total, 3);
    deepStrictEqual(stored.spec, { service: 'web', backends: [{ service: 'web-v1', weight: 40 }, { service: 'web-v2', weight: 60 }] }, 'spec is exactly what the client wrote');
  });

  test('a split whose root does not exist is reported in its status, not applied', async () => {
    await ok201('/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits', { apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: { name: 'ghost' }, spec: { service: 'ghost', backends: [{ service: 'web-v1', weight: 1 }] } });
    const o = await waitFor('ResolvedRefs=False', async () => {
      const got = (await cluster.api('GET', '/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits/ghost')).body as { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };
      return got.status?.conditions?.find((c) => c.type === 'ResolvedRefs' && c.status === 'False') && got;
    });
    const resolved = o.status?.conditions?.find((c) => c.type === 'ResolvedRefs');
    equal(resolved?.reason, 'RefNotFound');
    ok(resolved?.message.includes('SKIFF_E_SPLIT_ROOT_MISSING'));
    const event = await waitFor('an Event on the split (kubectl describe shows it)', async () => {
      const events = (await cluster.api('GET', '/api/v1/namespaces/shop/events')).body as { items: { reason: string; type: string; message: string; involvedObject: { kind: string; name: string } }[] };
      return events.items.find((e) => e.involvedObject.kind === 'TrafficSplit' && e.involvedObject.name === 'ghost' && e.reason === 'SKIFF_E_SPLIT_ROOT_MISSING');
    });
    equal(event.type, 'Warning');
    equal(event.message, 'spec.service: Service shop/ghost does not exist');
    // Deleted and created again, unchanged: the new object starts without a status, and gets one.
    equal((await cluster.api('DELETE', '/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits/ghost')).status, 200);
    await ok201('/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits', { apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', metadata: { name: 'ghost' }, spec: { service: 'ghost', backends: [{ service: 'web-v1', weight: 1 }] } });
    await waitFor('the status of the object created again', async () => {
      const got = (await cluster.api('GET', '/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits/ghost')).body as { status?: { conditions?: { type: string; status: string }[] } };
      return got.status?.conditions?.some((c) => c.type === 'ResolvedRefs' && c.status === 'False');
    });
  });

  test('after an API server restart the controller recovers and later changes still propagate', async () => {
    await cluster.restartApiServer(1000);
    await ok201('/apis/split.smi-spec.io/v1alpha3/namespaces/shop/trafficsplits', { apiVersion: 'split.smi-spec.io/v1alpha3', kind: 'TrafficSplit', metadata: { name: 'after-restart' }, spec: { service: 'web-v2', backends: [{ service: 'web-v1', weight: 1 }] } });
    await waitFor('the new split after the restart', () => controller.controller.proxies.get('shop/client-0')?.config.outbound.services.find((s) => s.name === 'web-v2')?.ports[0]?.routes[0]?.split === 'shop/after-restart', 45_000);
  });

  test('sidecars get certificates for exactly their ServiceAccount, proven by TokenReview; the CA root lives in a Secret', async () => {
    await ok201('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skiff-system' } });
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    const ca = await CertificateAuthority.open({ trustDomain: 'cluster.local', store: secretRootStore(kc, 'skiff-system') });
    const again = await CertificateAuthority.open({ trustDomain: 'cluster.local', store: secretRootStore(kc, 'skiff-system') });
    equal(again.trustBundle(), ca.trustBundle(), 'a second replica uses the same root');
    const server = new DistributionServer({ controller: controller.controller, ca, host: '127.0.0.1', port: 0, verifyToken: tokenReviewVerifier(kc) });
    const url = await server.start();
    try {
      const token = async (sa: string) => ((await cluster.api('POST', `/api/v1/namespaces/shop/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [TOKEN_AUDIENCE], expirationSeconds: 600 } })).body as { status: { token: string } }).status.token;
      const ask = async (tok: string) => {
        const keys = generateKeyPair();
        const res = await request(`${url}/v1/certificate`, { method: 'POST', dispatcher: new Agent({ connect: { ca: ca.trustBundle() } }), headers: { 'content-type': 'application/json' }, body: JSON.stringify({ proxy: 'shop/client-0', csr: createCsr(keys, 'x'), token: tok }) });
        return { status: res.statusCode, body: await res.body.json() as { certificate?: string } };
      };
      const good = await ask(await token('client'));
      equal(good.status, 200);
      equal(identityOf(good.body.certificate ?? ''), 'spiffe://cluster.local/ns/shop/sa/client');
      equal((await ask(await token('web'))).status, 403, 'a token of another ServiceAccount proves nothing');
      equal((await ask('not-a-token')).status, 403);
    } finally {
      await server.close();
    }
  });

  test('mesh-wide settings come from the skiff-mesh ConfigMap: a valid one applies, a bad field keeps its default and is reported', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    await cluster.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skiff-system' } });
    equal((await loadMeshConfig(kc, 'skiff-system')).found, false, 'no ConfigMap: defaults');
    await ok201('/api/v1/namespaces/skiff-system/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'skiff-mesh' }, data: { 'mesh.yaml': 'apiVersion: skiff.dev/v1alpha1\nkind: MeshConfig\nspec:\n  trustDomain: example.org\n  defaultAccessMode: permissive\n  clusterDomain: Not A Domain\n' } });
    const settings = await loadMeshConfig(kc, 'skiff-system');
    deepStrictEqual(settings.mesh, { trustDomain: 'example.org', clusterDomain: 'cluster.local', defaultAccessMode: 'permissive' });
    deepStrictEqual(settings.issues.map((i) => `${i.code} ${i.path}`), ['SKIFF_E_MESH_CONFIG spec.clusterDomain']);
    const withDomain = new KubernetesController({ kubeconfig: kc, mesh: settings.mesh });
    await withDomain.start();
    try {
      const pod = await waitFor('a pod with the configured trust domain', () => withDomain.controller.topology?.pods.find((p) => p.meshed));
      ok(pod.identity.startsWith('spiffe://example.org/'), pod.identity);
    } finally {
      await withDomain.stop();
    }
  });

  test('two replicas elect one leader with a Lease; when it stops, the other takes over', async () => {
    await cluster.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'skiff-system' } });
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    const a = new LeaderElector(kc, { namespace: 'skiff-system', name: 'test-lease', identity: 'replica-a', leaseMs: 3000, renewMs: 200 });
    const b = new LeaderElector(kc, { namespace: 'skiff-system', name: 'test-lease', identity: 'replica-b', leaseMs: 3000, renewMs: 200 });
    a.start();
    await waitFor('replica a leads', () => a.isLeader || (a.lastError ? (() => { throw new Error(a.lastError); })() : false));
    b.start();
    await new Promise((r) => setTimeout(r, 1000));
    equal(b.isLeader, false, 'only one leader at a time');
    await a.stop();
    // A released lease is taken within a renew period; the margin is for a loaded 2-core CI machine.
    await waitFor('replica b takes over', () => b.isLeader, 15_000);
    equal(a.isLeader, false);
    await b.stop();
  });

  test('deploy/ manifests are accepted by the API server, and the controller\'s RBAC allows status but never spec', async () => {
    const paths: Record<string, string> = {
      Namespace: '/api/v1/namespaces', ServiceAccount: '/api/v1/namespaces/skiff-system/serviceaccounts', ConfigMap: '/api/v1/namespaces/skiff-system/configmaps', Service: '/api/v1/namespaces/skiff-system/services',
      Deployment: '/apis/apps/v1/namespaces/skiff-system/deployments', ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', Role: '/apis/rbac.authorization.k8s.io/v1/namespaces/skiff-system/roles',
      RoleBinding: '/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings', ValidatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      MutatingWebhookConfiguration: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', APIService: '/apis/apiregistration.k8s.io/v1/apiservices',
    };
    const kustomization = parse(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    for (const file of kustomization.resources.filter((r) => !r.startsWith('..'))) {
      for (const doc of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((d) => d.toJS())) {
        const path = paths[doc.kind]?.replace('{ns}', doc.metadata.namespace ?? '');
        ok(path, `no API path for ${doc.kind}`);
        // RBAC for real (the access review below needs it); everything else as a server-side dry run.
        const real = file === 'rbac.yaml' || doc.kind === 'Namespace' || doc.kind === 'ServiceAccount' || doc.kind === 'ConfigMap';
        const res = await cluster.api('POST', `${path}${real ? '' : '?dryRun=All'}`, doc);
        ok(res.status === 201 || res.status === 200 || res.status === 409, `${file} ${doc.kind}/${doc.metadata.name}: ${JSON.stringify(res.body)}`);
      }
    }
    const can = async (verb: string, resource: string, subresource = '') => ((await cluster.api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: 'system:serviceaccount:skiff-system:skiff-controller', groups: ['system:serviceaccounts'], resourceAttributes: { group: 'split.smi-spec.io', resource, subresource, verb, namespace: 'shop' } },
    })).body as { status: { allowed: boolean } }).status.allowed;
    equal(await can('patch', 'trafficsplits', 'status'), true);
    equal(await can('watch', 'trafficsplits'), true);
    equal(await can('update', 'trafficsplits'), false, 'the controller cannot change a TrafficSplit\'s spec');
    equal(await can('delete', 'trafficsplits'), false);
  });

  test('the Kubernetes source keeps the source contract (the same suite the YAML-folder source passes)', async () => {
    const paths: Record<string, (o: { metadata: { namespace?: string } }) => string> = {
      Namespace: () => '/api/v1/namespaces',
      Service: (o) => `/api/v1/namespaces/${o.metadata.namespace}/services`,
      Pod: (o) => `/api/v1/namespaces/${o.metadata.namespace}/pods`,
      TrafficSplit: (o) => `/apis/split.smi-spec.io/v1alpha2/namespaces/${o.metadata.namespace}/trafficsplits`,
      HTTPRouteGroup: (o) => `/apis/specs.smi-spec.io/v1alpha2/namespaces/${o.metadata.namespace}/httproutegroups`,
      TCPRoute: (o) => `/apis/specs.smi-spec.io/v1alpha4/namespaces/${o.metadata.namespace}/tcproutes`,
      TrafficTarget: (o) => `/apis/access.smi-spec.io/v1alpha1/namespaces/${o.metadata.namespace}/traffictargets`,
    };
    for (const object of CONTRACT_OBJECTS as { kind: string; metadata: { name: string; namespace?: string }; status?: unknown }[]) {
      const { status, ...body } = object;
      await ok201(paths[object.kind]?.(object) ?? '', body);
      if (object.kind === 'Pod') {
        const res = await cluster.api('PATCH', `/api/v1/namespaces/${object.metadata.namespace}/pods/${object.metadata.name}/status`, { status });
        equal(res.status, 200, JSON.stringify(res.body));
      }
    }
    await waitFor('the contract objects in the snapshot', () => controller.source.snapshot().pods.filter((p) => p.namespace === 'contract' && p.ip).length === 2 && controller.source.snapshot().smi.filter((p) => p.ref.namespace === 'contract').length === 4);
    checkSourceContract(controller.source.snapshot());
    // A TrafficSplit edit hands over the very same arrays of every other kind (the model then
    // reuses its Services-and-pods build), and in the pods only a replaced pod is converted again.
    const before = controller.source.snapshot();
    const path = '/apis/split.smi-spec.io/v1alpha4/namespaces/contract/trafficsplits';
    const splits = (await cluster.api('GET', path)).body as { items: { metadata: { name: string } }[] };
    const name = splits.items[0]?.metadata.name as string;
    equal((await cluster.api('PATCH', `${path}/${name}`, { metadata: { labels: { edited: 'yes' } } })).status, 200);
    const after = await waitFor('the edit in the snapshot', () => {
      const now = controller.source.snapshot();
      return now.smi.some((o) => o.ref.name === name && (o.hub?.metadata.labels as Record<string, string> | undefined)?.edited === 'yes') && now;
    });
    equal(after.pods, before.pods);
    equal(after.services, before.services);
    equal(after.namespaces, before.namespaces);
    const pod = before.pods.find((p) => p.namespace === 'contract') as (typeof before.pods)[number];
    equal((await cluster.api('PATCH', `/api/v1/namespaces/contract/pods/${pod.name}`, { metadata: { labels: { edited: 'yes' } } })).status, 200);
    const relabelled = await waitFor('the pod edit in the snapshot', () => {
      const now = controller.source.snapshot();
      return now.pods.some((p) => p.name === pod.name && p.labels.edited === 'yes') && now;
    });
    const others = before.pods.filter((p) => p !== pod);
    equal(others.every((p) => relabelled.pods.includes(p)), true, 'every other pod is the object it was');
  });

  test('deleting the split restores plain service routing', async () => {
    equal((await cluster.api('DELETE', '/apis/split.smi-spec.io/v1alpha4/namespaces/shop/trafficsplits/web')).status, 200);
    await waitFor('the plain route', () => webRoute()?.name === 'default');
    deepStrictEqual(webRoute()?.backends, [{ cluster: 'shop/web:80', weight: 1 }]);
  });
});
