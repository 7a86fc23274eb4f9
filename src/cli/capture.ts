/** `skiff capture`: installs the traffic-capture rules in this network namespace (the injected init container). */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { issue, formatIssue, type Issue } from '../errors/issue.ts';
import { captureRules, parseUdpRelayPorts, type CaptureSettings } from '../capture/rules.ts';
import { readCidrs, readPorts, readProxyUid } from '../inject/settings.ts';
import { PORTS } from '../lib/ports.ts';

export const CAPTURE_USAGE = `Usage: skiff capture --proxy-uid UID [options]

Installs iptables rules (nat table, chains SKIFF_INBOUND, SKIFF_OUTPUT and SKIFF_INBOUND_UDP)
in the current network namespace so that TCP into and out of the pod, and datagrams to its
declared UDP ports, go through the Skiff sidecar. Run twice, it changes nothing. Needs root
with NET_ADMIN and NET_RAW.

  --proxy-uid UID              the proxy's user id: its own traffic is not captured
  --inbound-port PORT          the proxy's inbound listener (default ${PORTS.inbound})
  --outbound-port PORT         the proxy's outbound listener (default ${PORTS.outbound})
  --skip-inbound-ports LIST    e.g. 15021,9000-9100: reach the application directly
  --skip-outbound-ports LIST   leave the pod directly
  --skip-outbound-cidrs LIST   e.g. 10.0.0.1/32,192.168.0.0/16
  --inbound-udp LIST           APP:RELAY,… e.g. 53:15300: the pod's UDP port APP goes to the
                               sidecar's relay port RELAY (chain SKIFF_INBOUND_UDP)
  --iptables nft|legacy        backend (default: nft when the kernel supports it, else legacy)
  --dry-run                    print the rules instead of installing them`;

function port(text: string | undefined, fallback: number, name: string, issues: Issue[]): number {
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) issues.push(issue('SKIFF_E_INJECT_ANNOTATION', name, `"${text}" is not a port`));
  return n;
}

/** Runs `<backend>-save -t nat` to tell whether the backend works and what is there already. */
function save(backend: string): string | undefined {
  try {
    return execFileSync(`iptables-${backend}-save`, ['-t', 'nat'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return undefined;
  }
}

export async function runCapture(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'proxy-uid': { type: 'string' }, 'inbound-port': { type: 'string' }, 'outbound-port': { type: 'string' }, 'skip-inbound-ports': { type: 'string' },
      'skip-outbound-ports': { type: 'string' }, 'skip-outbound-cidrs': { type: 'string' }, 'inbound-udp': { type: 'string' }, iptables: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || values['proxy-uid'] === undefined) {
    out(CAPTURE_USAGE);
    return values.help ? 0 : 2;
  }
  const issues: Issue[] = [];
  const settings: CaptureSettings = {
    proxyUid: readProxyUid(values['proxy-uid'], issues),
    inboundPort: port(values['inbound-port'], PORTS.inbound, '--inbound-port', issues),
    outboundPort: port(values['outbound-port'], PORTS.outbound, '--outbound-port', issues),
    skipInboundPorts: readPorts('--skip-inbound-ports', values['skip-inbound-ports'], issues),
    skipOutboundPorts: readPorts('--skip-outbound-ports', values['skip-outbound-ports'], issues),
    skipOutboundCidrs: readCidrs('--skip-outbound-cidrs', values['skip-outbound-cidrs'], issues),
    inboundUdp: (() => {
      try {
        return parseUdpRelayPorts(values['inbound-udp'] ?? '');
      } catch (err) {
        issues.push(issue('SKIFF_E_INJECT_ANNOTATION', '--inbound-udp', (err as Error).message));
        return new Map<number, number>();
      }
    })(),
  };
  if (issues.length > 0) {
    for (const i of issues) process.stderr.write(`skiff capture: ${formatIssue(i)}\n`);
    return 2;
  }
  if (values['dry-run']) {
    out(captureRules(settings, ''));
    return 0;
  }
  const backends = values.iptables ? [values.iptables] : ['nft', 'legacy'];
  for (const backend of backends) {
    const existing = save(backend);
    if (existing === undefined) continue;
    const rules = captureRules(settings, existing);
    execFileSync(`iptables-${backend}-restore`, ['--noflush'], { input: rules, stdio: ['pipe', 'inherit', 'inherit'] });
    out(`skiff capture: installed with iptables-${backend}:`);
    out(rules.trimEnd());
    return 0;
  }
  process.stderr.write(`skiff capture: no working iptables backend (${backends.join(', ')}): does this container have NET_ADMIN?\n`);
  return 1;
}
