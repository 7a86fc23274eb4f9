/**
 * Config deltas: for every golden case, from nothing (a proxy resolving on demand with no
 * Service yet) to its whole config and back, and for a weight change, the delta rebuilds the
 * exact config the control plane hashed; a weight change is one Service; a delta for another
 * base, a tampered delta or garbage is refused, never half applied.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildTopology } from '../model/index.ts';
import { parseYamlText } from '../sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { MeshTranslation } from '../translate/index.ts';
import { GOLDEN_DIR } from '../../test/support/golden.ts';
import { applyDelta, deltaJson, diffConfigs } from './delta.ts';
import type { ProxyConfig } from './types.ts';

const translationOf = (file: string, text = readFileSync(file, 'utf8')) => new MeshTranslation(buildTopology(snapshotFromDocuments(parseYamlText(file, text).documents.map((d) => d.value))));
const roundTrip = (from: ProxyConfig, to: ProxyConfig) => {
  // What the control plane sends: the delta's JSON written from parts serialised once, the same text as the delta serialised whole.
  const text = deltaJson(from, to);
  equal(text, JSON.stringify(diffConfigs(from, to)));
  const delta = JSON.parse(text);
  const applied = applyDelta(JSON.parse(JSON.stringify(from)), delta);
  ok('config' in applied, 'problem' in applied ? applied.problem : '');
  equal(applied.config.hash, to.hash);
  deepStrictEqual(applied.config, JSON.parse(JSON.stringify(to)));
};

test('every golden case: empty → whole → empty through deltas gives the exact configs', () => {
  const cases = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.in.yaml'));
  ok(cases.length >= 40);
  let proxies = 0;
  for (const file of cases) {
    const t = translationOf(join(GOLDEN_DIR, file));
    for (const id of t.proxyIds()) {
      const empty = t.configOf(id, { services: new Set(), tcp: false }) as ProxyConfig;
      const whole = t.configOf(id) as ProxyConfig;
      roundTrip(empty, whole);
      roundTrip(whole, empty);
      proxies++;
    }
  }
  ok(proxies > 100, `${proxies} proxies`);
});

test('a delta to another proxy\'s config carries its changed whole parts too (proxy, inbound)', () => {
  const t = translationOf(join(GOLDEN_DIR, 'outbound-scope-limits-each-proxy-to-the-services-it-names.in.yaml'));
  const ids = t.proxyIds();
  let withWholeParts = 0;
  for (const a of ids) for (const b of ids) {
    if (a === b) continue;
    const from = t.configOf(a) as ProxyConfig;
    const to = t.configOf(b) as ProxyConfig;
    roundTrip(from, to);
    const delta = diffConfigs(from, to);
    if (delta.proxy && delta.inbound) withWholeParts++;
  }
  ok(withWholeParts > 0);
});

test('a weight change is a delta of one Service', () => {
  const file = join(GOLDEN_DIR, 'outbound-scope-limits-each-proxy-to-the-services-it-names.in.yaml');
  const text = readFileSync(file, 'utf8');
  const demand = { services: new Set(['other/db']), tcp: false };
  const before = translationOf(file, text).configOf('other/cache-0', demand) as ProxyConfig;
  const after = translationOf(file, text.replace('{service: db-v1, weight: 80}', '{service: db-v1, weight: 50}')).configOf('other/cache-0', demand) as ProxyConfig;
  const delta = diffConfigs(before, after);
  deepStrictEqual(Object.keys(delta).sort(), ['base', 'hash', 'services']);
  deepStrictEqual(delta.services?.map((s) => s.name), ['db']);
  const bytes = JSON.stringify(delta).length;
  ok(bytes < JSON.stringify(after).length / 3, `${bytes} bytes against ${JSON.stringify(after).length} whole`);
  roundTrip(before, after);
});

test('weight changes one after another apply to the config the proxy holds', () => {
  const file = join(GOLDEN_DIR, 'outbound-scope-limits-each-proxy-to-the-services-it-names.in.yaml');
  const text = readFileSync(file, 'utf8');
  const demand = { services: new Set(['other/db']), tcp: false };
  const versions = [80, 50, 20, 50].map((w) => translationOf(file, text.replace('{service: db-v1, weight: 80}', `{service: db-v1, weight: ${w}}`)).configOf('other/cache-0', demand) as ProxyConfig);
  let held = JSON.parse(JSON.stringify(versions[0])) as ProxyConfig;
  for (let i = 1; i < versions.length; i++) {
    const applied = applyDelta(held, JSON.parse(JSON.stringify(diffConfigs(versions[i - 1] as ProxyConfig, versions[i] as ProxyConfig))));
    ok('config' in applied, 'problem' in applied ? applied.problem : '');
    deepStrictEqual(applied.config, JSON.parse(JSON.stringify(versions[i])));
    held = applied.config;
  }
});

test('a delta for another version, tampered, or garbage is refused whole', () => {
  const t = translationOf(join(GOLDEN_DIR, 'outbound-scope-limits-each-proxy-to-the-services-it-names.in.yaml'));
  const a = t.configOf('other/cache-0', { services: new Set(), tcp: false }) as ProxyConfig;
  const b = t.configOf('other/cache-0') as ProxyConfig;
  const delta = diffConfigs(a, b);
  ok('problem' in applyDelta(b, delta), 'another base');
  const tampered = JSON.parse(JSON.stringify(delta));
  tampered.services[0].ports[0].port = 81;
  ok('problem' in applyDelta(a, tampered), 'a changed port does not hash to the promised version');
  for (const garbage of [{ base: a.hash, hash: b.hash, services: 'no' }, { base: a.hash, hash: b.hash, services: [null] }, { base: a.hash, hash: b.hash, removeClusters: 5 }]) {
    const result = applyDelta(a, garbage as never);
    ok('problem' in result, JSON.stringify(garbage));
  }
});
