/**
 * Waiting for a sidecar to be ready (certificate loaded, config applied: its /ready answers
 * 200), as a native sidecar's startup probe makes the kubelet wait before it starts the app.
 */
import net from 'node:net';
import { request } from 'undici';

export interface ReadyResult {
  ok: boolean;
  waitedMs: number;
  problem?: string;
}

export async function waitUntilReady(url: string, cancelled: () => boolean, timeoutMs = 30_000, intervalMs = 50): Promise<ReadyResult> {
  const started = Date.now();
  let problem = 'no answer yet';
  while (Date.now() - started < timeoutMs && !cancelled()) {
    try {
      const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      const body = await res.body.json() as { problems?: string[] };
      if (res.statusCode === 200) return { ok: true, waitedMs: Date.now() - started };
      problem = body.problems?.join('; ') ?? `status ${res.statusCode}`;
    } catch (err) {
      problem = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return { ok: false, waitedMs: Date.now() - started, problem };
}

/** Waits until something accepts TCP connections on host:port (the app is listening). */
export async function waitUntilListening(host: string, port: number, cancelled: () => boolean, timeoutMs = 30_000, intervalMs = 50): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs && !cancelled()) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}
