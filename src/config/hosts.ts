/**
 * Host names → outbound services, the way Kubernetes DNS resolves them for a pod: `name`
 * (in the pod's own namespace), `name.ns`, `name.ns.svc`, `name.ns.svc.<clusterDomain>`, the
 * ClusterIP; any case, with or without a trailing dot and `:port`. Shared by the proxy and
 * `skiff explain` so both answer the same.
 */
import type { OutboundPort, OutboundService } from './types.ts';

export interface HostTarget {
  service: OutboundService;
  port: OutboundPort;
}

/** Splits `Host`/authority text into a lower-case name without trailing dot, and a port. */
export function parseHost(host: string): { name: string; port?: number } {
  let name = host.trim().toLowerCase();
  let port: number | undefined;
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    const rest = name.slice(end + 1);
    if (rest.startsWith(':')) port = Number(rest.slice(1));
    name = name.slice(1, end);
  } else {
    const colon = name.lastIndexOf(':');
    if (colon >= 0 && name.indexOf(':') === colon) {
      port = Number(name.slice(colon + 1));
      name = name.slice(0, colon);
    }
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  return port !== undefined && Number.isInteger(port) && port > 0 ? { name, port } : { name };
}

export class HostTable {
  private readonly byName = new Map<string, OutboundService>();

  constructor(services: readonly OutboundService[], ownNamespace: string, clusterDomain: string) {
    for (const s of services) {
      const base = `${s.name}.${s.namespace}`;
      for (const n of [base, `${base}.svc`, `${base}.svc.${clusterDomain}`]) this.byName.set(n, s);
      if (s.clusterIP) this.byName.set(s.clusterIP, s);
    }
    for (const s of services) if (s.namespace === ownNamespace) this.byName.set(s.name, s);
  }

  /**
   * The service and port for a host. Without a port in the host, `defaultPort` (the port
   * the connection was made to, or 80) picks one; a service with a single port takes it.
   */
  lookup(host: string, defaultPort = 80): HostTarget | undefined {
    const { name, port } = parseHost(host);
    const service = this.byName.get(name);
    if (!service) return undefined;
    const wanted = port ?? defaultPort;
    const match = service.ports.find((p) => p.port === wanted) ?? (port === undefined && service.ports.length === 1 ? service.ports[0] : undefined);
    return match ? { service, port: match } : undefined;
  }
}
