import { test } from 'node:test';
import { equal, match } from 'node:assert/strict';
import { runUp } from './up.ts';
import { withStderr } from '../../test/support/stderr.ts';

test('--subnet takes a whole number from 1 to 254, refused before anything starts', async () => {
  for (const bad of ['abc', '0', '255', '1.5', '-3', '']) {
    const { result: code, stderr } = await withStderr(() => runUp(['/nonexistent-folder', `--subnet=${bad}`], () => undefined));
    equal(code, 2, bad);
    match(stderr, /--subnet must be a whole number from 1 to 254/, bad);
  }
});
