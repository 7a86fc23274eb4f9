import { deepStrictEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import { codeCacheName, decodeCodeCache, encodeCodeCache, sha256, sidecarBodyFile } from './code-cache.ts';

const source = sha256('the sidecar body');
const data = Buffer.from('V8 code cache bytes '.repeat(50));

test('a code cache file gives back its data only for the source it was made from, whole', () => {
  const file = encodeCodeCache(source, data);
  deepStrictEqual(decodeCodeCache(file, source), { data });
  deepStrictEqual(decodeCodeCache(file, sha256('another body of the same length')), { refused: 'made from another bundle' });
  const damaged = Buffer.from(file);
  damaged.writeUInt8(damaged.readUInt8(damaged.length - 10) ^ 1, damaged.length - 10);
  deepStrictEqual(decodeCodeCache(damaged, source), { refused: 'damaged (its digest does not match)' });
  deepStrictEqual(decodeCodeCache(file.subarray(0, file.length - 1), source), { refused: 'damaged (its digest does not match)' });
  for (const junk of [Buffer.alloc(0), file.subarray(0, 72), Buffer.concat([Buffer.from('SKIFFCC2'), file.subarray(8)]), Buffer.from('not a cache at all, but long enough to have a header and some data after it '.repeat(3))]) {
    deepStrictEqual(decodeCodeCache(junk, source), { refused: 'not a Skiff code cache' });
  }
});

test('the cache is named for the source digest, beside the launcher; the launcher finds its code by its own name', () => {
  equal(codeCacheName(source), `skiff-proxy.${source.subarray(0, 8).toString('hex')}.code-cache`);
  equal(sidecarBodyFile('/app/skiff-proxy.mjs'), '/app/skiff-proxy-body.cjs');
  equal(sidecarBodyFile('/x/skiff-proxy-42.mjs'), '/x/skiff-proxy-42-body.cjs');
});
