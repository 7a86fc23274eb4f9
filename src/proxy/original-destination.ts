/**
 * The address a captured connection was sent to before iptables redirected it to this proxy
 * (`getsockopt(SO_ORIGINAL_DST)`, IPv4; `IP6T_SO_ORIGINAL_DST`, IPv6). Node has no socket
 * option API, so the call goes through koffi (lib/libc.ts) on the
 * accepted socket's file descriptor: about a microsecond per connection, no extra hop, no
 * helper process. Where koffi or the kernel cannot answer (not Linux, a connection that was
 * not redirected) the answer is `undefined` and the caller falls back to what the request says.
 */
import type { Socket } from 'node:net';
import { getsockopt } from '../lib/libc.ts';

export interface Destination {
  address: string;
  port: number;
}

const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_ORIGINAL_DST = 80;

/** Whether original destinations can be read here at all (for the proxy's start-up log and /ready). */
export function originalDestinationSupported(): boolean {
  return getsockopt() !== null;
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** The pre-redirect destination of an accepted TCP socket, or undefined. */
export function originalDestination(socket: Socket): Destination | undefined {
  const call = getsockopt();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!call || typeof fd !== 'number' || fd < 0) return undefined;
  const v6 = socket.remoteFamily === 'IPv6' && !socket.remoteAddress?.startsWith('::ffff:');
  const buf = Buffer.alloc(v6 ? 28 : 16);
  if (call(fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, [buf.length]) !== 0) return undefined;
  const port = buf.readUInt16BE(2);
  const address = v6 ? ipv6(buf.subarray(8, 24)) : `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
  return { address, port };
}
