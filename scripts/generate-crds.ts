// Writes smi-crds/ from src/api/schemas (see src/api/crds.ts). Run with `npm run crds`.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderCrdFiles } from '../src/api/crds.ts';

const dir = join(import.meta.dirname, '..', 'smi-crds');
await mkdir(dir, { recursive: true });
const files = renderCrdFiles();
for (const name of await readdir(dir)) {
  if (name.endsWith('.yaml') && !files.has(name)) await rm(join(dir, name));
}
for (const [name, text] of files) await writeFile(join(dir, name), text);
process.stdout.write(`wrote ${files.size} files to smi-crds/\n`);
