/**
 * One-time bootstrap tokens for local mode: the runtime hands each sidecar process a fresh
 * token when it starts it; the token proves "I am the sidecar of pod X" exactly once, within
 * its lifetime, and is gone after its first use. Renewals use the certificate instead.
 * (In a cluster the proof is a pod-bound, time-bound ServiceAccount token checked by
 * TokenReview; see kubernetes-identity.ts.)
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const BOOTSTRAP_TOKEN_TTL_MS = 10 * 60_000;

export class BootstrapTokens {
  private readonly tokens = new Map<string, { token: Buffer; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs = BOOTSTRAP_TOKEN_TTL_MS, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** A new token for a proxy; any earlier one of that proxy stops working. */
  issue(proxyId: string): string {
    const token = randomBytes(24);
    this.tokens.set(proxyId, { token, expiresAt: this.now() + this.ttlMs });
    return token.toString('hex');
  }

  /** True once for the right, unexpired token of that proxy; the token is used up either way it was right. */
  consume(proxyId: string, presented: string): boolean {
    const entry = this.tokens.get(proxyId);
    if (!entry) return false;
    if (entry.expiresAt <= this.now()) {
      this.tokens.delete(proxyId);
      return false;
    }
    const given = Buffer.from(presented, 'hex');
    if (given.length !== entry.token.length || !timingSafeEqual(given, entry.token)) return false;
    this.tokens.delete(proxyId);
    return true;
  }

  forget(proxyId: string): void {
    this.tokens.delete(proxyId);
  }
}
