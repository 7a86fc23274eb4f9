/**
 * The sidecar's workload certificate. The sidecar makes its own key and sends only a CSR,
 * proving who it is with its current certificate, or, when it holds none that is still valid
 * (its first start; a control plane away for longer than the certificate lived), with the token
 * in its token file, read anew each time (the kubelet refreshes a projected ServiceAccount
 * token there; local mode writes a fresh one-time token). It renews at about two thirds of the
 * lifetime and writes key, certificate and trust bundle into the folder the proxy watches,
 * after checking that what came loads and belongs to its key.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { checkCertificateResponse, type CertificateRequest } from '../config/index.ts';
import { backoffMs } from '../lib/backoff.ts';
import { createCsr, generateKeyPair, privateKeyPem } from '../lib/csr.ts';
import { CA_FILE, CERT_FILE, checkTlsMaterial, KEY_FILE } from './tls-material.ts';

/** Retries and reconnects to the control plane: 100 ms doubling to 5 s, with jitter. */
export const controlPlaneBackoff = (attempt: number) => backoffMs(attempt, 100, 5000);

export interface CertificateKeeperOptions {
  /** `https://host:port` of the control plane. */
  url: string;
  proxyId: string;
  certDir: string;
  /** Trust bundle to verify the control plane with (PEM), until a certificate answer brings one. */
  trustBundle: string;
  /** The file holding the token that proves the proxy's identity while it has no valid certificate. */
  bootstrapTokenFile?: string;
  /** The agent for requests to the control plane (made with `tlsOptions()`). */
  dispatcher: () => Promise<Dispatcher>;
  /** A new certificate is held and on disk. */
  renewed: () => void;
  log: (event: string, detail: Record<string, unknown>) => void;
}

export class CertificateKeeper {
  private readonly o: CertificateKeeperOptions;
  private trust: string;
  /** The current certificate and key. */
  private held: { cert: string; key: string } | undefined;
  notAfter: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: CertificateKeeperOptions) {
    this.o = options;
    this.trust = options.trustBundle;
  }

  /** TLS options for the control plane: the trust bundle, and the certificate while it is valid. */
  tlsOptions(): { ca: string; cert?: string; key?: string; minVersion: 'TLSv1.3' } {
    const material = this.held && (this.notAfter?.getTime() ?? 0) > Date.now() ? this.held : undefined;
    return { ca: this.trust, ...(material ? { cert: material.cert, key: material.key } : {}), minVersion: 'TLSv1.3' };
  }

  /** The certificate on disk when it is still valid (a restarted sidecar keeps its identity), else a new one (retried until it comes). */
  async load(): Promise<void> {
    const existing = await Promise.all([readFile(join(this.o.certDir, CERT_FILE), 'utf8'), readFile(join(this.o.certDir, KEY_FILE), 'utf8')])
      .then(([cert, key]) => ({ cert, key }), () => undefined);
    const notAfter = existing ? new Date(new X509Certificate(existing.cert).validTo) : undefined;
    if (existing && notAfter && notAfter.getTime() > Date.now()) {
      this.held = existing;
      this.notAfter = notAfter;
      this.schedule();
    } else {
      await this.renewLoop();
    }
  }

  /** The token in the token file, when no valid certificate can prove the proxy's identity (the file as it is now). */
  private async tokenIfNeeded(): Promise<string | undefined> {
    const file = this.o.bootstrapTokenFile;
    if (!file || this.tlsOptions().cert !== undefined) return undefined;
    const token = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
    return token === '' ? undefined : token;
  }

  /** Requests a certificate, proving the proxy's identity with its certificate or else its token. */
  async renew(): Promise<void> {
    const keys = generateKeyPair();
    const csr = createCsr(keys, this.o.proxyId);
    const token = await this.tokenIfNeeded();
    const ask: CertificateRequest = { proxy: this.o.proxyId, csr, ...(token ? { token } : {}) };
    const res = await request(`${this.o.url}/v1/certificate`, {
      method: 'POST', dispatcher: await this.o.dispatcher(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ask), headersTimeout: 10_000, bodyTimeout: 10_000,
    });
    const answer: unknown = await res.body.json().catch(() => undefined);
    const checked = checkCertificateResponse(answer);
    if (res.statusCode !== 200 || !checked.ok) {
      const reason = (answer as { error?: unknown } | undefined)?.error;
      throw Object.assign(new Error(`certificate request refused (${res.statusCode}): ${typeof reason === 'string' ? reason : checked.ok ? 'no certificate' : checked.problem}`), { answered: true });
    }
    const body = checked.value;
    const keyPem = privateKeyPem(keys.privateKey);
    // What the control plane sent must load before it replaces anything: a certificate OpenSSL
    // refuses, or one for another key, is refused here and asked for again.
    try {
      checkTlsMaterial({ certPem: body.certificate, keyPem, caPem: body.trustBundle }, 0);
    } catch (err) {
      throw new Error(`certificate from the control plane refused: ${(err as Error).message}`);
    }
    const dir = this.o.certDir;
    await writeFile(join(dir, `${KEY_FILE}.tmp`), keyPem, { mode: 0o600 });
    await writeFile(join(dir, `${CERT_FILE}.tmp`), body.certificate);
    await writeFile(join(dir, `${CA_FILE}.tmp`), body.trustBundle);
    await rename(join(dir, `${CA_FILE}.tmp`), join(dir, CA_FILE));
    await rename(join(dir, `${KEY_FILE}.tmp`), join(dir, KEY_FILE));
    await rename(join(dir, `${CERT_FILE}.tmp`), join(dir, CERT_FILE));
    this.trust = body.trustBundle;
    this.held = { cert: body.certificate, key: keyPem };
    this.notAfter = new Date(body.notAfter);
    this.o.log('certificate-issued', { notAfter: body.notAfter });
    this.o.renewed();
  }

  private schedule(): void {
    if (this.stopped || !this.notAfter) return;
    const lifetime = this.notAfter.getTime() - Date.now();
    const wait = Math.max(1000, (lifetime * 2) / 3);
    this.timer = setTimeout(() => void this.renewLoop(), Math.min(wait, 2_147_000_000));
    this.timer.unref();
  }

  private async renewLoop(): Promise<void> {
    let answered = false;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.renew();
        this.schedule();
        return;
      } catch (err) {
        this.o.log('certificate-error', { error: (err as Error).message, attempt });
        // The first answer after the control plane was unreachable (a refusal: an expired
        // certificate, a token used up) starts the backoff over: what proves the proxy may be
        // there in a moment (local mode writes a fresh token on that refusal).
        const refused = (err as { answered?: boolean }).answered === true;
        if (refused && !answered) attempt = 0;
        answered = refused;
        // The closer the certificate is to expiring, the more often it is asked for: an expired
        // one proves nothing (the token file must then, so the usual backoff).
        const left = (this.notAfter?.getTime() ?? Infinity) - Date.now();
        const wait = controlPlaneBackoff(Math.min(attempt, 6));
        await new Promise((r) => setTimeout(r, left > 0 ? Math.min(wait, Math.max(100, left / 8)) : wait));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
