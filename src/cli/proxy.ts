/** `skiff proxy`: runs the sidecar. */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { mkdir, readFile } from 'node:fs/promises';
import { parseUdpRelayPorts } from '../capture/rules.ts';
import { PORTS } from '../lib/ports.ts';
import { REPORT_INTERVAL_MS } from '../config/index.ts';
import { parseProbeTcpPorts } from '../proxy/app-probe.ts';
import { parseQuantity } from '../lib/quantity.ts';
import { originalDestinationSupported } from '../proxy/original-destination.ts';
import { HEAP_TRIM_EVERY_MS, trimHeapPeriodically } from '../lib/heap-trim.ts';
import { keepTickObjectShape } from '../lib/tick-shape.ts';
import { eventLog } from '../lib/event-log.ts';
import { ControlClient, FileConfigSource, PROBLEM_EVENTS, SkiffProxy, type ConfigSource, type Listen } from '../proxy/index.ts';

export const PROXY_USAGE = `Usage: skiff proxy --config <file.json> [options]

Runs the Skiff sidecar with its config read (and watched) from a file, or streamed from the
control plane (which also issues its certificate).

  --config FILE          ProxyConfig JSON (re-read when it changes), or:
  --control URL          the control plane (https://host:port): config stream and certificates
  --proxy-id NS/POD      this proxy's id (with --control)
  --trust-bundle FILE    PEM roots to verify the control plane (with --control)
  --bootstrap-token-file FILE  proof of identity while no valid certificate is held (first start, expired)
  --certs DIR            cert.pem, key.pem and ca.pem for mTLS (watched; rotated live)
  --inbound HOST:PORT    mesh inbound listener (default 0.0.0.0:${PORTS.inbound})
  --outbound HOST:PORT   outbound listener for the app (default 127.0.0.1:${PORTS.outbound}); keep it on
                         loopback: whoever reaches it sends requests with this pod's identity
  --admin HOST:PORT      admin listener: /config, /stats, … (default 127.0.0.1:${PORTS.admin})
  --health HOST:PORT     /ready, /live, /metrics only, for probes and Prometheus (default 0.0.0.0:${PORTS.health})
  --app-host HOST        where the application listens (default 127.0.0.1)
  --tcp-forward-host H   listen here for the mesh's TCP service ports (default: off)
  --capture              iptables (\`skiff capture\`) sends the pod's traffic here: route each outbound
                         connection by its original destination, pass non-mesh destinations through
  --probe-paths LIST     PORT:PATH,… of the application's HTTP probes: plaintext GET/HEAD allowed
  --probe-tcp-ports LIST PORT,… the health port answers GET /app-health/tcp/PORT by connecting to the
                         application's PORT (the injector's rewrite of tcpSocket probes)
  --inbound-udp LIST     APP:RELAY,… the UDP ports \`skiff capture --inbound-udp\` sends to relay ports:
                         their datagrams are relayed under the UDP access rules
  --memory-limit Q       the memory the sidecar may use (\`128Mi\`, bytes, or \`none\`): it bounds the requests
                         in flight and inbound connections (default: the memory cgroup's limit, if any)
  --access-log RATE      share of requests to log, 0 to 1 (default 0)
  --traffic-report-interval MS  how often traffic is reported to the control plane, 1000–60000
                         (default ${REPORT_INTERVAL_MS}; local mode reports every second for its live views)`;

export function parseListen(text: string | undefined, fallback: Listen): Listen {
  if (!text) return fallback;
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`"${text}" is not HOST:PORT`);
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

