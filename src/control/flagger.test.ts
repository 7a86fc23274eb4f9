import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { abCanariesOverSmi, canaryView } from './flagger.ts';

const canary = (name: string, analysis: Record<string, unknown>, service: Record<string, unknown> = { port: 9898 }) => ({
  apiVersion: 'flagger.app/v1beta1', kind: 'Canary', metadata: { name, namespace: 'test' },
  spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, service, analysis },
});

test('an A/B Canary (match + iterations) whose apex has a TrafficSplit is found; weighted and blue/green ones are not', () => {
  const ab = canaryView(canary('podinfo', { interval: '10s', iterations: 10, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] }));
  const weighted = canaryView(canary('web', { interval: '10s', stepWeight: 10, maxWeight: 50 }));
  const blueGreen = canaryView(canary('api', { interval: '10s', iterations: 5 }));
  deepStrictEqual(ab, { namespace: 'test', name: 'podinfo', apex: 'podinfo', abMatch: true });
  equal(weighted.abMatch, false);
  equal(blueGreen.abMatch, false);
  const found = abCanariesOverSmi([ab, weighted, blueGreen], [{ namespace: 'test', name: 'podinfo' }, { namespace: 'test', name: 'web' }, { namespace: 'test', name: 'api' }]);
  deepStrictEqual(found.map((f) => f.split), [{ namespace: 'test', name: 'podinfo' }]);
  equal(found[0]?.message.includes('100 % of podinfo to podinfo-canary'), true);
});

test('the apex is spec.service.name when set; with no TrafficSplit (another router) nothing is reported', () => {
  const named = canaryView(canary('podinfo', { match: [{ headers: {} }] }, { name: 'frontend', port: 80 }));
  equal(named.apex, 'frontend');
  deepStrictEqual(abCanariesOverSmi([named], [{ namespace: 'test', name: 'podinfo' }]), []);
  deepStrictEqual(abCanariesOverSmi([named], [{ namespace: 'other', name: 'frontend' }]), []);
  equal(abCanariesOverSmi([named], [{ namespace: 'test', name: 'frontend' }]).length, 1);
});

test('malformed Canaries do not throw', () => {
  deepStrictEqual(canaryView(null), { namespace: '', name: '', apex: '', abMatch: false });
  equal(canaryView({ spec: { analysis: { match: 'yes' } } }).abMatch, false);
});
