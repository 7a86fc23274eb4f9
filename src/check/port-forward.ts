/**
 * One HTTP GET to a port on a pod's loopback through the API server's port-forward (RBAC:
 * pods/portforward), the way `kubectl port-forward` reaches it: the controller's status
 * server listens on 127.0.0.1 only and is never exposed on the network.
 */
import { PassThrough, Writable } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';

const MAX_RESPONSE = 16 * 1024 * 1024;

export async function getThroughPortForward(kc: KubeConfig, namespace: string, pod: string, port: number, path: string, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  const input = new PassThrough();
  const chunks: Buffer[] = [];
  let size = 0;
  let socket: { close(): void } | undefined;
  let settled = false;
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no answer from ${namespace}/${pod}:${port}${path} in ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.end();
      socket?.close();
      if (err) return reject(err);
      const parsed = parseResponse(Buffer.concat(chunks));
      if (parsed) resolve(parsed);
      else reject(new Error(`an incomplete HTTP response from ${namespace}/${pod}:${port}`));
    };
    const output = new Writable({
      write(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > MAX_RESPONSE) finish(new Error(`response over ${MAX_RESPONSE} bytes`));
        chunks.push(chunk);
        if (parseResponse(Buffer.concat(chunks))) finish();
        done();
      },
    });
    // The error channel's first frame is only its port number (client-node strips it, leaving nothing): only text is an error.
    const errors = new Writable({
      write(chunk: Buffer, _enc, done) {
        const text = chunk.toString().trim();
        if (text) finish(new Error(`port-forward: ${text}`));
        done();
      },
    });
    new PortForward(kc, true).portForward(namespace, pod, [port], output, errors, input).then((ws) => {
      socket = typeof ws === 'function' ? ws() ?? undefined : ws;
      (socket as unknown as { on?: (e: string, f: () => void) => void }).on?.('close', () => finish());
      if (!settled) input.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAccept: application/json\r\n\r\n`);
    }, (err: unknown) => finish(describe(err)));
  });
}

/** A complete HTTP/1.1 response with Content-Length (Fastify's JSON replies), or undefined while incomplete. */
function parseResponse(data: Buffer): { status: number; body: string } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1]);
  if (!status || !Number.isFinite(length) || data.length < end + 4 + length) return undefined;
  return { status, body: data.subarray(end + 4, end + 4 + length).toString('utf8') };
}

/** The websocket layer rejects with events and plain objects as well as Errors. */
function describe(err: unknown): Error {
  if (err instanceof Error) return err;
  const o = err as { message?: unknown; error?: { message?: unknown }; type?: unknown } | undefined;
  const text = typeof o?.message === 'string' ? o.message : typeof o?.error?.message === 'string' ? o.error.message : typeof o?.type === 'string' ? `websocket ${o.type}` : JSON.stringify(err);
  return new Error(`port-forward to the controller failed: ${text}`);
}
