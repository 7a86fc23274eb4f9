/** Probes the security tests share: raw TLS and TCP clients that report exactly what came back. */
import net from 'node:net';
import tls from 'node:tls';
import type { SkiffProxy } from '../../src/proxy/index.ts';

export interface ProbeResult {
  /** Every byte the server sent, as text. */
  text: string;
  /** The server closed (or reset) the connection before the probe gave up. */
  closed: boolean;
  error?: string;
}

/** Opens a TLS connection with the given client certificate (or none), sends `payload`, and collects the answer. */
export function tlsProbe(options: { host: string; port: number; servername: string; certPem?: string; keyPem?: string; payload: string; waitMs?: number }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (closed: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ...(error ? { error } : {}) });
    };
    const socket = tls.connect({
      host: options.host, port: options.port, servername: options.servername, rejectUnauthorized: false, minVersion: 'TLSv1.3',
      ...(options.certPem ? { cert: options.certPem, key: options.keyPem } : {}),
    });
    const timer = setTimeout(() => finish(false), options.waitMs ?? 3000);
    socket.on('secureConnect', () => socket.write(options.payload));
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('error', (err) => finish(true, err.message));
    socket.on('close', () => finish(true));
  });
}

/** Writes raw bytes to a TCP listener and collects what comes back until it closes or `waitMs` passes. */
export function rawProbe(host: string, port: number, bytes: string | Buffer, waitMs = 3000, keepOpen = false): Promise<ProbeResult & { elapsedMs: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    let text = '';
    let done = false;
    const socket = net.connect({ host, port });
    const finish = (closed: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, elapsedMs: performance.now() - started, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => {
      if (bytes.length > 0) socket.write(bytes);
      if (!keepOpen) return;
    });
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('error', (err) => finish(true, err.message));
    socket.on('close', () => finish(true));
  });
}

/** The value of `skiff_connections_refused_total` for a listener and reason. */
export async function refusedCount(proxy: SkiffProxy, listener: string, reason: string): Promise<number> {
  const metric = await proxy.telemetry.connectionsRefused.get();
  return metric.values.find((v) => v.labels.listener === listener && v.labels.reason === reason)?.value ?? 0;
}
