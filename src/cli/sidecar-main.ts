/**
 * Entry point of the sidecar's own bundle (skiff-proxy.mjs): `skiff proxy` without the rest
 * of the command, so a sidecar never loads the Kubernetes client, YAML, ajv or the control
 * plane. Takes the same arguments as `skiff proxy` (the word `proxy` first is optional).
 */
import { runProxy } from './proxy.ts';

const argv = process.argv.slice(2);
try {
  process.exitCode = await runProxy(argv[0] === 'proxy' ? argv.slice(1) : argv, (line) => process.stdout.write(`${line}\n`));
} catch (err) {
  process.stderr.write(`skiff proxy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
