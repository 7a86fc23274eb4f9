import { equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { captureRules, JUMPS, type CaptureSettings } from './rules.ts';

const base: CaptureSettings = { proxyUid: 2102, inboundPort: 15006, outboundPort: 15001, skipInboundPorts: ['15021'], skipOutboundPorts: [], skipOutboundCidrs: [] };

test('inbound TCP goes to the inbound listener except its own and the health port; outbound to the outbound listener except the proxy\'s uid and loopback', () => {
  equal(captureRules(base, ''), `*nat
:SKIFF_INBOUND - [0:0]
:SKIFF_OUTPUT - [0:0]
:SKIFF_INBOUND_UDP - [0:0]
-A PREROUTING -p tcp -j SKIFF_INBOUND
-A OUTPUT -p tcp -j SKIFF_OUTPUT
-A PREROUTING -p udp -j SKIFF_INBOUND_UDP
-A SKIFF_INBOUND -p tcp -m multiport --dports 15006,15021 -j RETURN
-A SKIFF_INBOUND -p tcp -j REDIRECT --to-ports 15006
-A SKIFF_OUTPUT -m owner --uid-owner 2102 -j RETURN
-A SKIFF_OUTPUT -d 127.0.0.0/8 -j RETURN
-A SKIFF_OUTPUT -p tcp -j REDIRECT --to-ports 15001
COMMIT
`);
});

test('a second run adds no jump that is already there (the chains themselves are rewritten)', () => {
  const existing = `*nat\n:PREROUTING ACCEPT [0:0]\n${JUMPS.join('\n')}\nCOMMIT\n`;
  const again = captureRules(base, existing);
  for (const jump of JUMPS) ok(!again.includes(jump), jump);
  ok(again.includes(':SKIFF_INBOUND - [0:0]'));
});

test('skipped ports are grouped 15 to a multiport match (a range counts twice); CIDRs each get a rule', () => {
  const ports = Array.from({ length: 20 }, (_, i) => String(9000 + i));
  const rules = captureRules({ ...base, skipOutboundPorts: [...ports, '7000:7100'], skipOutboundCidrs: ['10.0.0.0/8'] }, '');
  const groups = rules.split('\n').filter((l) => l.startsWith('-A SKIFF_OUTPUT -p tcp -m multiport'));
  equal(groups.length, 2);
  ok(groups[1]?.includes('9015,9016,9017,9018,9019,7000:7100'));
  ok(rules.includes('-A SKIFF_OUTPUT -d 10.0.0.0/8 -j RETURN'));
});

test('each declared UDP port goes to its own relay port, in port order; other UDP is left alone', () => {
  const rules = captureRules({ ...base, inboundUdp: new Map([[9093, 15301], [53, 15300]]) }, '');
  equal(rules.split('\n').filter((l) => l.startsWith('-A SKIFF_INBOUND_UDP')).join('\n'), `-A SKIFF_INBOUND_UDP -p udp -m udp --dport 53 -j REDIRECT --to-ports 15300
-A SKIFF_INBOUND_UDP -p udp -m udp --dport 9093 -j REDIRECT --to-ports 15301`);
  ok(!rules.includes('-A SKIFF_INBOUND_UDP -p udp -j'), 'no catch-all for UDP');
});
