/**
 * Raw requests to the API server with the kubeconfig's credentials (certificates, tokens,
 * exec plugins: client-node applies them), for what the typed clients hide: response headers
 * (the Date for clock skew), server-side dry runs and admission denials as written.
 */
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeResponse { status: number; headers: Record<string, string | string[] | undefined>; body: unknown }

const MAX_BODY = 32 * 1024 * 1024;

export async function kubeRequest(kc: KubeConfig, method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const options: RequestOptions = { method, protocol: url.protocol, hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  if (payload) options.headers = { ...options.headers, 'content-type': 'application/json', 'content-length': String(payload.length) };
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`${path}: response over ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch { /* not JSON: keep the text */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
