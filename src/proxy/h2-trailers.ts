/**
 * A workaround for undici's HTTP/2 client (8.12–8.13, lib/dispatcher/client-h2.js): when a
 * response's trailers arrive it stops listening for body data, so a body chunk still buffered
 * in the stream at that moment (the stream paused for backpressure, or headers, data and
 * trailers read in one go) is never delivered: a gRPC answer then ends with grpc-status 0 and
 * no message, which clients report as EOF. Measured: 162 of 1,000 paused responses lost their
 * body; through two sidecars, 1–25 of every 15,000 gRPC calls under load.
 *
 * For every HTTP/2 client stream of the process (Node's `http2.client.stream.created`
 * diagnostics channel), the data listeners present before a `trailers` event are put back
 * after it when data is still buffered, so the body reaches undici before its `end`.
 * Remove once undici keeps reading the body after trailers (h2-trailers.test.ts shows it).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientHttp2Stream } from 'node:http2';

let installed = false;

function keepBodyAfterTrailers(stream: ClientHttp2Stream): void {
  const emit = stream.emit;
  stream.emit = function (this: ClientHttp2Stream, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'trailers') return emit.call(this, event, ...args);
    const listening = this.listeners('data') as ((chunk: Buffer) => void)[];
    const handled = emit.call(this, event, ...args);
    if (this.readableLength > 0) {
      const now = this.listeners('data');
      for (const listener of listening) if (!now.includes(listener)) this.on('data', listener);
    }
    return handled;
  } as ClientHttp2Stream['emit'];
}

/** Installs the workaround once per process (the sidecar calls it before its first upstream request). */
export function installH2TrailersWorkaround(): void {
  if (installed) return;
  installed = true;
  subscribe('http2.client.stream.created', (message) => keepBodyAfterTrailers((message as { stream: ClientHttp2Stream }).stream));
}
