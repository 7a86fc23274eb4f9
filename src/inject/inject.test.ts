import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { SIDECAR_BUNDLE } from '../lib/image-layout.ts';
import { quantityMiB, SIDECAR_ENV, sidecarNodeFlags } from '../lib/sidecar-runtime.ts';
import { INJECTED_ANNOTATION } from './annotations.ts';
import { defaultInjectSettings } from './defaults.ts';
import { injectManifests } from './manifests.ts';
import { injectionPatch } from './patch.ts';
import { CAPTURE_CONTAINER, injectPod, PROXY_CONTAINER, type PodTemplate } from './pod.ts';

const settings = defaultInjectSettings({ image: 'registry.example/skiff:1.2.3' });
const ENABLED = { 'skiff.dev/inject': 'enabled' };
type C = { name: string; restartPolicy?: string; command?: string[]; env?: { name: string; value?: string }[]; args?: string[]; startupProbe?: unknown; resources?: { requests: Record<string, string>; limits: Record<string, string> }; securityContext?: Record<string, unknown> };
const pod = (annotations: Record<string, string> = {}, spec: Record<string, unknown> = {}): PodTemplate => ({
  metadata: { name: 'web', annotations },
  spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'app', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/healthz', port: 'http' } } }], ...spec },
});
const inits = (t: PodTemplate) => (t.spec?.initContainers ?? []) as C[];

test('a pod in an enabled namespace gets the capture step, then the proxy as a native sidecar gated by a startup probe', () => {
  const r = injectPod(pod(), 'shop', ENABLED, settings);
  ok(r.injected);
  const [capture, proxy] = inits(r.template);
  equal(capture?.name, CAPTURE_CONTAINER);
  deepEqual(capture?.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
  equal(proxy?.name, PROXY_CONTAINER);
  equal(proxy?.restartPolicy, 'Always');
  ok(proxy?.startupProbe);
  equal(proxy?.securityContext?.runAsUser, settings.proxyUid);
  deepEqual(proxy?.resources, { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } });
  ok(proxy?.args?.includes('--capture'));
  // The sidecar bundle with its memory settings, not the whole command.
  deepEqual(proxy?.command, ['/usr/local/bin/node', '--max-semi-space-size=2', '--max-old-space-size=96', '--no-maglev', '--disable-warning=UNDICI-ES', SIDECAR_BUNDLE]);
  equal(proxy?.env?.find((e) => e.name === 'MALLOC_ARENA_MAX')?.value, SIDECAR_ENV.MALLOC_ARENA_MAX);
  // The application's HTTP probe by named port becomes an allowed plaintext probe path.
  equal(proxy?.args?.[proxy.args.indexOf('--probe-paths') + 1], '8080:/healthz');
  equal((r.template.metadata?.annotations as Record<string, string>)[INJECTED_ANNOTATION], settings.version);
  // Prometheus' annotation convention points at the sidecar's health listener (its /metrics).
  equal((r.template.metadata?.annotations as Record<string, string>)['prometheus.io/port'], '15021');
  const volumes = r.template.spec?.volumes as { name: string; projected?: { sources: { serviceAccountToken?: { audience: string } }[] } }[];
  equal(volumes.find((v) => v.name === 'skiff-identity')?.projected?.sources[0]?.serviceAccountToken?.audience, 'skiff');
  // The application containers are untouched.
  deepEqual(r.template.spec?.containers, pod().spec?.containers);
});

test('the pod\'s own annotation wins over its namespace\'s; nothing is injected without either', () => {
  equal(injectPod(pod({ 'skiff.dev/inject': 'disabled' }), 'shop', ENABLED, settings).injected, false);
  equal(injectPod(pod(ENABLED), 'shop', {}, settings).injected, true);
  const none = injectPod(pod(), 'shop', {}, settings);
  ok(!none.injected && none.reason.includes('neither'));
});

test('system namespaces, Skiff\'s own, host-network pods and injected pods are never injected', () => {
  for (const ns of ['kube-system', 'skiff-system']) equal(injectPod(pod(ENABLED), ns, ENABLED, settings).injected, false);
  const host = injectPod(pod(ENABLED, { hostNetwork: true }), 'shop', {}, settings);
  ok(!host.injected);
  equal(host.issues[0]?.code, 'SKIFF_W_INJECT_HOST_NETWORK');
  const once = injectPod(pod(), 'shop', ENABLED, settings);
  ok(once.injected);
  const twice = injectPod(once.template, 'shop', ENABLED, settings);
  ok(!twice.injected && twice.reason === 'already injected');
});

