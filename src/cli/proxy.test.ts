import { test } from 'node:test';
import { equal, match } from 'node:assert/strict';
import { runProxy } from './proxy.ts';

/** Runs `skiff proxy` with args that must be refused before anything starts: its exit code and what it wrote to stderr. */
async function refused(args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await runProxy(['--config', '/nonexistent.json', ...args], () => undefined), stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('--memory-limit takes a memory quantity of at least 1Mi, or none', async () => {
  for (const bad of ['lots', '1Ki', '-5Mi', '']) {
    const { code, stderr } = await refused([`--memory-limit=${bad}`]);
    equal(code, 2, bad);
    match(stderr, /--memory-limit must be a memory quantity of at least 1Mi \(like 128Mi\) or none/);
  }
});
