import { equal, ok, throws, deepStrictEqual } from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createCsr, generateKeyPair } from './csr.ts';
import { createCertificate, readCsr, uriSans } from './x509.ts';

const hour = 3600_000;

test('a root signs a SPIFFE workload certificate that node:crypto verifies', () => {
  const root = generateKeyPair();
  const now = Date.now();
  const rootPem = createCertificate({ commonName: 'Skiff root', publicKey: root.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * hour), isCA: true, pathLength: 1 }, undefined, root.privateKey);
  const leafKeys = generateKeyPair();
  const { publicKey } = readCsr(createCsr(leafKeys, 'web.shop'));
  const leafPem = createCertificate({ commonName: 'web.shop', publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + hour), isCA: false, uris: ['spiffe://cluster.local/ns/shop/sa/web'] }, { certificatePem: rootPem, privateKey: root.privateKey });
  const rootCert = new X509Certificate(rootPem);
  const leaf = new X509Certificate(leafPem);
  ok(rootCert.ca);
  ok(!leaf.ca);
  ok(leaf.checkIssued(rootCert));
  ok(leaf.verify(rootCert.publicKey));
  equal(leaf.issuer, rootCert.subject);
  deepStrictEqual(uriSans(leafPem), ['spiffe://cluster.local/ns/shop/sa/web']);
  ok(Math.abs(new Date(leaf.validTo).getTime() - (now + hour)) < 2000);
  ok(leaf.publicKey.equals(leafKeys.publicKey), 'the certificate carries the requester\'s key');
});

test('a request whose signature does not match its key is refused', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const csr = createCsr({ publicKey: a.publicKey, privateKey: b.privateKey }, 'x');
  throws(() => readCsr(csr), /does not verify/);
  throws(() => readCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----'));
});

test('serial numbers are minimal positive DER INTEGERs, or OpenSSL refuses the certificate', () => {
  const keys = generateKeyPair();
  const now = Date.now();
  const make = (serial?: Buffer) => createCertificate({ commonName: 'x', publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + hour), isCA: true, ...(serial ? { serial } : {}) }, undefined, keys.privateKey);
  // The serials a random 16 bytes could start with that used to come out non-minimal or negative.
  for (const [bytes, hex] of [['0010aa', '10AA'], ['0000ff', 'FF'], ['80', '80'], ['ff01', 'FF01'], ['7f', '7F']] as const) {
    equal(new X509Certificate(make(Buffer.from(bytes, 'hex'))).serialNumber, hex, bytes);
  }
  throws(() => make(Buffer.from('0000', 'hex')), /positive/);
  // The default: random, 16 bytes in DER, never padded.
  const serials = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const serial = new X509Certificate(make()).serialNumber;
    equal(serial.length, 32);
    ok(/^[4-7]/.test(serial), serial);
    serials.add(serial);
  }
  equal(serials.size, 300);
});

test('a certificate names the issuer it was signed with, also when the issuer\'s certificate changes but its key does not', () => {
  const root = generateKeyPair();
  const now = Date.now();
  const rootCert = (commonName: string) => createCertificate({ commonName, publicKey: root.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + hour), isCA: true }, undefined, root.privateKey);
  const leafOf = (issuerPem: string) => {
    const keys = generateKeyPair();
    return new X509Certificate(createCertificate({ commonName: 'leaf', publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + hour), isCA: false, uris: ['spiffe://cluster.local/ns/a/sa/b'] }, { certificatePem: issuerPem, privateKey: root.privateKey }));
  };
  const first = rootCert('root one');
  const second = rootCert('root two');
  for (const [pem, name] of [[first, 'root one'], [second, 'root two'], [first, 'root one']] as const) {
    const leaf = leafOf(pem);
    ok(leaf.issuer.includes(`CN=${name}`), leaf.issuer);
    ok(leaf.checkIssued(new X509Certificate(pem)));
    ok(leaf.verify(root.publicKey));
  }
});