test('resources and capture exclusions come from annotations; unreadable ones stop injection with the field named', () => {
  const r = injectPod(pod({ 'skiff.dev/proxy-memory-limit': '256Mi', 'skiff.dev/proxy-cpu-limit': '1', 'skiff.dev/skip-outbound-ports': '3306,9000-9100', 'skiff.dev/skip-outbound-cidrs': '10.1.2.3', 'skiff.dev/skip-inbound-ports': '9090' }), 'shop', ENABLED, settings);
  ok(r.injected);
  const [capture, proxy] = inits(r.template);
  deepEqual(proxy?.resources?.limits, { memory: '256Mi', cpu: '1' });
  // V8's old generation follows the memory limit, leaving room for everything else.
  ok(proxy?.command?.includes('--max-old-space-size=224'), proxy?.command?.join(' '));
  deepEqual(capture?.args?.slice(7), ['--skip-inbound-ports', '15021,9090', '--skip-outbound-ports', '3306,9000:9100', '--skip-outbound-cidrs', '10.1.2.3/32']);
  const bad = injectPod(pod({ 'skiff.dev/skip-outbound-ports': '70000', 'skiff.dev/proxy-memory-limit': 'lots', 'skiff.dev/skip-outbound-cidrs': '10.0.0.0/33' }), 'shop', ENABLED, settings);
  ok(!bad.injected);
  deepEqual(bad.issues.map((i) => [i.code, i.path]), [
    ['SKIFF_E_INJECT_ANNOTATION', 'metadata.annotations["skiff.dev/skip-outbound-ports"]'],
    ['SKIFF_E_INJECT_ANNOTATION', 'metadata.annotations["skiff.dev/skip-outbound-cidrs"]'],
    ['SKIFF_E_INJECT_ANNOTATION', 'metadata.annotations["skiff.dev/proxy-memory-limit"]'],
  ]);
});

test('an application running as the proxy\'s uid would bypass the capture: refused', () => {
  const r = injectPod(pod({}, { securityContext: { runAsUser: settings.proxyUid } }), 'shop', ENABLED, settings);
  ok(!r.injected);
  equal(r.issues[0]?.code, 'SKIFF_E_INJECT_PROXY_UID');
  equal(r.issues[0]?.path, 'spec.containers[0].securityContext.runAsUser');
});

test('the webhook patch, applied to the pod, gives the injected pod; existing init containers and volumes are kept after Skiff\'s', () => {
  const input = pod({}, { initContainers: [{ name: 'migrate', image: 'm' }], volumes: [{ name: 'data', emptyDir: {} }] });
  const r = injectPod(input, 'shop', ENABLED, settings);
  ok(r.injected);
  const patched = structuredClone(input) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  for (const op of injectionPatch(r.template, input)) {
    const [, top, key] = op.path.split('/') as [string, 'metadata' | 'spec', string];
    patched[top][key] = op.value;
  }
  deepEqual(patched, r.template);
  deepEqual(inits(r.template).map((c) => c.name), [CAPTURE_CONTAINER, PROXY_CONTAINER, 'migrate']);
  deepEqual((r.template.spec?.volumes as { name: string }[]).map((v) => v.name), ['data', 'skiff-identity', 'skiff-certs']);
});

test('skiff inject injects every kind of pod template in a YAML stream, keeps other documents, and is idempotent', () => {
  const yaml = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: app}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec: {schedule: "@daily", jobTemplate: {spec: {template: {spec: {containers: [{name: job, image: j}], restartPolicy: Never}}}}}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: opted-out, namespace: shop, annotations: {skiff.dev/inject: disabled}}
  spec: {containers: [{name: app, image: app}]}
