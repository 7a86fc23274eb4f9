/**
 * X.509 for Skiff's certificate authority. node-forge builds the certificate structure
 * (ASN.1/DER: names, validity, extensions); node:crypto generates the ECDSA P-256 keys and
 * makes the signatures (forge's own key and signature code is RSA-only and pure JS).
 * Certificates are read back and checked with node:crypto's X509Certificate. Keys and
 * certificate signing requests (the workload's side) are lib/csr, without forge.
 */
import { createHash, createPublicKey, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { spkiDer } from './csr.ts';
import { ECDSA_WITH_SHA256, pem, signedWithEcdsa } from './der.ts';

const { asn1, pki } = forge;

export interface CertificateRequest {
  /** Subject common name (informational; identity lives in the URI SAN). */
  commonName: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  /** URI SANs, e.g. the SPIFFE ID. */
  uris?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Path length constraint for CA certificates. */
  pathLength?: number;
  /** Subject organisation; default "skiff" (Kubernetes reads it as the user's group). */
  organization?: string;
  /** Serial number bytes (unsigned, big-endian); default 16 random bytes. */
  serial?: Buffer;
}

export interface Issuer {
  certificatePem: string;
  privateKey: KeyObject;
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits of a SubjectPublicKeyInfo (DER). */
function keyIdentifierOf(spki: Buffer): string {
  const parsed = asn1.fromDer(forge.util.createBuffer(spki.toString('binary')), { decodeBitStrings: false } as never);
  const bits = (parsed.value as forge.asn1.Asn1[])[1]?.value as string;
  return createHash('sha1').update(Buffer.from(bits.slice(1), 'binary')).digest('hex');
}

/**
 * What every certificate an issuer signs repeats from it, worked out once per issuer key and
 * certificate (parsing the issuer's certificate and exporting its public key were a quarter
 * of an issuance): its subject name (DER), as the issuer field, and its key identifier.
 */
const issuerParts = new WeakMap<KeyObject, { certificatePem: string; name: Buffer; keyId: string }>();
function partsOf(issuer: Issuer): { name: Buffer; keyId: string } {
  const known = issuerParts.get(issuer.privateKey);
  if (known?.certificatePem === issuer.certificatePem) return known;
  const der = new X509Certificate(issuer.certificatePem).raw;
  const cert = asn1.fromDer(forge.util.createBuffer(der.toString('binary')), { decodeBitStrings: false } as never);
  const tbs = (cert.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  // tbs: [0] version, serial, signature algorithm, issuer, validity, subject, …
  const parts = { certificatePem: issuer.certificatePem, name: derOf((tbs.value as forge.asn1.Asn1[])[5] as forge.asn1.Asn1), keyId: keyIdentifierOf(spkiDer(issuer.privateKey)) };
  issuerParts.set(issuer.privateKey, parts);
  return parts;
}

function derOf(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

function timeAsn1(date: Date): forge.asn1.Asn1 {
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function algorithm(): forge.asn1.Asn1 {
  return asn1.fromDer(forge.util.createBuffer(ECDSA_WITH_SHA256.toString('binary')));
}

function nameAsn1(commonName: string, organization = 'skiff'): forge.asn1.Asn1 {
  return pki.distinguishedNameToAsn1({ attributes: [{ type: '2.5.4.10', value: organization }, { type: '2.5.4.3', value: commonName }] } as never);
}

function issuerName(issuer: Issuer | undefined, commonName: string, organization?: string): forge.asn1.Asn1 {
  if (!issuer) return nameAsn1(commonName, organization);
  return asn1.fromDer(forge.util.createBuffer(partsOf(issuer).name.toString('binary')));
}

function extensions(req: CertificateRequest, issuer: Issuer | undefined, spki: Buffer): forge.asn1.Asn1 {
  const list: Record<string, unknown>[] = [
    { name: 'basicConstraints', cA: req.isCA, critical: true, ...(req.isCA && req.pathLength !== undefined ? { pathLenConstraint: req.pathLength } : {}) },
    req.isCA
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, forge.util.hexToBytes(keyIdentifierOf(spki))) },
  ];
  if (!req.isCA) list.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: true });
  if (issuer) {
    const id = forge.util.hexToBytes(partsOf(issuer).keyId);
    list.push({ name: 'authorityKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, id)]) });
  }
  const altNames = [
    ...(req.uris ?? []).map((value) => ({ type: 6, value })),
    ...(req.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(req.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) list.push({ name: 'subjectAltName', altNames, critical: req.commonName === '' });
  const holder = pki.createCertificate();
  holder.setExtensions(list);
  // Present in node-forge's runtime but missing from its type definitions.
  return (pki as unknown as { certificateExtensionsToAsn1(e: unknown[]): forge.asn1.Asn1 }).certificateExtensionsToAsn1(holder.extensions);
}

/**
 * A positive serial number as the contents of a DER INTEGER: minimal (no leading zero byte
 * unless the next byte has its top bit set), as RFC 5280 and OpenSSL require. A random serial
 * whose first byte happened to be zero was refused by OpenSSL ("illegal padding") once in 256.
 */
export function serialInteger(serial: Buffer): Buffer {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  const bytes = serial.subarray(start);
  if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0)) throw new Error('a certificate serial number must be positive');
  return ((bytes[0] as number) & 0x80) === 0 ? bytes : Buffer.concat([Buffer.from([0]), bytes]);
}

/** 16 random bytes with 126 bits of entropy, always positive and always 16 bytes long in DER. */
function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  return serial;
}

/** Builds and signs a certificate; self-signed when no issuer is given. Returns PEM. */
export function createCertificate(req: CertificateRequest, issuer?: Issuer, signingKey?: KeyObject): string {
  const serial = serialInteger(req.serial ?? randomSerial());
  const spki = spkiDer(req.publicKey);
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(2).getBytes())]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, serial.toString('binary')),
    algorithm(),
    issuerName(issuer, req.commonName, req.organization),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [timeAsn1(req.notBefore), timeAsn1(req.notAfter)]),
    nameAsn1(req.commonName, req.organization),
    asn1.fromDer(forge.util.createBuffer(spki.toString('binary')), { decodeBitStrings: false } as never),
    extensions(req, issuer, spki), // forge wraps the extensions in their [3] tag
  ]);
  const tbsDer = derOf(tbs);
  const key = issuer?.privateKey ?? signingKey;
  if (!key) throw new Error('a self-signed certificate needs the signing key');
  const signature = sign('sha256', tbsDer, { key, dsaEncoding: 'der' });
  return pem('CERTIFICATE', signedWithEcdsa(tbsDer, signature));
}

