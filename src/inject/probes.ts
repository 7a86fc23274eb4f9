/**
 * The application's probes as injection sees them. With capture, the kubelet's probe
 * connections to a pod port reach the sidecar first:
 * - an HTTP probe is let through to the application in plaintext (its exact `port:path`
 *   goes to the sidecar as `--probe-paths`);
 * - a `tcpSocket` probe would only test the sidecar, which accepts any connection, so it
 *   never fails even with the application down. It is rewritten into an HTTP probe of the
 *   sidecar's health port, `/app-health/tcp/<port>`, which the sidecar answers by connecting
 *   to the application's port itself (proxy/app-probe.ts). Ports the capture skips, and probes
 *   with their own `host`, stay as they are.
 */
import { PORTS, TCP_PROBE_PREFIX } from '../lib/ports.ts';
import { arr, obj, type Json } from './json.ts';

const PROBES = ['readinessProbe', 'livenessProbe', 'startupProbe'] as const;

/** A container's port, by number or by the name of one of its ports. */
function portOf(container: Json, port: unknown): number | undefined {
  const n = typeof port === 'number' ? port : /^\d+$/.test(String(port)) ? Number(port) : Number(arr(container.ports).find((p) => p.name === port)?.containerPort);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

/** Exact `port:path` pairs of the application's HTTP probes: the proxy lets the kubelet's plaintext probes through. */
export function probePaths(spec: Json): string[] {
  const out = new Set<string>();
  for (const c of arr(spec.containers)) {
    for (const kind of PROBES) {
      const get = obj(obj(c[kind]).httpGet);
      if (Object.keys(get).length === 0 || String(get.scheme ?? 'HTTP').toUpperCase() !== 'HTTP') continue;
      const port = portOf(c, get.port);
      const path = typeof get.path === 'string' && get.path.startsWith('/') ? get.path : '/';
      if (port !== undefined && !/[\s,]/.test(path)) out.add(`${port}:${path}`);
    }
  }
  return [...out].sort();
}

/**
 * The application's containers with each `tcpSocket` probe on a captured port rewritten to
 * the sidecar's `/app-health/tcp/<port>` (its timing and thresholds kept), and those ports
 * (none: the containers are untouched).
 * `captured(port)` says whether the capture sends that port to the sidecar.
 */
export function rewriteTcpProbes(spec: Json, captured: (port: number) => boolean): { containers: Json[]; ports: number[] } {
  const ports = new Set<number>();
  const containers = arr(spec.containers).map((c) => {
    let out = c;
    for (const kind of PROBES) {
      const probe = obj(c[kind]);
      const tcp = obj(probe.tcpSocket);
      if (Object.keys(tcp).length === 0 || (typeof tcp.host === 'string' && tcp.host !== '')) continue;
      const port = portOf(c, tcp.port);
      if (port === undefined || !captured(port)) continue;
      const { tcpSocket: _replaced, ...timing } = probe;
      out = { ...out, [kind]: { ...timing, httpGet: { path: `${TCP_PROBE_PREFIX}${port}`, port: PORTS.health } } };
      ports.add(port);
    }
    return out;
  });
  return { containers, ports: [...ports].sort((a, b) => a - b) };
}
