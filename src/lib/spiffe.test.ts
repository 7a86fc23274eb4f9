import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { certificateIdentity, formatSpiffeId, parseSpiffeId } from './spiffe.ts';

test('workload SPIFFE IDs round-trip; anything else is not one', () => {
  const id = formatSpiffeId('example.org', 'shop', 'web');
  equal(id, 'spiffe://example.org/ns/shop/sa/web');
  deepStrictEqual(parseSpiffeId(id), { trustDomain: 'example.org', namespace: 'shop', serviceAccount: 'web' });
  for (const bad of ['spiffe://example.org/ns/shop/sa/web/x', 'spiffe://example.org/ns/shop', 'spiffe://Example.org/ns/shop/sa/web', 'https://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/Shop/sa/web', 'spiffe://example.org/ns/shop/sa/web?x', 'spiffe:///ns/shop/sa/web', `spiffe://td/ns/${'a'.repeat(3000)}/sa/web`]) {
    equal(parseSpiffeId(bad), undefined, bad);
  }
});

test('a certificate names one identity: exactly one URI SAN, a workload ID, in the trust domain asked for', () => {
  deepStrictEqual(certificateIdentity('URI:spiffe://td/ns/a/sa/b, DNS:x', 'td'), { identity: 'spiffe://td/ns/a/sa/b', parsed: { trustDomain: 'td', namespace: 'a', serviceAccount: 'b' } });
  equal('problem' in certificateIdentity('DNS:x'), true);
  equal('problem' in certificateIdentity('URI:spiffe://td/ns/a/sa/b, URI:spiffe://td/ns/c/sa/d'), true);
  equal('problem' in certificateIdentity('URI:spiffe://other/ns/a/sa/b', 'td'), true);
  equal('problem' in certificateIdentity('URI:"spiffe://td/ns/a/sa/b, x"'), true, 'a quoted SAN is never an identity');
  equal('problem' in certificateIdentity(undefined), true);
});
