/**
 * What the sidecar's own bundle runs (skiff-proxy-body.cjs, started by the launcher
 * skiff-proxy.mjs, cli/sidecar-launch.ts): `skiff proxy` and `skiff capture`
 * (the injected init container) without the rest of the command, so neither loads the
 * Kubernetes client, YAML, ajv or the control plane (the whole command peaks at ~115 MB RSS
 * just to start; the capture step has a 64 Mi limit). Takes the same arguments as those
 * commands (the word `proxy` first is optional). Each command is loaded only when it runs: the
 * proxy never loads child_process (~20 ms at start).
 */

// No top-level await: in the bundle this is a CommonJS script (buildSidecarBundle in src/local/bundle.ts).
const argv = process.argv.slice(2);
const capture = argv[0] === 'capture';
const out = (line: string) => process.stdout.write(`${line}\n`);
(capture
  ? import('./capture.ts').then((m) => m.runCapture(argv.slice(1), out))
  : import('./proxy.ts').then((m) => m.runProxy(argv[0] === 'proxy' ? argv.slice(1) : argv, out))
).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`skiff ${capture ? 'capture' : 'proxy'}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
