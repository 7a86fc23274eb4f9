/**
 * A workload's side of certificate issuance: an ECDSA P-256 key pair made with node:crypto and
 * a PKCS#10 certificate signing request (RFC 2986) for it, written with lib/der. The private
 * key never leaves the process that made it; the authority (lib/x509) reads only the request's
 * public key, after checking its signature.
 */
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { element, objectIdentifier, pem, sequence, set, signedWithEcdsa, smallInteger, utf8String } from './der.ts';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function spkiDer(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/** Name ::= SEQUENCE OF SET { SEQUENCE { type, value } }: organisation "skiff", then the common name. */
function subject(commonName: string): Buffer {
  const attribute = (type: string, value: string) => set(sequence(objectIdentifier(type), utf8String(value)));
  return sequence(attribute('2.5.4.10', 'skiff'), attribute('2.5.4.3', commonName));
}

/** A PEM certificate signing request for `keys`, signed with its private key. */
export function createCsr(keys: KeyPair, commonName: string): string {
  // CertificationRequestInfo: version 0, subject, subjectPKInfo, attributes [0] (none).
  const info = sequence(smallInteger(0), subject(commonName), spkiDer(keys.publicKey), element(0xa0));
  const signature = sign('sha256', info, { key: keys.privateKey, dsaEncoding: 'der' });
  return pem('CERTIFICATE REQUEST', signedWithEcdsa(info, signature));
}
