import { deepStrictEqual, ok } from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ARBITRARIES } from '../../../test/support/smi-arbitraries.ts';
import { convert, fromHub, parseSmiObject, SMI_KINDS, toHub, type SmiKind, type VersionedObject } from '../index.ts';

const RUNS = Number(process.env.SKIFF_PROPERTY_RUNS ?? 150);

for (const [kind, byVersion] of Object.entries(ARBITRARIES) as [SmiKind, Record<string, fc.Arbitrary<Record<string, unknown>>>][]) {
  describe(`${kind} conversion`, () => {
    for (const [version, arb] of Object.entries(byVersion)) {
      test(`${version}: generated objects are valid and survive a round trip through every version`, () => {
        fc.assert(fc.property(arb, (raw) => {
          const object = JSON.parse(JSON.stringify(raw)) as VersionedObject; // plain objects, as decoded from YAML or JSON
          const frozen = structuredClone(object);
          const parsed = parseSmiObject(object);
          deepStrictEqual(parsed.issues.filter((i) => i.severity === 'error'), [], 'generator produced an invalid object');
          ok(parsed.hub);
          deepStrictEqual(fromHub(parsed.hub, version), object, 'same-version round trip');
          for (const other of SMI_KINDS[kind].versions) {
            const there = convert(object, other);
            deepStrictEqual(convert(there, version), object, `round trip through ${other}`);
            deepStrictEqual(toHub(there).spec, parsed.hub.spec, `meaning kept in ${other}`);
          }
          deepStrictEqual(object, frozen, 'conversion mutated its input');
        }), { numRuns: RUNS });
      });
    }
  });
}
