import { deepStrictEqual, doesNotMatch, equal, ok } from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { buildBundle, buildSidecarBundle } from './bundle.ts';

test('a bundle reads only the built-in exports it uses: importing node:http does not load Node\'s own undici', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bundle-'));
  try {
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, [
      "import { createServer } from 'node:http';",
      "import * as util from 'node:util';",
      "import crypto, { randomUUID } from 'node:crypto';",
      "const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;",
      'console.log(JSON.stringify({ server: typeof createServer, format: util.format(\'%d\', 7), uuid: randomUUID().length, same: crypto.randomUUID === randomUUID,',
      "  undici: loaded.some((m) => m.includes('deps/undici')), webcrypto: loaded.some((m) => m.includes('crypto/webcrypto')) }));",
    ].join('\n'));
    const out = join(dir, 'out.mjs');
    await buildBundle(esbuild, entry, out, 'test');
    doesNotMatch(readFileSync(out, 'utf8'), /from\s*"node:/, 'no ES import of a built-in is left');
    const result = JSON.parse(execFileSync(process.execPath, [out], { encoding: 'utf8' })) as Record<string, unknown>;
    deepStrictEqual(result, { server: 'function', format: '7', uuid: 36, same: true, undici: false, webcrypto: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the sidecar bundle holds no node-forge, and `skiff proxy` does not load child_process (capture\'s)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bundle-'));
  try {
    const { entry: out, body } = await buildSidecarBundle(esbuild, join(dir, 'skiff-proxy.mjs'), 'test');
    const text = readFileSync(body, 'utf8');
    equal(text.includes('node_modules/node-forge'), false, 'the sidecar makes its request without forge');
    // The proxy refuses an unknown option and exits; what it loaded by then is printed at exit.
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(`LOADED ${JSON.stringify(process.moduleLoadList)}\\n`));");
    const run = spawnSync(process.execPath, ['--import', pathToFileURL(probe).href, out, 'proxy', '--no-such-option'], { encoding: 'utf8' });
    equal(run.status, 2, run.stderr);
    const loaded = JSON.parse(/LOADED (.*)/.exec(run.stderr)?.[1] ?? '[]') as string[];
    ok(loaded.includes('NativeModule tls'), 'the proxy\'s own modules were loaded');
    equal(loaded.includes('NativeModule child_process'), false, 'capture\'s child_process was not');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
