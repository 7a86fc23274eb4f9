import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_VALIDATORS_FILE, renderStandaloneValidators } from './standalone-validators.ts';
import { checkCertificateResponse, checkProxyConfig } from './schema.ts';

test('the precompiled validators are generated from the current schemas (npm run validators)', () => {
  const committed = readFileSync(join(import.meta.dirname, '..', '..', GENERATED_VALIDATORS_FILE), 'utf8');
  assert.ok(committed === renderStandaloneValidators(), `${GENERATED_VALIDATORS_FILE} is stale: run \`npm run validators\``);
});

test('the precompiled ProxyConfig validator names the field and rule of every problem', () => {
  const result = checkProxyConfig({ schema: 'skiff.dev/proxy-config/v2', hash: 'nothex', mesh: { trustDomain: 'x' }, proxy: {}, inbound: {}, outbound: { services: [], clusters: [], extra: 1 } });
  assert.equal(result.ok, false);
  const problems = result.ok ? [] : result.problems;
  assert.ok(problems.some((p) => p.startsWith('/hash must match pattern')), problems.join('\n'));
  assert.ok(problems.some((p) => p === "/mesh must have required property 'clusterDomain'"), problems.join('\n'));
  assert.ok(problems.some((p) => p === '/outbound must NOT have additional properties'), problems.join('\n'));
});

test('the precompiled certificate answer validator takes a good answer and names a bad one', () => {
  const good = { certificate: 'c', trustBundle: 't', notAfter: '2030-01-01T00:00:00Z', identity: 'spiffe://x/ns/a/sa/b' };
  assert.deepEqual(checkCertificateResponse(good), { ok: true, value: good });
  assert.deepEqual(checkCertificateResponse({ ...good, certificate: 3 }), { ok: false, problem: '/certificate must be string' });
  assert.deepEqual(checkCertificateResponse({ ...good, admin: true }), { ok: false, problem: '/ must NOT have additional properties' });
});
