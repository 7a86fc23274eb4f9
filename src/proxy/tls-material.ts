/**
 * The workload's certificate, key and mesh trust bundle, read from files and watched. A new
 * set is checked (the key matches the certificate, the certificate carries a SPIFFE ID and
 * chains to the bundle) before it replaces the old one; a broken write is reported and the
 * last good set stays in use. Established connections are never touched: new handshakes use
 * the new material.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import tls from 'node:tls';
import { certificateIdentity } from '../lib/spiffe.ts';
import { FileWatch, signatureOf } from './file-watch.ts';

export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';
export const CA_FILE = 'ca.pem';

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  caPem: string;
  identity: string;
  notAfter: Date;
  /** Increments with every accepted change; pools built on an older one are replaced. */
  generation: number;
}

/** Server-side TLS options for the mesh listeners, from one set of material. */
export function serverContextOptions(material: Pick<TlsMaterial, 'certPem' | 'keyPem' | 'caPem'>): tls.SecureContextOptions {
  // A session id context lets clients resume sessions while client certificates are requested.
  return { cert: material.certPem, key: material.keyPem, ca: material.caPem, minVersion: 'TLSv1.3', sessionIdContext: 'skiff-inbound' };
}

/** Loads and checks one set of files. Throws with a readable message when they do not fit. */
export async function loadTlsMaterial(dir: string, generation: number): Promise<TlsMaterial> {
  const [certPem, keyPem, caPem] = await Promise.all([CERT_FILE, KEY_FILE, CA_FILE].map((f) => readFile(join(dir, f), 'utf8'))) as [string, string, string];
  return checkTlsMaterial({ certPem, keyPem, caPem }, generation);
}

/**
 * Checks one set: the key matches the certificate, which names one workload SPIFFE ID, chains
 * to the bundle and loads in OpenSSL. Throws with a readable message when they do not fit.
 */
export function checkTlsMaterial(set: Pick<TlsMaterial, 'certPem' | 'keyPem' | 'caPem'>, generation: number): TlsMaterial {
  const { certPem, keyPem, caPem } = set;
  const cert = new X509Certificate(certPem);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error(`${KEY_FILE} does not belong to ${CERT_FILE}`);
  const checked = certificateIdentity(cert.subjectAltName);
  if ('problem' in checked) throw new Error(`${CERT_FILE}: ${checked.problem}`);
  const identity = checked.identity;
  const roots = caPem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((p) => p.includes('BEGIN CERTIFICATE')).map((p) => new X509Certificate(p));
  if (!roots.some((root) => cert.checkIssued(root) && cert.verify(root.publicKey))) throw new Error(`${CERT_FILE} is not signed by a certificate in ${CA_FILE}`);
  const material = { certPem, keyPem, caPem, identity, notAfter: new Date(cert.validTo), generation };
  // OpenSSL must accept the set too; a set it refuses never replaces the last good one.
  tls.createSecureContext(serverContextOptions(material));
  return material;
}

export interface TlsWatcherEvents {
  rotated: [TlsMaterial];
  rejected: [Error];
}

/** Watches a folder of PEM files; `current` is always the last good material. */
export class TlsMaterialWatcher extends EventEmitter<TlsWatcherEvents> {
  current: TlsMaterial | undefined;
  lastError: string | undefined;
  private signature = '';
  private generation = 0;
  private readonly dir: string;
  private readonly watch: FileWatch;

  constructor(dir: string, pollMs = 1000) {
    super();
    this.dir = dir;
    this.watch = new FileWatch(dir, () => this.reloadNow(), pollMs);
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  /** Re-reads the files if any changed since the last read. */
  reload(): Promise<void> {
    return this.watch.trigger();
  }

  private async reloadNow(): Promise<void> {
    let signature: string;
    try {
      signature = await signatureOf([CERT_FILE, KEY_FILE, CA_FILE].map((f) => join(this.dir, f)));
    } catch (err) {
      this.reject(err as Error);
      return;
    }
    if (signature === this.signature) return;
    try {
      const material = await loadTlsMaterial(this.dir, this.generation + 1);
      this.signature = signature;
      this.generation = material.generation;
      this.current = material;
      this.lastError = undefined;
      this.emit('rotated', material);
    } catch (err) {
      // Files are often written one at a time; the next change or poll retries.
      this.reject(err as Error);
    }
  }

  private reject(err: Error): void {
    const message = err.message;
    if (message !== this.lastError) {
      this.lastError = message;
      this.emit('rejected', err);
    }
  }
}
