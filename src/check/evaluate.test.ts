import { equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { createCertificate } from '../lib/x509.ts';
import { generateKeyPair } from '../lib/csr.ts';
import { abCanariesOverSmi } from '../control/flagger.ts';
import * as judge from './evaluate.ts';
import { formatResult } from './result.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
/** A CA root like the mesh's: a year long. */
function root(): string {
  const keys = generateKeyPair();
  return createCertificate({ commonName: 'skiff mesh root', publicKey: keys.publicKey, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 365 * 86_400_000), isCA: true, pathLength: 1 }, undefined, keys.privateKey);
}

test('Kubernetes version: 1.29 and newer pass (native sidecars); older and unreadable fail with a hint', () => {
  ok(judge.kubernetesVersion({ major: '1', minor: '36', gitVersion: 'v1.36.3' }).ok);
  ok(judge.kubernetesVersion({ major: '1', minor: '29+' }).ok, 'managed clusters add "+"');
  const old = judge.kubernetesVersion({ major: '1', minor: '28', gitVersion: 'v1.28.9' });
  equal(old.ok, false);
  ok(old.hint?.includes('native sidecar'));
  equal(judge.kubernetesVersion({}).ok, false);
});

test('clock skew: a second of Date-header rounding is tolerated, half a minute is not', () => {
  ok(judge.clockSkew(new Date(NOW - 1500).toUTCString(), NOW).ok);
  equal(judge.clockSkew(new Date(NOW + 45_000).toUTCString(), NOW).ok, false);
  equal(judge.clockSkew(undefined, NOW).ok, false);
});

test('CRDs: a missing CRD, a removed or unserved version and a wrong storage version are named', () => {
  const expected = [{ name: 'trafficsplits.split.smi-spec.io', versions: [{ name: 'v1alpha1', served: true, storage: false }, { name: 'v1alpha2', served: true, storage: true }] }, { name: 'tcproutes.specs.smi-spec.io', versions: [{ name: 'v1alpha4', served: true, storage: true }] }];
  ok(judge.crdsServed(expected, new Map(expected.map((c) => [c.name, c]))).ok);
  const broken = judge.crdsServed(expected, new Map([['trafficsplits.split.smi-spec.io', { name: 'trafficsplits.split.smi-spec.io', versions: [{ name: 'v1alpha2', served: true, storage: true }] }]]));
  equal(broken.ok, false);
  ok(broken.detail.includes('has no version v1alpha1') && broken.detail.includes('tcproutes.specs.smi-spec.io missing'), broken.detail);
  const unserved = judge.crdsServed(expected.slice(0, 1), new Map([['trafficsplits.split.smi-spec.io', { name: 'trafficsplits.split.smi-spec.io', versions: [{ name: 'v1alpha1', served: false, storage: false }, { name: 'v1alpha2', served: true, storage: false }] }]]));
  ok(unserved.detail.includes('does not serve v1alpha1') && unserved.detail.includes('stores another version'), unserved.detail);
});

test('caBundle: missing, differing and garbage bundles fail; one valid CA passes and gives the CA check its certificate', () => {
  const b64 = Buffer.from(root()).toString('base64');
  const good = judge.caBundles(new Map([['a', b64], ['b', b64]]), Date.now());
  ok(good.result.ok && good.certificate);
  ok(judge.caValidity(good.certificate, Date.now()).ok);
  ok(judge.caValidity(good.certificate, Date.now()).detail.includes('expires in'));
  equal(judge.caBundles(new Map([['a', b64], ['b', undefined]]), Date.now()).result.detail, 'no caBundle in b');
  equal(judge.caBundles(new Map([['a', b64], ['b', Buffer.from(root()).toString('base64')]]), Date.now()).result.ok, false);
  equal(judge.caBundles(new Map([['a', 'bm90IGEgY2VydA==']]), Date.now()).result.ok, false);
  const validTo = Date.parse(good.certificate.validTo);
  equal(judge.caValidity(good.certificate, validTo - 10 * 86_400_000).ok, false, 'ten days before expiry is a ✘');
  equal(judge.caValidity(undefined, Date.now()).ok, false);
});

test('leader: a fresh lease held by a running controller pod passes; stale, orphaned or absent leases fail', () => {
  const lease = { holder: 'skiff-controller-7d9f-abcde-1', renewTime: new Date(NOW - 3000).toISOString(), durationSeconds: 15 };
  ok(judge.leaderElected(lease, ['skiff-controller-7d9f-abcde'], NOW).ok);
  equal(judge.leaderElected({ ...lease, renewTime: new Date(NOW - 120_000).toISOString() }, ['skiff-controller-7d9f-abcde'], NOW).ok, false);
  equal(judge.leaderElected(lease, ['skiff-controller-other'], NOW).ok, false);
  equal(judge.leaderElected(undefined, [], NOW).ok, false);
});

