import { equal } from 'node:assert/strict';
import net, { type Socket } from 'node:net';
import { test } from 'node:test';
import { getsockopt, type GetSockOpt } from '../lib/libc.ts';
import { createListener } from './listener.ts';

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

/** TCP_NODELAY as the kernel has it on this socket. */
function noDelay(socket: Socket): number {
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  const value = Buffer.alloc(4);
  equal((getsockopt() as GetSockOpt)(fd, IPPROTO_TCP, TCP_NODELAY, value, [4]), 0);
  return value.readInt32LE(0);
}

test('a socket accepted by a sidecar listener has TCP_NODELAY, paused or not; a plain net server\'s has not', async () => {
  const seen: number[] = [];
  for (const make of [(on: (s: Socket) => void) => createListener(on), (on: (s: Socket) => void) => createListener(on, false), (on: (s: Socket) => void) => net.createServer(on)]) {
    const server = make((socket) => { seen.push(noDelay(socket)); socket.destroy(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => net.connect(port, '127.0.0.1').on('close', () => resolve()).on('error', () => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  equal(seen.length, 3);
  equal(seen[0], 1, 'the paused listener');
  equal(seen[1], 1, 'the listener that does not pause');
  equal(seen[2], 0, 'the control: Node\'s default leaves Nagle on');
});
