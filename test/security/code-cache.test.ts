/**
 * The sidecar bundle's code cache, end to end: trained by running the real bundle with real
 * traffic (scripts/train-code-cache.ts), used by the next sidecar, and refused, with the
 * sidecar still starting, when it was made from another bundle, is damaged or truncated, or
 * V8 runs with other flags.
 */
import { equal, ok } from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { trainCodeCache } from '../../scripts/train-code-cache.ts';
import { decodeCodeCache, encodeCodeCache, sha256 } from '../../src/lib/code-cache.ts';
import { sidecarNodeFlags } from '../../src/lib/sidecar-runtime.ts';
import { buildSidecarBundle } from '../../src/local/bundle.ts';

interface CacheEvent { event: string; used: boolean; reason?: string; level: number }

describe('the sidecar\'s code cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-code-cache-'));
  let entry = '';
  let cacheFile = '';
  let trained = Buffer.alloc(0);
  before(async () => {
    ({ entry } = await buildSidecarBundle(esbuild, join(dir, 'skiff-proxy.mjs'), 'test'));
    const result = await trainCodeCache(entry, process.execPath, sidecarNodeFlags());
    cacheFile = result.file;
    trained = readFileSync(cacheFile);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the sidecar with an option it refuses: it exits 2 after the launcher said what it did with the cache. */
  const start = (flags: string[] = sidecarNodeFlags()) => {
    const run = spawnSync(process.execPath, [...flags, entry, 'proxy', '--no-such-option'], { encoding: 'utf8' });
    equal(run.status, 2, run.stderr);
    ok(run.stderr.includes('no-such-option'), 'the sidecar itself ran and refused the option');
    const line = run.stderr.split('\n').find((l) => l.includes('"event":"code-cache"'));
    ok(line, run.stderr);
    return JSON.parse(line) as CacheEvent;
  };

  test('training writes a cache of the bytecode compiled at start and on the request path, and the next sidecar uses it', () => {
    const decoded = decodeCodeCache(trained, sha256(readFileSync(join(dir, 'skiff-proxy-body.cjs'), 'utf8')));
    ok('data' in decoded && decoded.data.length > 500_000, `a cache of ${trained.length} bytes`);
    const event = start();
    equal(event.used, true, JSON.stringify(event));
    equal(event.level, 30);
  });

  test('a cache made from another bundle, damaged, truncated or not a cache at all is refused with a warning; the sidecar starts without it', () => {
    const data = (decodeCodeCache(trained, sha256(readFileSync(join(dir, 'skiff-proxy-body.cjs'), 'utf8'))) as { data: Buffer }).data;
    const damaged = Buffer.from(trained);
    damaged.writeUInt8(damaged.readUInt8(trained.length - 1000) ^ 0xff, trained.length - 1000);
    const cases: [Buffer, string][] = [
      [encodeCodeCache(sha256('another bundle'), data), 'made from another bundle'],
      [damaged, 'damaged (its digest does not match)'],
      [trained.subarray(0, trained.length >> 1), 'damaged (its digest does not match)'],
      [Buffer.from('#!/bin/sh\necho hello\n'.repeat(10)), 'not a Skiff code cache'],
    ];
    try {
      for (const [bytes, reason] of cases) {
        writeFileSync(cacheFile, bytes);
        const event = start();
        equal(event.used, false);
        equal(event.reason, reason);
        equal(event.level, 40);
      }
    } finally {
      writeFileSync(cacheFile, trained);
    }
  });

  test('V8 refuses a cache made with other V8 flags; the sidecar says so and starts without it', () => {
    const event = start([...sidecarNodeFlags(), '--no-flush-bytecode']);
    equal(event.used, false);
    ok(event.reason?.startsWith('rejected by V8'), event.reason);
  });

  test('without a cache the sidecar compiles, and says so only at info level', () => {
    rmSync(cacheFile);
    try {
      const event = start();
      equal(event.used, false);
      equal(event.reason, 'absent');
      equal(event.level, 30);
    } finally {
      writeFileSync(cacheFile, trained);
    }
  });
});
