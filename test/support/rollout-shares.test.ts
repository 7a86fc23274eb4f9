import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { isCanaryPod, sharesPerWeight, type Sample } from './rollout-shares.ts';

const canary = (host: string) => isCanaryPod(host, 'podinfo');

/** 20 requests a second from `from` to `to`, every `everyNth` answered by the canary. */
function load(from: number, to: number, everyNth: number): Sample[] {
  const out: Sample[] = [];
  for (let t = from, i = 0; t < to; t += 50, i += 1) out.push([t, 200, everyNth > 0 && i % everyNth === 0 ? 'podinfo-6d9f-abcde' : 'podinfo-primary-7c4b-xyz12']);
  return out;
}

test('canary and primary pods are told apart by name', () => {
  equal(isCanaryPod('podinfo-6d9f-abcde', 'podinfo'), true);
  equal(isCanaryPod('podinfo-primary-7c4b-xyz12', 'podinfo'), false);
  equal(isCanaryPod('loadtester-1', 'podinfo'), false);
});

test('each weight period is judged after the settling time, within 4.5 sigma; 0 % must be exact', () => {
  const changes = [{ t: 0, canary: 0 }, { t: 10_000, canary: 10 }, { t: 20_000, canary: 50 }];
  const samples = [...load(0, 10_000, 0), ...load(10_000, 20_000, 10), ...load(20_000, 30_000, 2)];
  const shares = sharesPerWeight(changes, samples, canary);
  deepStrictEqual(shares.map((s) => [s.canaryWeight, s.requests, s.ok]), [[0, 130, true], [10, 130, true], [50, 160, true]]);
  // The settling time hides the old weight's last requests; a canary answer at 0 % does not pass.
  const leak: Sample[] = [...load(0, 10_000, 0), [5000, 200, 'podinfo-6d9f-abcde']];
  equal(sharesPerWeight([{ t: 0, canary: 0 }], leak, canary)[0]?.ok, false);
  // 10 % configured but half observed: far outside 4.5 sigma.
  equal(sharesPerWeight([{ t: 0, canary: 10 }], load(0, 10_000, 2), canary)[0]?.ok, false);
});

test('unanswered requests are not counted, and short periods are left out', () => {
  const samples: Sample[] = [...load(0, 10_000, 0).map(([t, , h]): Sample => [t, 0, h])];
  deepStrictEqual(sharesPerWeight([{ t: 0, canary: 0 }], samples, canary), []);
  deepStrictEqual(sharesPerWeight([{ t: 0, canary: 0 }, { t: 2500, canary: 10 }], load(0, 2500, 0), canary), []);
});

test('a request started just before the last poll that saw the old weight may meet the new one: not judged against the old', () => {
  // The API showed 0 % to a poll at 10,000; a request started at 9,990 reached its sidecar after the change and met the canary.
  const samples: Sample[] = [...load(0, 10_000, 0), [9_990, 200, 'podinfo-6d9f-abcde'], ...load(10_000, 20_000, 5)];
  const shares = sharesPerWeight([{ t: 0, canary: 0 }, { t: 10_500, canary: 20, notBefore: 10_000 }], samples, canary);
  equal(shares[0]?.ok, true);
  equal(shares[0]?.to, 9_450);
  // Earlier than that, a canary answer at 0 % still fails the period.
  equal(sharesPerWeight([{ t: 0, canary: 0 }, { t: 10_500, canary: 20, notBefore: 10_000 }], [...samples, [9_000, 200, 'podinfo-6d9f-abcde']], canary)[0]?.ok, false);
});
