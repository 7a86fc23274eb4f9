/**
 * ca: Skiff's certificate authority. A root (ECDSA P-256, ten years) persisted in a state
 * folder with 0600 files, or an intermediate under a root the user provides; short-lived
 * workload certificates (24 h by default) with the SPIFFE ID as URI SAN, issued from CSRs so
 * private keys never leave the sidecars. The trust bundle can hold several roots, so a root
 * can be rotated with an overlap period.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { certificateIdentity, formatSpiffeId, parseSpiffeId, trustDomainId } from '../../lib/spiffe.ts';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCertificate, readCsr } from '../../lib/x509.ts';
import { generateKeyPair, privateKeyPem } from '../../lib/csr.ts';

export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600_000;
const ROOT_TTL_MS = 10 * 365 * 24 * 3600_000;
const CLOCK_SKEW_MS = 60_000;

/** Where a root is kept: a folder (local mode) or a Kubernetes Secret (the controller). */
export interface RootStore {
  load(): Promise<{ certificatePem: string; keyPem: string } | undefined>;
  /** Saves a new root; returns the root actually stored (another replica may have won the race). */
  save(root: { certificatePem: string; keyPem: string }): Promise<{ certificatePem: string; keyPem: string }>;
}

export interface AuthorityOptions {
  trustDomain: string;
  /** Folder for ca.pem and ca-key.pem; without it (and without `store`) the authority lives in memory only. */
  stateDir?: string;
  store?: RootStore;
  workloadTtlMs?: number;
  /** Extra roots to trust (a previous root during rotation). */
  extraTrust?: string;
}

export interface IssuedCertificate {
  certificatePem: string;
  notAfter: Date;
  identity: string;
}

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly workloadTtlMs: number;
  private readonly certificatePem: string;
  private readonly key: KeyObject;
  private readonly bundle: string;

  private constructor(options: AuthorityOptions, certificatePem: string, key: KeyObject) {
    this.trustDomain = options.trustDomain;
    this.workloadTtlMs = options.workloadTtlMs ?? DEFAULT_WORKLOAD_TTL_MS;
    this.certificatePem = certificatePem;
    this.key = key;
    this.bundle = certificatePem + (options.extraTrust ?? '');
  }

  /** Loads the root from the state folder, or creates (and persists) a new one. */
  static async open(options: AuthorityOptions): Promise<CertificateAuthority> {
    if (options.store) {
      const existing = await options.store.load();
      if (existing) return new CertificateAuthority(options, existing.certificatePem, createPrivateKey(existing.keyPem));
      const created = CertificateAuthority.createRoot(options);
      const kept = await options.store.save({ certificatePem: created.certificatePem, keyPem: privateKeyPem(created.key) });
      return new CertificateAuthority(options, kept.certificatePem, createPrivateKey(kept.keyPem));
    }
    if (options.stateDir) {
      const certFile = join(options.stateDir, 'ca.pem');
      const keyFile = join(options.stateDir, 'ca-key.pem');
      try {
        const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
        return new CertificateAuthority(options, cert, createPrivateKey(key));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const created = CertificateAuthority.createRoot(options);
      await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
      await writeFile(keyFile, privateKeyPem(created.key), { mode: 0o600 });
      await writeFile(certFile, created.certificatePem, { mode: 0o600 });
      await chmod(keyFile, 0o600);
      return created;
    }
    return CertificateAuthority.createRoot(options);
  }

  private static createRoot(options: AuthorityOptions): CertificateAuthority {
    const keys = generateKeyPair();
    const now = Date.now();
    const pem = createCertificate({
      commonName: `Skiff root for ${options.trustDomain}`, publicKey: keys.publicKey,
      notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + ROOT_TTL_MS), isCA: true, pathLength: 1,
      uris: [trustDomainId(options.trustDomain)],
    }, undefined, keys.privateKey);
    return new CertificateAuthority(options, pem, keys.privateKey);
  }

  /** PEM of every root a workload must trust. */
  trustBundle(): string {
    return this.bundle;
  }

  spiffeId(namespace: string, serviceAccount: string): string {
    return formatSpiffeId(this.trustDomain, namespace, serviceAccount);
  }

  /** Signs a CSR for an identity the caller has already proven. */
  issue(csrPem: string, identity: string, ttlMs = this.workloadTtlMs, dns: { dnsNames?: string[]; ipAddresses?: string[] } = {}): IssuedCertificate {
    const parsed = parseSpiffeId(identity);
    if (!parsed) throw new Error(`${identity} is not a workload SPIFFE ID`);
    if (parsed.trustDomain !== this.trustDomain) throw new Error(`${identity} is not in trust domain ${this.trustDomain}`);
    const { publicKey } = readCsr(csrPem);
    checkWorkloadKey(publicKey);
    const now = Date.now();
    const notAfter = new Date(now + ttlMs);
    const certificatePem = createCertificate({
      commonName: identity.split('/').slice(-3).join('.'), publicKey, notBefore: new Date(now - CLOCK_SKEW_MS), notAfter, isCA: false, uris: [identity], ...dns,
    }, { certificatePem: this.certificatePem, privateKey: this.key });
    return { certificatePem, notAfter, identity };
  }
}

/**
 * The one key type workload certificates carry: ECDSA P-256, what the sidecars generate.
 * RSA and other curves are refused, so every mesh certificate has the same strength and the
 * TLS settings need no second code path.
 */
export function checkWorkloadKey(publicKey: KeyObject): void {
  const type = publicKey.asymmetricKeyType;
  const curve = publicKey.asymmetricKeyDetails?.namedCurve;
  if (type !== 'ec' || curve !== 'prime256v1') throw new Error(`the request's key is ${type ?? 'unknown'}${curve ? ` (${curve})` : ''}; Skiff issues certificates only for ECDSA P-256 keys`);
}

/** The one workload identity a certificate names (exactly one URI SAN, a workload SPIFFE ID), if any. */
export function identityOf(pem: string | Buffer): string | undefined {
  const checked = certificateIdentity(new X509Certificate(pem).subjectAltName);
  return 'identity' in checked ? checked.identity : undefined;
}

