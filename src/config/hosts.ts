/**
 * Host names → outbound services, the way Kubernetes DNS resolves them for a pod: `name`
 * (in the pod's own namespace), `name.ns`, `name.ns.svc`, `name.ns.svc.<clusterDomain>`, the
 * ClusterIP; any case, with or without a trailing dot and `:port`. Shared by the proxy and
 * `skiff explain` so both answer the same.
 */
import type { OutboundPort, OutboundService } from './types.ts';
import { BoundedMemo } from '../lib/bounded-memo.ts';

export interface HostTarget {
  service: OutboundService;
  port: OutboundPort;
}

export interface Authority {
  /** Lower case, without a trailing dot; an IPv6 literal without its brackets. */
  name: string;
  port?: number;
}

const REG_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/;
const IPV6 = /^[0-9a-f:.]+$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Parses `Host` or absolute-form authority text strictly: a DNS name, an IPv4 address or a
 * bracketed IPv6 literal, and an optional port 1–65535. Anything else (user info such as
 * `svc:80@evil`, spaces, several colons, empty parts) is not an authority: undefined, so
 * the caller answers 400 instead of guessing what was meant.
 */
export function parseAuthority(text: string): Authority | undefined {
  if (text.length === 0 || text.length > 261) return undefined;
  const lower = text.toLowerCase();
  let name: string;
  let portText: string | undefined;
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    if (end < 0) return undefined;
    name = lower.slice(1, end);
    const rest = lower.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest === '' ? undefined : rest.slice(1);
    if (!IPV6.test(name) || !name.includes(':')) return undefined;
  } else {
    const colon = lower.indexOf(':');
    name = colon < 0 ? lower : lower.slice(0, colon);
    portText = colon < 0 ? undefined : lower.slice(colon + 1);
    if (!REG_NAME.test(name) || name.length > 254) return undefined;
    if (name.endsWith('.')) name = name.slice(0, -1);
  }
  if (portText === undefined) return { name };
  if (!PORT.test(portText)) return undefined;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { name, port } : undefined;
}

const MEMO_SIZE = 256;

export class HostTable {
  private readonly byName = new Map<string, OutboundService>();
  /** Every service's targets, one per port, made once: a lookup returns one of them. */
  private readonly targets = new Map<OutboundService, HostTarget[]>();
  /**
   * Authorities as requests spell them (`web.shop`, `Web.Shop:80`) that `lookupAuthority`
   * found, and what it found: a memo (a request repeats its predecessors' Host), so a hit skips
   * parsing and lowering the text. Only found ones are kept, at most MEMO_SIZE; then it starts over.
   */
  private readonly memo = new BoundedMemo<string, HostTarget>(MEMO_SIZE);

  constructor(services: readonly OutboundService[], ownNamespace: string, clusterDomain: string) {
    for (const s of services) {
      this.targets.set(s, s.ports.map((port) => ({ service: s, port })));
      const base = `${s.name}.${s.namespace}`;
      for (const n of [base, `${base}.svc`, `${base}.svc.${clusterDomain}`]) this.byName.set(n, s);
      if (s.clusterIP) this.byName.set(s.clusterIP, s);
    }
    for (const s of services) if (s.namespace === ownNamespace) this.byName.set(s.name, s);
  }

  /** Whether a name (no port) stands for a service here. */
  knows(name: string): boolean {
    return this.byName.has(name);
  }

  /** The service a name (no port) stands for; a bare name (no dot) is looked up in `ownNamespace` too. */
  serviceNamed(name: string, ownNamespace: string): OutboundService | undefined {
    return this.byName.get(name) ?? (name.includes('.') || name.includes(':') ? undefined : this.byName.get(`${name}.${ownNamespace}`));
  }

  /**
   * The service and port for a host. Without a port in the host, `defaultPort` (the port
   * the connection was made to, or 80) picks one; a service with a single port takes it.
   */
  lookup(host: string, defaultPort = 80): HostTarget | undefined {
    const authority = parseAuthority(host);
    return authority ? this.lookupAuthority(authority, defaultPort) : undefined;
  }

  /** What `lookupAuthority` found for this exact authority text before, if it found something. */
  found(authority: string): HostTarget | undefined {
    return this.memo.get(authority);
  }

  /** Keeps what `lookupAuthority` (default port) found for an authority text, for `found`. */
  remember(authority: string, target: HostTarget): void {
    this.memo.set(authority, target);
  }

  /** `lookup` for an authority the caller already parsed (the proxy parses it once per request). */
  lookupAuthority({ name, port }: Authority, defaultPort = 80): HostTarget | undefined {
    const service = this.byName.get(name);
    if (!service) return undefined;
    const wanted = port ?? defaultPort;
    const targets = this.targets.get(service) as HostTarget[];
    for (const t of targets) if (t.port.port === wanted) return t;
    return port === undefined && targets.length === 1 ? targets[0] : undefined;
  }
}
