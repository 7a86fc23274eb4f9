/**
 * HTTP/1.1 `Upgrade` (WebSocket and other protocols). The listener's frontend hands an
 * upgrade request to the same handler as any request, with a response bound to the client's
 * socket, so it is resolved, routed, authorised, limited and counted like any other. Only
 * the last step differs: forward() asks undici for an upgrade on the picked endpoint's pool
 * (mTLS to a peer sidecar, plain to the local application). A refusal or any answer but 101
 * goes back as an ordinary response and the connection then closes (nothing after it is
 * parsed unjudged). On 101 the two sockets are piped as bytes until either side closes or
 * nothing moves for the stream idle time; the exchange counts as one request, status 101,
 * lasting as long as the stream. `Upgrade: h2c` is ignored (RFC 9113 lets a server do so):
 * that request is answered over HTTP/1.1.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { responseHeaders } from './http-headers.ts';

export const UPGRADE = Symbol('skiff.upgrade');

/** The client side of an upgrade request: its socket and the bytes that came after the head. */
export interface UpgradeRequest {
  socket: Duplex;
  head: Buffer;
  /** The `Upgrade` header as the client sent it, e.g. `websocket`. */
  protocol: string;
}

/** A stream (upgraded or a long response) on which nothing moves for this long is closed. */
export const STREAM_IDLE_MS = 300_000;

const TOKEN_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z/]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z/]+)*$/;

/**
 * The protocol an upgrade request asks for, when it is one the proxy tunnels: a valid token
 * list other than h2c alone, named in `Connection` as RFC 9110 §7.8 requires.
 */
export function upgradeProtocol(headers: IncomingHttpHeaders): string | undefined {
  const upgrade = headers.upgrade?.trim();
  if (!upgrade || !TOKEN_LIST.test(upgrade)) return undefined;
  const connection = String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  if (!connection.includes('upgrade')) return undefined;
  if (upgrade.split(',').every((p) => p.trim().toLowerCase() === 'h2c')) return undefined;
  return upgrade;
}

/** The 101 head sent to the client: the upstream's headers plus the two the upgrade needs. */
function switchingHead(headers: Record<string, string | string[] | undefined>, dropInternal: boolean): string {
  const kept = responseHeaders(headers, dropInternal);
  const protocol = headers.upgrade;
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade'];
  if (protocol !== undefined) lines.push(`Upgrade: ${Array.isArray(protocol) ? protocol.join(', ') : protocol}`);
  for (const [name, value] of Object.entries(kept)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Completes an upgrade: writes the 101 to the client, sends the client's early bytes upstream,
 * then pipes both ways. `closed` runs once, when the stream ends either way.
 */
export function spliceUpgrade(res: ServerResponse, client: UpgradeRequest, upstream: Duplex, headers: Record<string, string | string[] | undefined>, dropInternal: boolean, closed: () => void): void {
  const socket = client.socket;
  res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    socket.destroy();
    upstream.destroy();
    closed();
  };
  for (const s of [socket, upstream]) {
    s.on('error', end);
    s.on('close', end);
    (s as Duplex & { setTimeout?: (ms: number, cb: () => void) => void }).setTimeout?.(STREAM_IDLE_MS, end);
  }
  socket.write(switchingHead(headers, dropInternal));
  if (client.head.length > 0) upstream.write(client.head);
  socket.pipe(upstream);
  upstream.pipe(socket);
  socket.resume();
}
