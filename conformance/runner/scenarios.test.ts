import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { judge, judgeShift } from './run.ts';
import { appManifests, CONFORMANCE_DIR, loadProfile, loadScenario, withNamespace } from './scenario.ts';

const scenarios = readdirSync(join(CONFORMANCE_DIR, 'scenarios')).filter((f) => f.endsWith('.yaml')).map((f) => loadScenario(join(CONFORMANCE_DIR, 'scenarios', f)));

test('the upstream scenarios have upstream\'s 24 steps: access 7, split 11, spec 6', () => {
  const upstream = Object.fromEntries(scenarios.filter((s) => !s.extra).map((s) => [s.spec, s.steps.length]));
  deepStrictEqual(upstream, { 'traffic-access': 7, 'traffic-split': 11, 'traffic-spec': 6 });
  for (const s of scenarios) for (const step of s.steps) equal(['crd', 'ready', 'apply', 'delete', 'traffic', 'metrics', 'shift'].filter((k) => k in step).length, 1, `${s.name}: ${step.name}`);
});

test('every manifest a scenario applies is YAML naming the test namespace, and the app expands with the profile', () => {
  for (const s of scenarios) {
    for (const step of s.steps) {
      const text = 'apply' in step ? step.apply : 'delete' in step ? step.delete : 'shift' in step ? step.shift.apply : undefined;
      if (!text) continue;
      for (const doc of parseAllDocuments(withNamespace(text, 'ns-x'))) equal((doc.toJS() as { metadata: { namespace: string } }).metadata.namespace, 'ns-x', `${s.name}: ${step.name}`);
    }
    const app = parseAllDocuments(appManifests(s.app, 'ns-x', loadProfile('skiff'), 'node:24')).map((d) => d.toJS() as { kind: string; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } });
    ok(app.some((d) => d.kind === 'ConfigMap'), 'the app script travels in a ConfigMap');
    for (const d of app.filter((x) => x.kind === 'Deployment')) equal(d.spec?.template?.metadata?.annotations?.['skiff.dev/skip-inbound-ports'], '9091');
  }
});

test('judging: counts of success and failure, exact callers, at least, exactly, more', () => {
  const seen = new Map([
    ['app-a', { ReqReceived: [''], RespSucceeded: [1, 2], RespFailed: [3] }],
    ['app-b', { ReqReceived: ['app-a', 'app-a'], RespSucceeded: [], RespFailed: [] }],
    ['app-c', { ReqReceived: ['app-a'], RespSucceeded: [], RespFailed: [] }],
  ]);
  equal(judge({ succeeded: 2, failed: 1 }, 'app-a', seen), undefined);
  ok(judge({ succeeded: 1 }, 'app-a', seen)?.includes('2 succeeded'));
  equal(judge({ received: { 'app-b': ['app-a', 'app-a'] } }, 'app-a', seen), undefined);
  ok(judge({ received: { 'app-b': ['app-a'] } }, 'app-a', seen));
  equal(judge({ atLeast: { 'app-b': 1, 'app-c': 1 }, more: ['app-b', 'app-c'] }, 'app-a', seen), undefined);
  ok(judge({ more: ['app-c', 'app-b'] }, 'app-a', seen));
  ok(judge({ exactly: { 'app-b': 50 } }, 'app-a', seen));
});

test('judging a shift: no failure allowed, the first and last calls answered by the app expected', () => {
  const answers = [...Array(10).fill('app-b'), 'app-c', 'app-b', ...Array(10).fill('app-c')] as string[];
  equal(judgeShift({ failed: 0, first: { calls: 10, app: 'app-b' }, last: { calls: 10, app: 'app-c' } }, answers), undefined);
  ok(judgeShift({ failed: 0, last: { calls: 11, app: 'app-c' } }, answers)?.includes('1 by app-b'));
  ok(judgeShift({ failed: 0 }, [...answers, 'failed: 503'])?.includes('1 of 23 calls failed'));
  ok(judgeShift({ failed: 0, last: { calls: 11, app: 'app-c' } }, answers, new Map([['app-b', new Set(['ns-x/app-b-0'])]]))?.includes('1 by app-b (ns-x/app-b-0)'));
});

test('the Skiff profile claims every scenario; the local one all but the two that need capture, and says why', () => {
  deepStrictEqual(Object.keys(loadProfile('skiff').unsupported ?? {}), []);
  const local = loadProfile('skiff-local').unsupported ?? {};
  deepStrictEqual(Object.keys(local).sort(), ['tcp-access', 'udp-access']);
  for (const reason of Object.values(local)) ok(reason.includes('capture'), reason);
  ok(scenarios.some((s) => s.name === 'udp-access'), 'the scenario exists, so any mesh can be judged on it');
});
