/** Skiff's version (from package.json) and the image built from it (`npm run image`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
export const DEFAULT_IMAGE = `localhost/skiff:${VERSION}`;