/** The URI SANs of a certificate (its SPIFFE ID among them). */
export function uriSans(certificatePem: string | Buffer): string[] {
  const san = new X509Certificate(certificatePem).subjectAltName ?? '';
  return san.split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

/**
 * A PKCS#10 certificate signing request, read with forge's ASN.1 parser and checked with
 * node:crypto: the public key it carries, after verifying the request's own signature.
 */
export function readCsr(csrPem: string): { publicKey: KeyObject } {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const csr = asn1.fromDer(forge.util.createBuffer(der.toString('binary')), { decodeBitStrings: false } as never);
  const [info, , sigBits] = csr.value as forge.asn1.Asn1[];
  if (!info || !sigBits) throw new Error('not a certificate signing request');
  const spki = (info.value as forge.asn1.Asn1[])[2];
  if (!spki) throw new Error('the request carries no public key');
  const publicKey = createPublicKey({ key: derOf(spki), format: 'der', type: 'spki' });
  const signature = Buffer.from((sigBits.value as string).slice(1), 'binary');
  // Verify over the request's own bytes of CertificationRequestInfo, not a re-encoding.
  const outer = tlvHeader(der, 0);
  const inner = tlvHeader(der, outer.header);
  const infoBytes = der.subarray(outer.header, outer.header + inner.header + inner.length);
  if (!verify('sha256', infoBytes, { key: publicKey, dsaEncoding: 'der' }, signature)) throw new Error('the request\'s signature does not verify');
  return { publicKey };
}

/** Header size and content length of the DER element at `offset`. */
function tlvHeader(der: Buffer, offset: number): { header: number; length: number } {
  const first = der[offset + 1] as number;
  if (first < 0x80) return { header: 2, length: first };
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (der[offset + 2 + i] as number);
  return { header: 2 + count, length };
}
