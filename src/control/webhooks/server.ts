/**
 * The HTTPS server the API server calls: CRD conversion (/convert), SMI validation
 * (/validate) and sidecar injection (/inject). Its certificate can be swapped while it runs
 * (self-managed renewal, self-managed.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { InjectSettings } from '../../inject/settings.ts';
import { reviewInjection, type NamespaceAnnotations } from './injection.ts';
import { reviewAdmission, reviewConversion, type AdmissionReview, type ConversionReview } from './reviews.ts';

export interface WebhookServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  /** Sidecar injection; absent: /inject admits every pod unchanged. */
  injection?: { settings: InjectSettings; namespaceAnnotations: NamespaceAnnotations };
}

export interface WebhookServer {
  app: FastifyInstance;
  url: string;
  /** Serves with a new certificate from now on (connections already open keep theirs). */
  setCertificate(certPem: string, keyPem: string): void;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  // The API server sends at most 3 MiB objects; 8 MiB leaves room for a review's envelope.
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 8 * 1024 * 1024, requestTimeout: 10_000, https: { cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 } });
  app.post<{ Body: ConversionReview }>('/convert', async (request) => reviewConversion(request.body));
  app.post<{ Body: AdmissionReview }>('/validate', async (request) => reviewAdmission(request.body));
  app.post<{ Body: AdmissionReview }>('/inject', async (request) => {
    const injection = options.injection;
    const uid = request.body?.request?.uid ?? '';
    if (!injection) return { apiVersion: request.body?.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } };
    return reviewInjection(request.body, injection.settings, injection.namespaceAnnotations);
  });
  app.get('/healthz', async () => ({ ok: true }));
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  return {
    app, url: `https://${options.host}:${typeof address === 'object' && address ? address.port : options.port}`,
    setCertificate: (cert, key) => (app.server as unknown as { setSecureContext(o: { cert: string; key: string; minVersion: string }): void }).setSecureContext({ cert, key, minVersion: 'TLSv1.2' }),
  };
}
