/**
 * TCP probes of the application, answered for the kubelet. The injector rewrites an
 * application container's `tcpSocket` probe into `GET /app-health/tcp/<port>` on the sidecar's
 * health port: with capture, the kubelet's connection to a pod port reaches the sidecar, which
 * accepts it whether or not the application listens, so the probe itself could never fail. Here
 * the sidecar connects to the application's port and answers 200 (it accepted) or 503.
 *
 * Only the ports the injector named are checked (404 for any other: the health listener is
 * reachable from the pod network, and is no port scanner); at most MAX_CHECKS run at once
 * (503 beyond); a check gives up after CHECK_TIMEOUT_MS.
 */
import net from 'node:net';
export const MAX_CHECKS = 16;
export const CHECK_TIMEOUT_MS = 5000;

export type PortCheck = 'open' | 'closed' | 'not-probed' | 'busy';

export class AppPortChecker {
  private readonly host: string;
  private readonly ports: ReadonlySet<number>;
  private readonly timeoutMs: number;
  private active = 0;

  constructor(host: string, ports: Iterable<number>, timeoutMs = CHECK_TIMEOUT_MS) {
    this.host = host;
    this.ports = new Set(ports);
    this.timeoutMs = timeoutMs;
  }

  /** Whether the application accepts a connection on `port` (one of the probed ports). */
  async check(port: number): Promise<PortCheck> {
    if (!this.ports.has(port)) return 'not-probed';
    if (this.active >= MAX_CHECKS) return 'busy';
    this.active++;
    try {
      return await new Promise<PortCheck>((resolve) => {
        const socket = net.connect({ host: this.host, port });
        const done = (result: PortCheck) => {
          clearTimeout(timer);
          socket.destroy();
          resolve(result);
        };
        const timer = setTimeout(() => done('closed'), this.timeoutMs);
        socket.once('connect', () => done('open'));
        socket.once('error', () => done('closed'));
      });
    } finally {
      this.active--;
    }
  }
}

/** `--probe-tcp-ports 8080,5432`: the ports, each 1–65535. */
export function parseProbeTcpPorts(text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const port = Number(part);
    if (!/^\d{1,5}$/.test(part) || port < 1 || port > 65535) throw new Error(`"${part}" is not a port`);
    return port;
  });
}
