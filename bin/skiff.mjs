#!/usr/bin/env node
// Entry point of the `skiff` command. Skiff is TypeScript run by Node.js 24's type stripping;
// when started by an older Node (machines here ship Node 20), re-run with the Node 24 that
// the project's `node` devDependency installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const local = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(local)) {
    process.stderr.write(`skiff needs Node.js 24 or newer (this is ${process.version}); run \`npm ci\` in the skiff folder to install it locally.\n`);
    process.exit(2);
  }
  const result = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
