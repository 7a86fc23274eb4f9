// Writes deploy/ from src/install/ with the default install options. Run with `npm run deploy`.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderDeployFiles } from '../src/install/manifests.ts';
import { DEFAULT_INSTALL } from '../src/install/options.ts';

const dir = join(import.meta.dirname, '..', 'deploy');
const files = renderDeployFiles(DEFAULT_INSTALL);
for (const name of await readdir(dir)) {
  if (name.endsWith('.yaml') && !files.has(name)) await rm(join(dir, name));
}
for (const [name, text] of files) await writeFile(join(dir, name), text);
process.stdout.write(`wrote ${files.size} files to deploy/\n`);
