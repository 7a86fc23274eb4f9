import { test } from 'node:test';
import { equal, match } from 'node:assert/strict';
import { runProxy } from './proxy.ts';
import { withStderr } from '../../test/support/stderr.ts';

/** Runs `skiff proxy` with args that must be refused before anything starts: its exit code and what it wrote to stderr. */
async function refused(args: string[]): Promise<{ code: number; stderr: string }> {
  const { result, stderr } = await withStderr(() => runProxy(['--config', '/nonexistent.json', ...args], () => undefined));
  return { code: result, stderr };
}

test('--memory-limit takes a memory quantity of at least 1Mi, or none', async () => {
  for (const bad of ['lots', '1Ki', '-5Mi', '']) {
    const { code, stderr } = await refused([`--memory-limit=${bad}`]);
    equal(code, 2, bad);
    match(stderr, /--memory-limit must be a memory quantity of at least 1Mi \(like 128Mi\) or none/);
  }
});
