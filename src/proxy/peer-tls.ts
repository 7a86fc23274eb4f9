/**
 * The server side of mesh mTLS, for every listener that accepts other sidecars (inbound HTTP
 * and inbound TCP). Sockets are handed to a real `tls.Server`, because Node enforces
 * `rejectUnauthorized` only there: a `TLSSocket` built by hand completes the handshake with
 * an untrusted chain and merely sets `authorized = false`.
 *
 * A peer gets an identity only when all of these hold, otherwise the connection is cut and
 * counted by reason: the chain verifies against the mesh trust bundle (OpenSSL checks dates,
 * signatures and that every issuer is a CA), the leaf names exactly one URI SAN, and that SAN
 * is a workload SPIFFE ID of the proxy's own trust domain.
 */
import type { Socket } from 'node:net';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import { certificateIdentity } from '../lib/spiffe.ts';
import { serverContextOptions, type TlsMaterial } from './tls-material.ts';

export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export type RefusalReason = 'handshake-failed' | 'handshake-timeout' | 'unauthorized-chain' | 'bad-identity' | 'no-certificate';

export interface PeerTlsEvents {
  /** A verified peer: its SPIFFE ID and the SNI it asked for. */
  onPeer(socket: TLSSocket, identity: string, servername: string | undefined): void;
  onRefused(reason: RefusalReason, detail: string): void;
}

export class PeerTlsAcceptor {
  private server: tls.Server | undefined;
  private generation = -1;
  private readonly events: PeerTlsEvents;
  private readonly trustDomain: () => string | undefined;
  private readonly handshakeTimeoutMs: number;

  constructor(events: PeerTlsEvents, trustDomain: () => string | undefined, handshakeTimeoutMs = TLS_HANDSHAKE_TIMEOUT_MS) {
    this.events = events;
    this.trustDomain = trustDomain;
    this.handshakeTimeoutMs = handshakeTimeoutMs;
  }

  /** Runs the handshake on a raw socket whose first bytes are a TLS ClientHello. */
  accept(socket: Socket, material: TlsMaterial): void {
    this.serverFor(material).emit('connection', socket);
  }

  private serverFor(material: TlsMaterial): tls.Server {
    if (this.server && this.generation === material.generation) return this.server;
    if (this.server) {
      this.server.setSecureContext(serverContextOptions(material));
    } else {
      this.server = tls.createServer({ ...serverContextOptions(material), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2', 'http/1.1'], handshakeTimeout: this.handshakeTimeoutMs });
      this.server.on('secureConnection', (secure) => this.verified(secure));
      this.server.on('tlsClientError', (err: Error & { code?: string }, secure: TLSSocket) => {
        // With rejectUnauthorized, Node ends an unverified peer's socket right after the
        // handshake and reports only a hang-up; the verification error is on the socket.
        const verifyError = secure.authorizationError;
        secure.destroy();
        if (verifyError) this.events.onRefused('unauthorized-chain', String(verifyError));
        else if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') this.events.onRefused('handshake-timeout', err.message);
        else this.events.onRefused(refusalOf(err), err.message);
      });
    }
    this.generation = material.generation;
    return this.server;
  }

  private verified(secure: TLSSocket): void {
    secure.on('error', () => secure.destroy());
    // tls.Server refuses unauthorized peers during the handshake; this check costs nothing
    // and keeps the property even if the server options are ever changed.
    if (!secure.authorized) {
      secure.destroy();
      this.events.onRefused('unauthorized-chain', String(secure.authorizationError ?? 'the peer certificate did not verify'));
      return;
    }
    const cert = secure.getPeerX509Certificate();
    if (!cert) {
      secure.destroy();
      this.events.onRefused('no-certificate', 'the peer sent no certificate');
      return;
    }
    const checked = certificateIdentity(cert.subjectAltName, this.trustDomain());
    if ('problem' in checked) {
      secure.destroy();
      this.events.onRefused('bad-identity', checked.problem);
      return;
    }
    this.events.onPeer(secure, checked.identity, secure.servername || undefined);
  }
}

/**
 * The client side's check of a server sidecar (undici's and tls.connect's
 * `checkServerIdentity`): the chain was already verified against the trust bundle; the
 * certificate must name exactly one identity and it must be the expected one.
 */
export function expectServerIdentity(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const checked = certificateIdentity(cert.subjectaltname);
    if ('problem' in checked) return new Error(`server certificate refused: ${checked.problem}`);
    return checked.identity === expected ? undefined : new Error(`server identity is not ${expected} (certificate names ${checked.identity})`);
  };
}

function refusalOf(err: Error & { code?: string }): RefusalReason {
  const text = `${err.code ?? ''} ${err.message}`;
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|NO_CERTIFICATE/i.test(text)) return 'no-certificate';
  if (/CERTIFICATE|UNKNOWN_CA|VERIFY|EXPIRED|INVALID_CA|self.signed/i.test(text)) return 'unauthorized-chain';
  return 'handshake-failed';
}
