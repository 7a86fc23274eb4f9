/**
 * Outbound scope as the controller sees it: a weight change reaches only the proxies whose
 * scope holds the split's root (their config hash changes; nobody else's does), and
 * `skiff explain` says when a Service is outside a caller's scope.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildTopology, parseOutboundScope } from '../model/index.ts';
import { parseYamlText } from '../sources/files/read-yaml.ts';
import { snapshotFromDocuments } from '../sources/files/snapshot.ts';
import { GOLDEN_DIR } from '../../test/support/golden.ts';
import { explainRequest } from './explain.ts';
import { translateAll } from './translate.ts';

const CASE = join(GOLDEN_DIR, 'outbound-scope-limits-each-proxy-to-the-services-it-names.in.yaml');
const configs = (text: string) => translateAll(buildTopology(snapshotFromDocuments(parseYamlText(CASE, text).documents.map((d) => d.value))));

test('a weight change changes the configs of the proxies whose scope holds the root, and no other', () => {
  const text = readFileSync(CASE, 'utf8');
  const before = configs(text);
  const after = configs(text.replace('{service: db-v1, weight: 80}', '{service: db-v1, weight: 50}'));
  const changed = [...before.keys()].filter((id) => before.get(id)?.hash !== after.get(id)?.hash).sort();
  // shop/web-0's scope is shop/*: untouched. The unscoped proxies and shop/worker-0 (other/db) change.
  deepStrictEqual(changed, ['other/cache-0', 'other/db-v1-0', 'other/db-v2-0', 'shop/worker-0']);
});

test('scopes are read strictly and normalised', () => {
  deepStrictEqual(parseOutboundScope('./*, other/db  other/db\n./web', 'shop'), { entries: ['other/db', 'shop/*', 'shop/web'] });
  for (const bad of ['*/*', 'other', 'a/b/c', 'Other/db', '../db', 'other/*db']) ok('problem' in parseOutboundScope(bad, 'shop'), bad);
  ok('problem' in parseOutboundScope(Array.from({ length: 1001 }, (_, i) => `ns/s${i}`).join(','), 'shop'), 'at most 1,000 entries');
});

test('explain: a Service outside every caller pod\'s scope is answered 502, as the proxy does', () => {
  const topology = buildTopology(snapshotFromDocuments(parseYamlText(CASE, readFileSync(CASE, 'utf8')).documents.map((d) => d.value)));
  const outside = explainRequest(topology, 'shop/default', 'cache.other', { method: 'GET', path: '/', header: () => undefined });
  equal(outside.allowed, false);
  ok(/outside the outbound scope/.test(outside.reason), outside.reason);
});
