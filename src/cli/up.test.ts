import { test } from 'node:test';
import { equal, match } from 'node:assert/strict';
import { runUp } from './up.ts';

test('--subnet takes a whole number from 1 to 254, refused before anything starts', async () => {
  for (const bad of ['abc', '0', '255', '1.5', '-3', '']) {
    const write = process.stderr.write.bind(process.stderr);
    let stderr = '';
    process.stderr.write = ((chunk: string) => {
      stderr += chunk;
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await runUp(['/nonexistent-folder', `--subnet=${bad}`], () => undefined);
    } finally {
      process.stderr.write = write;
    }
    equal(code, 2, bad);
    match(stderr, /--subnet must be a whole number from 1 to 254/, bad);
  }
});