`;
  const once = injectManifests(yaml, settings);
  deepEqual(once.errors, []);
  deepEqual(once.reports.map((r) => [r.object, r.injected]), [['Deployment/shop/web', true], ['CronJob/shop/nightly', true], ['Pod/shop/opted-out', false]]);
  const docs = parseAllDocuments(once.text).map((d) => d.toJS() as unknown);
  const at = (o: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
  equal(docs.length, 4);
  equal(at(docs[0], 'kind'), 'Service');
  equal(at(docs[1], 'spec.template.spec.initContainers.1.name'), PROXY_CONTAINER);
  equal(at(docs[2], 'spec.jobTemplate.spec.template.spec.initContainers.1.name'), PROXY_CONTAINER);
  equal(at(docs[3], 'items.0.spec.initContainers'), undefined);
  const twice = injectManifests(once.text, settings);
  equal(twice.text, once.text);
  ok(twice.reports.every((r) => !r.injected));
});

test('a pod with its own prometheus.io annotations keeps them: the application\'s metrics win', () => {
  const r = injectPod(pod({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' }), 'shop', { 'skiff.dev/inject': 'enabled' }, settings);
  ok(r.injected);
  const annotations = r.template.metadata?.annotations as Record<string, string>;
  equal(annotations['prometheus.io/port'], '9090');
  equal(annotations['prometheus.io/path'], undefined);
});

test('memory quantities read as Kubernetes writes them, and the old generation follows the limit', () => {
  equal(quantityMiB('128Mi'), 128);
  equal(quantityMiB('1Gi'), 1024);
  equal(quantityMiB('134217728'), 128);
  equal(quantityMiB('1G'), 1e9 / 1024 ** 2);
  equal(quantityMiB('lots'), undefined);
  deepEqual(sidecarNodeFlags('64Mi'), ['--max-semi-space-size=2', '--max-old-space-size=48', '--no-maglev', '--disable-warning=UNDICI-ES']);
  deepEqual(sidecarNodeFlags('512Mi'), ['--max-semi-space-size=2', '--max-old-space-size=480', '--no-maglev', '--disable-warning=UNDICI-ES']);
});

test('declared UDP ports get relay ports of their own, the same in the capture step and the proxy; skipped ones none', () => {
  const udp = { containers: [{ name: 'app', image: 'app', ports: [{ containerPort: 8080 }, { containerPort: 9093, protocol: 'UDP' }, { containerPort: 53, protocol: 'UDP' }, { containerPort: 53, protocol: 'TCP' }, { containerPort: 7000, protocol: 'UDP' }] }] };
  const r = injectPod(pod({ 'skiff.dev/skip-inbound-ports': '6999-7001' }, udp), 'shop', ENABLED, settings);
  ok(r.injected);
  const [capture, proxy] = inits(r.template);
  const value = (c: C | undefined) => c?.args?.[c.args.indexOf('--inbound-udp') + 1];
  equal(value(capture), '53:15300,9093:15301');
  equal(value(proxy), '53:15300,9093:15301');
  const none = injectPod(pod(), 'shop', ENABLED, settings);
  ok(none.injected && !inits(none.template).some((c) => c.args?.includes('--inbound-udp')), 'no UDP port, no relay');
});

test('tcpSocket probes on captured ports become probes of the sidecar\'s health port, which checks the application\'s port; the webhook patch carries them', () => {
  const input = pod({ 'skiff.dev/skip-inbound-ports': '9000' }, {
    containers: [
      { name: 'db', image: 'db', ports: [{ name: 'pg', containerPort: 5432 }], readinessProbe: { tcpSocket: { port: 'pg' }, periodSeconds: 3, timeoutSeconds: 2 }, livenessProbe: { tcpSocket: { port: 5432 }, failureThreshold: 5 } },
      { name: 'admin', image: 'a', readinessProbe: { tcpSocket: { port: 9000 } }, livenessProbe: { tcpSocket: { port: 7000, host: 'example.com' } }, startupProbe: { httpGet: { path: '/up', port: 8081 } } },
    ],
  });
  const r = injectPod(input, 'shop', ENABLED, settings);
  ok(r.injected);
  const [db, admin] = r.template.spec?.containers as Record<string, unknown>[];
  deepEqual(db?.readinessProbe, { periodSeconds: 3, timeoutSeconds: 2, httpGet: { path: '/app-health/tcp/5432', port: 15021 } }, 'by port name; timing kept');
  deepEqual(db?.livenessProbe, { failureThreshold: 5, httpGet: { path: '/app-health/tcp/5432', port: 15021 } });
  deepEqual(admin?.readinessProbe, { tcpSocket: { port: 9000 } }, 'a port the capture skips reaches the application itself');
  deepEqual(admin?.livenessProbe, { tcpSocket: { port: 7000, host: 'example.com' } }, 'a probe of another host is left alone');
  const proxy = inits(r.template)[1];
  equal(proxy?.args?.[proxy.args.indexOf('--probe-tcp-ports') + 1], '5432');
  equal(proxy?.args?.[proxy.args.indexOf('--probe-paths') + 1], '8081:/up');
  const patch = injectionPatch(r.template, input);
  deepEqual(patch.find((op) => op.path === '/spec/containers')?.value, r.template.spec?.containers);
  // Without a tcpSocket probe the containers are not touched, nor patched.
  const unprobed = pod();
  const plain = injectPod(unprobed, 'shop', ENABLED, settings);
  ok(plain.injected);
  equal(injectionPatch(plain.template, unprobed).some((op) => op.path === '/spec/containers'), false);
  equal(inits(plain.template)[1]?.args?.includes('--probe-tcp-ports'), false);
});
