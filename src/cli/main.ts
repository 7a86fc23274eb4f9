/**
 * cli: the `skiff` command. Each subcommand lives in its own module and returns an exit code;
 * this file only dispatches.
 */
import { runCapture } from './capture.ts';
import { runCheck } from './check.ts';
import { runStat } from './stat.ts';
import { runDashboard } from './dashboard.ts';
import { runController } from './controller.ts';
import { runExplain } from './explain.ts';
import { runInject } from './inject.ts';
import { runInstall, runUninstall } from './install.ts';
import { runProxy } from './proxy.ts';
import { runUp } from './up.ts';
import { runValidate } from './validate.ts';

type Command = (argv: string[], out: (line: string) => void) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  validate: { run: runValidate, summary: 'check SMI objects in YAML files and folders' },
  explain: { run: runExplain, summary: 'show who may call what, what splits resolve to, and why' },
  up: { run: runUp, summary: 'run a folder of YAML as a local mesh (the embedded default)' },
  proxy: { run: runProxy, summary: 'run the sidecar proxy' },
  controller: { run: runController, summary: 'run the control plane in a Kubernetes cluster' },
  inject: { run: runInject, summary: 'add the Skiff sidecar to the workloads in YAML files (offline)' },
  install: { run: runInstall, summary: 'print the manifests that install Skiff in a cluster (| kubectl apply -f -)' },
  check: { run: runCheck, summary: 'check that Skiff can be installed (--pre) or that an install is healthy' },
  stat: { run: runStat, summary: 'traffic per deployment, pod, service, TrafficSplit… (the SMI TrafficMetrics API)' },
  dashboard: { run: runDashboard, summary: 'the live mesh dashboard for a cluster, in the browser (local mode: skiff up serves it)' },
  uninstall: { run: runUninstall, summary: 'print what install created, for kubectl delete -f -' },
  capture: { run: runCapture, summary: 'install the traffic-capture rules (the injected init container)' },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return ['Usage: skiff <command> [options]', '', 'Commands:', ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`), '', 'Run `skiff <command> --help` for a command\'s options.'].join('\n');
}

// A closed pipe (`skiff explain … | head`) ends the output, not the program with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`skiff: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`skiff ${name}: ${message}\n`);
    return 2;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
