import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LayeredMap } from './layered-map.ts';

test('versions of a layered map agree with a plain Map put through the same changes, and earlier versions do not change', () => {
  const change = fc.record({ set: fc.array(fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer())), remove: fc.array(fc.integer({ min: 0, max: 600 })) });
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer())), fc.array(change, { maxLength: 40 }), (initial, changes) => {
    const plain = new Map(initial);
    let layered = LayeredMap.of(new Map(initial));
    const versions: [LayeredMap<number, number>, Map<number, number>][] = [[layered, new Map(plain)]];
    for (const c of changes) {
      for (const k of c.remove) plain.delete(k);
      for (const [k, v] of c.set) plain.set(k, v);
      layered = layered.with(c.set, c.remove);
      versions.push([layered, new Map(plain)]);
    }
    for (const [version, expected] of versions) {
      equal(version.size, expected.size);
      deepStrictEqual(new Map(version), expected);
      for (let k = 0; k <= 600; k += 7) {
        equal(version.has(k), expected.has(k));
        equal(version.get(k), expected.get(k));
      }
    }
  }), { numRuns: 200 });
});

test('a replaced key keeps its place; an added key comes after; removing an absent key changes nothing', () => {
  const a = LayeredMap.of(new Map([['x', 1], ['y', 2], ['z', 3]]));
  const b = a.with([['y', 20], ['w', 4]], ['z', 'nope']);
  deepStrictEqual([...b.keys()], ['x', 'y', 'w']);
  deepStrictEqual([...b.entries()], [['x', 1], ['y', 20], ['w', 4]]);
  equal(b.size, 3);
  deepStrictEqual([...a], [['x', 1], ['y', 2], ['z', 3]]);
});

test('many changes flatten into a new base without changing what any version holds', () => {
  let version = LayeredMap.of(new Map(Array.from({ length: 100 }, (_, i) => [i, i] as [number, number])));
  const plain = new Map(version);
  const kept: [LayeredMap<number, number>, Map<number, number>][] = [];
  for (let i = 0; i < 1000; i++) {
    const key = (i * 37) % 700;
    if (i % 3 === 0) {
      version = version.with([], [key]);
      plain.delete(key);
    } else {
      version = version.with([[key, -i]]);
      plain.set(key, -i);
    }
    if (i % 97 === 0) kept.push([version, new Map(plain)]);
  }
  deepStrictEqual(new Map(version), plain);
  for (const [v, expected] of kept) deepStrictEqual(new Map(v), expected);
});
