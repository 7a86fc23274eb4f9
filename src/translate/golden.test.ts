/**
 * Golden files for both stages: test/golden/<case>.in.yaml → <case>.topology.json and
 * <case>.config.json. Regenerate with UPDATE_GOLDEN=1 (npm run golden:update) and review the
 * diff. Each case is named after the behaviour it pins down.
 */
import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkProxyConfig } from '../config/index.ts';
import { buildTopology } from '../model/index.ts';
import { compareGolden, deepFreeze, GOLDEN_DIR as DIR, loadCase, renderConfigs } from '../../test/support/golden.ts';
import { translateAll } from './index.ts';


const cases = readdirSync(DIR).filter((f) => f.endsWith('.in.yaml')).map((f) => f.slice(0, -'.in.yaml'.length)).sort();

describe('golden translation cases', () => {
  test('there are at least 40 cases', () => ok(cases.length >= 40, `${cases.length} cases`));
  for (const name of cases) {
    test(name, () => {
      const snapshot = deepFreeze(loadCase(join(DIR, `${name}.in.yaml`)));
      const topology = buildTopology(snapshot);
      const configs = translateAll(topology);
      for (const config of configs.values()) {
        const checked = checkProxyConfig(JSON.parse(JSON.stringify(config)));
        ok(checked.ok, checked.ok ? '' : checked.problems.join('; '));
      }
      const topologyJson = `${JSON.stringify(topology, null, 2)}\n`;
      const configJson = renderConfigs(configs);
      equal(`${JSON.stringify(buildTopology(snapshot), null, 2)}\n`, topologyJson, 'deterministic topology');
      equal(renderConfigs(translateAll(buildTopology(snapshot))), configJson, 'deterministic configs');
      compareGolden(join(DIR, `${name}.topology.json`), topologyJson);
      compareGolden(join(DIR, `${name}.config.json`), configJson);
    });
  }
  test('a case without its golden outputs fails instead of writing them', () => {
    const missing = join(DIR, 'no-such-case.config.json');
    throws(() => compareGolden(missing, '{}\n', false), /is missing: run UPDATE_GOLDEN=1/);
    equal(existsSync(missing), false, 'nothing was written');
  });
  test('no golden output is left without its input', () => {
    const outputs = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.(topology|config)\.json$/, ''));
    deepStrictEqual([...new Set(outputs)].filter((n) => !cases.includes(n)), []);
  });
});