export async function runProxy(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' }, certs: { type: 'string' }, control: { type: 'string' }, 'proxy-id': { type: 'string' }, 'trust-bundle': { type: 'string' }, 'bootstrap-token-file': { type: 'string' }, inbound: { type: 'string' }, outbound: { type: 'string' }, admin: { type: 'string' }, health: { type: 'string' },
      'app-host': { type: 'string' }, 'tcp-forward-host': { type: 'string' }, capture: { type: 'boolean' }, 'probe-paths': { type: 'string' }, 'probe-tcp-ports': { type: 'string' }, 'inbound-udp': { type: 'string' }, 'access-log': { type: 'string' }, 'traffic-report-interval': { type: 'string' }, 'memory-limit': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const controlled = values.control !== undefined && values['proxy-id'] !== undefined && values.certs !== undefined && values['trust-bundle'] !== undefined;
  if (values.help || (!values.config && !controlled)) {
    out(PROXY_USAGE);
    return values.help ? 0 : 2;
  }
  const reportMs = Number(values['traffic-report-interval'] ?? REPORT_INTERVAL_MS);
  if (!Number.isInteger(reportMs) || reportMs < 1000 || reportMs > 60_000) {
    process.stderr.write(`skiff proxy: --traffic-report-interval must be a whole number of milliseconds from 1000 to 60000\n`);
    return 2;
  }
  const memoryText = values['memory-limit'];
  const memoryLimitBytes = memoryText === undefined ? undefined : memoryText === 'none' ? null : parseQuantity(memoryText);
  if (memoryText !== undefined && memoryLimitBytes !== null && !(memoryLimitBytes !== undefined && memoryLimitBytes >= 2 ** 20)) {
    process.stderr.write(`skiff proxy: --memory-limit must be a memory quantity of at least 1Mi (like 128Mi) or none\n`);
    return 2;
  }
  let inboundUdp: Map<number, number>;
  let probeTcpPorts: number[];
  let flag = '--inbound-udp';
  try {
    inboundUdp = parseUdpRelayPorts(values['inbound-udp'] ?? '');
    flag = '--probe-tcp-ports';
    probeTcpPorts = parseProbeTcpPorts(values['probe-tcp-ports'] ?? '');
  } catch (err) {
    process.stderr.write(`skiff proxy: ${flag}: ${(err as Error).message}\n`);
    return 2;
  }
  const log = pino({ base: { component: 'skiff-proxy', proxy: values['proxy-id'] } }, pino.destination(2));
  const logEvent = eventLog(log, PROBLEM_EVENTS);
  const started: { proxy?: SkiffProxy } = {};
  let source: ConfigSource;
  if (controlled) {
    await mkdir(values.certs as string, { recursive: true });
    source = new ControlClient({
      url: values.control as string, proxyId: values['proxy-id'] as string, certDir: values.certs as string,
      trustBundle: await readFile(values['trust-bundle'] as string, 'utf8'),
      ...(values['bootstrap-token-file'] ? { bootstrapTokenFile: values['bootstrap-token-file'] } : {}),
      onCertificate: () => started.proxy?.reloadCertificates(),
      forwardsTcp: values['tcp-forward-host'] !== undefined,
      log: logEvent,
    });
  } else {
    source = new FileConfigSource(values.config as string);
  }
  const proxy = new SkiffProxy({
    config: source,
    ...(values.certs ? { certDir: values.certs } : {}),
    inbound: parseListen(values.inbound, { host: '0.0.0.0', port: PORTS.inbound }),
    outbound: parseListen(values.outbound, { host: '127.0.0.1', port: PORTS.outbound }),
    admin: parseListen(values.admin, { host: '127.0.0.1', port: PORTS.admin }),
    health: parseListen(values.health, { host: '0.0.0.0', port: PORTS.health }),
    appHost: values['app-host'] ?? '127.0.0.1',
    ...(values['tcp-forward-host'] ? { tcpForwardHost: values['tcp-forward-host'] } : {}),
    capture: values.capture ?? false,
    probePaths: (values['probe-paths'] ?? '').split(',').filter((p) => /^[0-9]{1,5}:\//.test(p)),
    probeTcpPorts,
    inboundUdp,
    accessLog: { sample: Number(values['access-log'] ?? 0) },
    trafficReportMs: reportMs,
    ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
    log: logEvent,
  });
  started.proxy = proxy;
  keepTickObjectShape(); // before any request: lib/tick-shape.ts
  const addresses = await proxy.start();
  log.info({ event: 'listening', ...addresses, ...(values.capture ? { originalDestinations: originalDestinationSupported() } : {}) });
  const trimming = trimHeapPeriodically((available) => log.info({ event: 'heap-trim', available, everyMs: HEAP_TRIM_EVERY_MS }));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Finish what is in flight, but never hang on shutdown.
  trimming.stop();
  await Promise.race([proxy.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  log.info({ event: 'stopped' });
  process.exit(0);
}
