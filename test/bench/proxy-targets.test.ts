/** bench/proxy's verdict on issue 18's targets: met, at the floor (Node misses it too) or not met. */
import { describe, it } from 'node:test';
import { equal, match } from 'node:assert/strict';
import { targetLines, verdict, type TargetRow } from '../../bench/proxy-targets.ts';

const row = (over: Partial<TargetRow>): TargetRow => ({ target: 't', bound: 2, kind: 'max', skiff: 1, floor: 1, floorName: 'floor', unit: '×', digits: 2, ...over });

describe('bench/proxy: issue 18 targets', () => {
  it('an upper bound: met, at the floor only when the floor misses it too and skiff is close to it', () => {
    equal(verdict(row({ skiff: 2 })), 'met');
    equal(verdict(row({ skiff: 2.2, floor: 2.1 })), 'at the floor');
    equal(verdict(row({ skiff: 2.4, floor: 2.1 })), 'not met', 'more than 10 % above the floor');
    equal(verdict(row({ skiff: 2.2, floor: 1.9 })), 'not met', 'the floor meets it');
    equal(verdict(row({ skiff: 2.5, floor: 3 })), 'at the floor', 'below a floor that misses it');
  });

  it('a lower bound the same way round', () => {
    const min = { kind: 'min' as const, bound: 90 };
    equal(verdict(row({ ...min, skiff: 96, floor: 100 })), 'met');
    equal(verdict(row({ ...min, skiff: 80, floor: 100 })), 'not met');
    equal(verdict(row({ ...min, skiff: 80, floor: 85 })), 'at the floor');
  });

  it('a number the run did not measure is never met', () => {
    equal(verdict(row({ skiff: NaN })), 'not met');
    match(targetLines([row({ skiff: NaN })])[0] as string, /skiff +n\/a.*→ not met/);
  });

  it('prints the bound, both numbers and their ratio', () => {
    equal(targetLines([row({ target: 'pair', skiff: 2.22, floor: 1.95 })])[0], '  pair  ≤ 2.00×     skiff    2.22×  floor 1.95× (1.14× the floor)  → not met');
  });
});
