/** The HTTPS server the API server calls for conversion (/convert) and validation (/validate). */
import Fastify, { type FastifyInstance } from 'fastify';
import { reviewAdmission, reviewConversion, type AdmissionReview, type ConversionReview } from './reviews.ts';

export interface WebhookServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 8 * 1024 * 1024, https: { cert: options.certPem, key: options.keyPem, minVersion: 'TLSv1.2' } });
  app.post<{ Body: ConversionReview }>('/convert', async (request) => reviewConversion(request.body));
  app.post<{ Body: AdmissionReview }>('/validate', async (request) => reviewAdmission(request.body));
  app.get('/healthz', async () => ({ ok: true }));
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  return { app, url: `https://${options.host}:${typeof address === 'object' && address ? address.port : options.port}` };
}
