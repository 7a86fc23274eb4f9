/** A throwaway mesh CA for tests: a root and workload certificates written as the proxy reads them. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificate, readCsr, type Issuer } from '../../src/lib/x509.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../../src/lib/csr.ts';

export interface LeafOptions {
  uris?: string[];
  /** Default: the test root. */
  issuer?: Issuer;
  notBefore?: Date;
  notAfter?: Date;
  isCA?: boolean;
}

/** A certificate and its key, as PEM; for probes that forge what an attacker could make. */
export function makeLeaf(options: LeafOptions & { issuer: Issuer }): { certPem: string; keyPem: string; issuer: Issuer } {
  const leaf = generateKeyPair();
  const now = Date.now();
  const certPem = createCertificate({
    commonName: 'probe', publicKey: leaf.publicKey, notBefore: options.notBefore ?? new Date(now - 60_000), notAfter: options.notAfter ?? new Date(now + 3600_000),
    isCA: options.isCA ?? false, ...(options.isCA ? { pathLength: 0 } : {}), uris: options.uris ?? [],
  }, options.issuer);
  return { certPem, keyPem: privateKeyPem(leaf.privateKey), issuer: { certificatePem: certPem, privateKey: leaf.privateKey } };
}

/** A self-made root CA, as an attacker with openssl would make one. */
export function makeRoot(commonName: string): Issuer {
  const keys = generateKeyPair();
  const now = Date.now();
  const certificatePem = createCertificate({ commonName, publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000), isCA: true, pathLength: 1 }, undefined, keys.privateKey);
  return { certificatePem, privateKey: keys.privateKey };
}

export interface TestPki {
  root: Issuer;
  rootPem: string;
  /** A certificate from this mesh's own root with any content. */
  leaf(options?: LeafOptions): { certPem: string; keyPem: string; issuer: Issuer };
  /** Writes cert.pem, key.pem and ca.pem for a SPIFFE ID into `dir`. */
  issue(dir: string, spiffeId: string, lifetimeMs?: number, extraCa?: string): void;
}

export function createTestPki(): TestPki {
  const keys = generateKeyPair();
  const now = Date.now();
  const rootPem = createCertificate({ commonName: 'skiff test root', publicKey: keys.publicKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 24 * 3600_000), isCA: true, pathLength: 0 }, undefined, keys.privateKey);
  const root: Issuer = { certificatePem: rootPem, privateKey: keys.privateKey };
  return {
    root,
    rootPem,
    leaf: (options = {}) => makeLeaf({ ...options, issuer: options.issuer ?? root }),
    issue(dir, spiffeId, lifetimeMs = 3600_000, extraCa = '') {
      const leaf = generateKeyPair();
      const { publicKey } = readCsr(createCsr(leaf, spiffeId));
      const certPem = createCertificate({ commonName: spiffeId.split('/').slice(-3).join('.'), publicKey, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + lifetimeMs), isCA: false, uris: [spiffeId] }, root);
      mkdirSync(dir, { recursive: true });
      // The key first: a reader never sees a certificate without its key for long.
      writeFileSync(join(dir, 'key.pem.tmp'), privateKeyPem(leaf.privateKey));
      writeFileSync(join(dir, 'cert.pem.tmp'), certPem);
      writeFileSync(join(dir, 'ca.pem'), rootPem + extraCa);
      // rename is atomic per file; the watcher refuses the moment between the two (key and
      // certificate not matching) and takes the pair once both are in place.
      renameSync(join(dir, 'key.pem.tmp'), join(dir, 'key.pem'));
      renameSync(join(dir, 'cert.pem.tmp'), join(dir, 'cert.pem'));
    },
  };
}
