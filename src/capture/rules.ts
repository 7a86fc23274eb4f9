/**
 * capture: the iptables rules that send a pod's TCP traffic through its sidecar, computed
 * purely (rules.ts) and installed by `skiff capture` in the pod's network namespace (the
 * injected init container, root with NET_ADMIN/NET_RAW only).
 *
 *   inbound   PREROUTING → SKIFF_INBOUND: every TCP port except the proxy's own inbound and
 *             health ports and the skipped ones → REDIRECT to the inbound listener.
 *   outbound  OUTPUT → SKIFF_OUTPUT: the proxy's own traffic (its uid), loopback, skipped
 *             ports and CIDRs pass; every other TCP connection → REDIRECT to the outbound
 *             listener, which reads the original destination (SO_ORIGINAL_DST).
 *   UDP in    PREROUTING → SKIFF_INBOUND_UDP: each of the pod's declared UDP ports → REDIRECT
 *             to a relay port of its own (UDP has no SO_ORIGINAL_DST, so the relay port tells
 *             the application port); connection tracking returns the answers from the
 *             application's port. Other UDP is untouched.
 *
 * The rules live in their own chains, which are flushed and rewritten on every run; the jumps
 * to them are added only when missing, so running twice changes nothing. They die with the
 * pod's network namespace.
 */
import { PORTS } from '../lib/ports.ts';

export interface CaptureSettings {
  proxyUid: number;
  inboundPort: number;
  outboundPort: number;
  /** Ports (or `low:high` ranges) that reach the application directly. */
  skipInboundPorts: string[];
  skipOutboundPorts: string[];
  skipOutboundCidrs: string[];
  /** Captured UDP ports: application port → the sidecar's relay port for it. */
  inboundUdp?: ReadonlyMap<number, number>;
}

/** The relay ports of a pod's UDP ports: one each, from PORTS.udpRelay up, in port order. */
export function udpRelayPorts(appPorts: readonly number[]): Map<number, number> {
  return new Map([...new Set(appPorts)].sort((a, b) => a - b).map((port, i) => [port, PORTS.udpRelay + i]));
}

/** Reads `app:relay[,app:relay…]` (what `--inbound-udp` takes); throws naming the bad entry. */
export function parseUdpRelayPorts(text: string): Map<number, number> {
  const ports = new Map<number, number>();
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(entry);
    const app = Number(m?.[1]);
    const relay = Number(m?.[2]);
    if (!m || app < 1 || app > 65535 || relay < 1 || relay > 65535) throw new Error(`"${entry}" is not <application port>:<relay port>`);
    if (ports.has(app)) throw new Error(`UDP port ${app} is given twice`);
    ports.set(app, relay);
  }
  return ports;
}

/** The `--inbound-udp` text of a port map. */
export function formatUdpRelayPorts(ports: ReadonlyMap<number, number>): string {
  return [...ports].map(([app, relay]) => `${app}:${relay}`).join(',');
}

export const CHAINS = { inbound: 'SKIFF_INBOUND', outbound: 'SKIFF_OUTPUT', inboundUdp: 'SKIFF_INBOUND_UDP' } as const;
/** Jumps from the built-in chains, as `iptables -S` prints them. */
export const JUMPS = [`-A PREROUTING -p tcp -j ${CHAINS.inbound}`, `-A OUTPUT -p tcp -j ${CHAINS.outbound}`, `-A PREROUTING -p udp -j ${CHAINS.inboundUdp}`] as const;

/** iptables' multiport match takes at most 15 ports (a range counts as two). */
function portGroups(ports: string[]): string[] {
  const groups: string[][] = [];
  let current: string[] = [];
  let weight = 0;
  for (const p of ports) {
    const w = p.includes(':') ? 2 : 1;
    if (weight + w > 15) {
      groups.push(current);
      current = [];
      weight = 0;
    }
    current.push(p);
    weight += w;
  }
  if (current.length) groups.push(current);
  return groups.map((g) => g.join(','));
}

/**
 * Input for `iptables-restore --noflush`: declares (and so flushes) Skiff's chains and fills
 * them; `existingRules` (from `iptables-save -t nat`) decides which jumps still need adding.
 */
export function captureRules(s: CaptureSettings, existingRules: string): string {
  const have = new Set(existingRules.split('\n').map((l) => l.trim()));
  const lines = ['*nat', `:${CHAINS.inbound} - [0:0]`, `:${CHAINS.outbound} - [0:0]`, `:${CHAINS.inboundUdp} - [0:0]`];
  for (const jump of JUMPS) if (!have.has(jump)) lines.push(jump);
  const inbound = [String(s.inboundPort), ...s.skipInboundPorts];
  for (const group of portGroups([...new Set(inbound)])) lines.push(`-A ${CHAINS.inbound} -p tcp -m multiport --dports ${group} -j RETURN`);
  lines.push(`-A ${CHAINS.inbound} -p tcp -j REDIRECT --to-ports ${s.inboundPort}`);
  lines.push(`-A ${CHAINS.outbound} -m owner --uid-owner ${s.proxyUid} -j RETURN`);
  lines.push(`-A ${CHAINS.outbound} -d 127.0.0.0/8 -j RETURN`);
  for (const cidr of s.skipOutboundCidrs) lines.push(`-A ${CHAINS.outbound} -d ${cidr} -j RETURN`);
  for (const group of portGroups(s.skipOutboundPorts)) lines.push(`-A ${CHAINS.outbound} -p tcp -m multiport --dports ${group} -j RETURN`);
  lines.push(`-A ${CHAINS.outbound} -p tcp -j REDIRECT --to-ports ${s.outboundPort}`);
  for (const [app, relay] of [...(s.inboundUdp ?? new Map<number, number>())].sort((a, b) => a[0] - b[0])) lines.push(`-A ${CHAINS.inboundUdp} -p udp -m udp --dport ${app} -j REDIRECT --to-ports ${relay}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}