test('proxies: every Ready injected pod must be connected and up to date; unreadable status is a ✘', () => {
  const pod = (name: string, phase = 'Running') => ({ namespace: 'shop', name, annotations: { 'skiff.dev/injected': '0.1.0' }, containers: ['skiff-proxy', 'app'], phase, ready: true });
  const pods = [pod('a'), pod('b'), pod('c', 'Succeeded')];
  // Two replicas, each streaming to one proxy and knowing the other only as disconnected.
  const both = judge.proxiesConnected([...pods, { ...pod('d'), ready: false }], [[{ proxy: 'shop/a', connected: true, upToDate: true, lastError: null }, { proxy: 'shop/b', connected: false, upToDate: false, lastError: null }], [{ proxy: 'shop/b', connected: true, upToDate: true, lastError: null }]]);
  ok(both.ok, both.detail);
  equal(both.detail, '2 of 2 Ready pods (1 not Ready, not counted)');
  // The stream on one replica, the ack on the other.
  ok(judge.proxiesConnected([pod('a')], [[{ proxy: 'shop/a', connected: true, upToDate: false, lastError: null, desired: 'h2', applied: 'h1' }], [{ proxy: 'shop/a', connected: false, upToDate: false, lastError: null, desired: 'h2', applied: 'h2' }]]).ok);
  const stale = judge.proxiesConnected(pods, [[{ proxy: 'shop/a', connected: true, upToDate: false, lastError: 'SKIFF_E_CONFIG' }]]);
  ok(stale.detail.includes('shop/a not on the current config (SKIFF_E_CONFIG)') && stale.detail.includes('shop/b not connected'), stale.detail);
  equal(judge.proxiesConnected(pods, 'connection refused').ok, false);
});

test('missed injection: a pod in an opted-in namespace (label or annotation) without the sidecar is named; opted-out and finished pods are not', () => {
  const namespaces = new Map([['shop', { labels: { 'skiff.dev/inject': 'enabled' } }], ['blog', { annotations: { 'skiff.dev/inject': 'enabled' } }], ['plain', {}]]);
  const pods: judge.PodView[] = [
    { namespace: 'shop', name: 'missed', annotations: {}, containers: ['app'], phase: 'Running', ready: true },
    { namespace: 'shop', name: 'out', annotations: { 'skiff.dev/inject': 'disabled' }, containers: ['app'], phase: 'Running', ready: true },
    { namespace: 'blog', name: 'fine', annotations: {}, containers: ['skiff-proxy', 'app'], phase: 'Running', ready: true },
    { namespace: 'blog', name: 'done', annotations: {}, containers: ['app'], phase: 'Succeeded', ready: false },
    { namespace: 'plain', name: 'asked', annotations: { 'skiff.dev/inject': 'enabled' }, containers: ['app'], phase: 'Pending', ready: false },
  ];
  const r = judge.injectionMissed(pods, namespaces, 'skiff-system');
  equal(r.detail, 'without a sidecar: shop/missed, plain/asked');
  ok(formatResult(r).startsWith('✘ ') && formatResult(r).includes('hint: re-create'));
});

test('the TrafficMetrics APIService: missing, not yet available (with the API server\'s reason), available', () => {
  equal(judge.trafficMetricsAvailable(undefined).ok, false);
  const down = judge.trafficMetricsAvailable({ conditions: [{ type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: 'no response from https://10.244.1.7:8444' }] });
  equal(down.ok, false);
  ok(down.detail.includes('FailedDiscoveryCheck') && down.detail.includes('10.244.1.7'), down.detail);
  equal(judge.trafficMetricsAvailable({ conditions: [{ type: 'Available', status: 'True' }] }).ok, true);
});

test('Flagger: not installed passes; an A/B canary over SMI is a warning with a hint, not a failure', () => {
  equal(judge.flaggerCanaries(undefined, []).ok, true);
  equal(judge.flaggerCanaries(2, []).detail, '2 Canaries, none A/B over SMI');
  const ab = abCanariesOverSmi([{ namespace: 'test', name: 'podinfo', apex: 'podinfo', abMatch: true }], [{ namespace: 'test', name: 'podinfo' }]);
  const r = judge.flaggerCanaries(1, ab);
  equal(r.ok, true);
  equal(r.warning, true);
  ok(formatResult(r).startsWith('! Flagger canaries usable over SMI: Flagger Canary test/podinfo is an A/B canary'), formatResult(r));
  ok(formatResult(r).includes('hint: '));
});
