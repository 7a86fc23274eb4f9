// Writes src/config/validators.generated.ts (see src/config/standalone-validators.ts). Run with `npm run validators`.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GENERATED_VALIDATORS_FILE, renderStandaloneValidators } from '../src/config/standalone-validators.ts';

await writeFile(join(import.meta.dirname, '..', GENERATED_VALIDATORS_FILE), renderStandaloneValidators());
process.stdout.write(`wrote ${GENERATED_VALIDATORS_FILE}\n`);
