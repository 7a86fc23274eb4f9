import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import forge from 'node-forge';
import { createCsr, generateKeyPair } from './csr.ts';
import { element, objectIdentifier, smallInteger } from './der.ts';
import { readCsr } from './x509.ts';

const hex = (b: Buffer) => b.toString('hex');

test('DER: lengths of one, two and three bytes, object identifiers with multi-byte arcs', () => {
  equal(hex(element(0x04, Buffer.alloc(3))), '0403000000');
  equal(hex(element(0x04, Buffer.alloc(200)).subarray(0, 3)), '0481c8');
  equal(hex(element(0x04, Buffer.alloc(300)).subarray(0, 4)), '0482012c');
  equal(hex(objectIdentifier('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  equal(hex(objectIdentifier('2.5.4.3')), '0603550403');
  equal(hex(smallInteger(0)), '020100');
  throws(() => objectIdentifier('1'), /not an object identifier/);
  throws(() => smallInteger(128), /not a small integer/);
});

test('a request names its subject and carries its key; the authority reads the key after the signature', () => {
  const keys = generateKeyPair();
  const pem = createCsr(keys, 'shop/web-0');
  ok(readCsr(pem).publicKey.equals(keys.publicKey));
  // Read back with an independent ASN.1 parser: version 0, O=skiff, CN, and an empty attribute set.
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const csr = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
  const info = (csr.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const [version, subject, , attributes] = info.value as forge.asn1.Asn1[];
  equal(forge.asn1.derToInteger(forge.util.createBuffer(version?.value as string)), 0);
  const names = (subject?.value as forge.asn1.Asn1[]).map((rdn) => {
    const [type, value] = ((rdn.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1).value as forge.asn1.Asn1[];
    return [forge.asn1.derToOid(forge.util.createBuffer(type?.value as string)), value?.value];
  });
  deepStrictEqual(names, [['2.5.4.10', 'skiff'], ['2.5.4.3', 'shop/web-0']]);
  equal(attributes?.tagClass, forge.asn1.Class.CONTEXT_SPECIFIC);
  deepStrictEqual(attributes?.value, []);
});

test('OpenSSL verifies the request\'s signature and reads its subject', { skip: !hasOpenssl() && 'no openssl here' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-csr-'));
  try {
    writeFileSync(join(dir, 'req.pem'), createCsr(generateKeyPair(), 'web.shop'));
    const out = execFileSync('openssl', ['req', '-in', join(dir, 'req.pem'), '-verify', '-noout', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    ok(/O\s*=\s*skiff, CN\s*=\s*web\.shop/.test(out), out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
