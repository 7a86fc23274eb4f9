/**
 * Loopback /16s for test meshes, one process at a time. Test files run two at once, and each
 * places its pods on 127.<subnet>.x.y: two files on one subnet would bind each other's
 * addresses (a listener refused, or a request answered by the other file's mesh). A subnet
 * is claimed by listening on 127.<subnet>.255.254:LOCK_PORT, which only one process can do,
 * and which the kernel releases when the process ends, however it ends.
 */
import net from 'node:net';

const LOCK_PORT = 19_999;

export interface SubnetClaim {
  subnet: number;
  release(): void;
}

function tryClaim(subnet: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(LOCK_PORT, `127.${subnet}.255.254`, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** A subnet in [first, last] no other process holds, tried from one the process id picks. */
export async function claimSubnet(first: number, last: number): Promise<SubnetClaim> {
  const size = last - first + 1;
  const start = process.pid % size;
  for (let i = 0; i < size; i++) {
    const subnet = first + ((start + i) % size);
    const server = await tryClaim(subnet);
    if (server) return { subnet, release: () => server.close() };
  }
  throw new Error(`no free loopback subnet in 127.${first}-${last}.0.0: ${size} test processes hold them all`);
}
