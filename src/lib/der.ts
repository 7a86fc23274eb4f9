/**
 * DER (ITU-T X.690) writing for the few ASN.1 values Skiff signs itself: a certificate's or a
 * request's outer SEQUENCE { signed bytes, algorithm, signature } and a certificate signing
 * request's fields. The certificate authority builds whole certificates with node-forge; the
 * sidecar only makes a request, and loading forge for it cost it ~23 ms at every start.
 */

const TAG = { integer: 0x02, bitString: 0x03, oid: 0x06, utf8String: 0x0c, sequence: 0x30, set: 0x31 } as const;

/** One element: its tag, its definite length, its contents. */
export function element(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), lengthOf(body.length), body]);
}

function lengthOf(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const sequence = (...contents: Buffer[]): Buffer => element(TAG.sequence, ...contents);
export const set = (...contents: Buffer[]): Buffer => element(TAG.set, ...contents);
export const utf8String = (text: string): Buffer => element(TAG.utf8String, Buffer.from(text, 'utf8'));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Buffer): Buffer => element(TAG.bitString, Buffer.from([0]), bytes);

/** A small non-negative INTEGER (versions). */
export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 127) throw new Error(`not a small integer: ${value}`);
  return element(TAG.integer, Buffer.from([value]));
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new Error(`not an object identifier: ${dotted}`);
  const bytes: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift(0x80 | (n % 128));
    bytes.push(...base128);
  }
  return element(TAG.oid, Buffer.from(bytes));
}

/** AlgorithmIdentifier of ecdsa-with-SHA256 (RFC 5758: no parameters). */
export const ECDSA_WITH_SHA256 = sequence(objectIdentifier('1.2.840.10045.4.3.2'));

/** SEQUENCE { the signed bytes exactly as signed, ecdsa-with-SHA256, BIT STRING signature }. */
export function signedWithEcdsa(content: Buffer, signature: Buffer): Buffer {
  return sequence(content, ECDSA_WITH_SHA256, bitString(signature));
}

/** PEM (RFC 7468): the DER in base64, 64 characters a line, between its label's lines. */
export function pem(label: string, der: Buffer): string {
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
