/**
 * The sidecar's own listeners (inbound, outbound, captured outbound, TCP forwards) are `net`
 * servers: they look at a connection's first byte or its original destination before handing
 * it to TLS or HTTP. Unlike Node's HTTP, HTTPS and HTTP/2 servers, a `net` server leaves
 * Nagle's algorithm on, and a small answer written while earlier bytes are unacknowledged
 * then waits for the peer's delayed ACK: 40 ms on the first answer of every new mTLS
 * connection (after the TLS session tickets). Every listener is made here, with TCP_NODELAY.
 */
import net, { type Socket } from 'node:net';
import type { Telemetry } from './telemetry.ts';

/** A listener whose accepted sockets send at once; paused until the handler reads them, unless `paused` is false. */
export function createListener(onConnection: (socket: Socket) => void, paused = true): net.Server {
  return net.createServer({ pauseOnConnect: paused, noDelay: true }, onConnection);
}

/** An application-side listener holds at most `max` connections; beyond, closed at accept and counted. */
export function capOutboundConnections(server: net.Server, max: number, telemetry: Telemetry): void {
  server.maxConnections = max;
  server.on('drop', () => telemetry.connectionsRefused.labels({ listener: 'outbound', reason: 'too-many-connections' }).inc());
}
