/** `skiff up <dir>`: runs a folder of YAML as a local mesh (see src/local/). */
import { parseArgs } from 'node:util';
import { PORTS } from '../lib/ports.ts';
import { keepTickObjectShape } from '../lib/tick-shape.ts';
import { LocalRuntime } from '../local/runtime.ts';
import { guideLines, renderStatus } from '../local/stats.ts';

export const UP_USAGE = `Usage: skiff up [options] <dir>

Runs every Deployment in the folder as local processes, each replica on its own loopback
address with a Skiff sidecar, an in-process control plane issuing certificates and streaming
configs, and applies edits to the folder live. Ctrl-C stops everything.

  --control-port N   control plane port (default ${PORTS.control})
  --debug-port N     debug/status port on 127.0.0.1 (default ${PORTS.debug}): /status, /debug/proxies, …
  --refresh S        seconds between redraws (default 1; 5 when not a terminal)
  --duration S       stop after S seconds (for scripts and tests)
  --subnet N         pod addresses in 127.N.0.0/16 (default 77)
  --control-plane-only  run no processes, only the control plane (sidecars run elsewhere)`;

export async function runUp(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { 'control-port': { type: 'string' }, 'debug-port': { type: 'string' }, refresh: { type: 'string' }, duration: { type: 'string' }, 'control-plane-only': { type: 'boolean' }, subnet: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const dir = positionals[0];
  if (values.help || !dir) {
    out(UP_USAGE);
    return values.help ? 0 : 2;
  }
  const subnet = values.subnet === undefined ? undefined : Number(values.subnet);
  if (subnet !== undefined && !(Number.isInteger(subnet) && subnet >= 1 && subnet <= 254)) {
    process.stderr.write(`skiff up: --subnet must be a whole number from 1 to 254 (pods on 127.N.0.0/16), not ${JSON.stringify(values.subnet)}\n`);
    return 2;
  }
  const tty = process.stdout.isTTY === true;
  const runtime = new LocalRuntime({
    dir,
    controlPort: Number(values['control-port'] ?? PORTS.control),
    debugPort: Number(values['debug-port'] ?? PORTS.debug),
    controlPlaneOnly: values['control-plane-only'] === true,
    ...(subnet !== undefined ? { subnet } : {}),
    log: (line) => { if (!tty) out(line); },
  });
  out(`skiff up ${dir}: starting the control plane, then each pod's sidecar and, once it is ready, its app…`);
  keepTickObjectShape(); // the control plane runs in this process: lib/tick-shape.ts
  try {
    await runtime.start();
  } catch (err) {
    // Whatever started before the failure (the control plane, some pods) stops with it.
    process.stderr.write(`skiff up: ${(err as Error).message}\n`);
    await runtime.stop().catch(() => undefined);
    return 1;
  }
  const debugUrl = `http://127.0.0.1:${runtime.debugPort}`;
  out(guideLines(runtime.stats.status(), dir, debugUrl).join('\n'));
  const refreshMs = Number(values.refresh ?? (tty ? 1 : 5)) * 1000;
  const draw = setInterval(() => {
    const status = runtime.stats.status();
    const lines = tty ? [...guideLines(status, dir, debugUrl), '', ...renderStatus(status)] : renderStatus(status);
    if (tty) process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
    else out(lines.join('\n'));
  }, refreshMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (values.duration) setTimeout(resolve, Number(values.duration) * 1000);
  });
  clearInterval(draw);
  out('stopping every process…');
  await runtime.stop();
  out('stopped.');
  process.exit(0);
}
