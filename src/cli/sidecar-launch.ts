/**
 * The sidecar bundle's entry point (skiff-proxy.mjs): runs the sidecar's code, one CommonJS
 * script beside it (skiff-proxy-body.cjs), through V8 with the code cache made for it when
 * there is a usable one (lib/code-cache.ts). With SKIFF_CODE_CACHE=write and no usable cache,
 * it writes one as the process exits, from everything the process compiled by then: the image
 * build trains a sidecar so (scripts/train-code-cache.ts), and local mode's sidecars make the
 * cache for the next run. Any cache problem only costs speed: the script is compiled instead.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { codeCacheName, decodeCodeCache, encodeCodeCache, sha256, sidecarBodyFile } from '../lib/code-cache.ts';

const entry = fileURLToPath(import.meta.url);
const bodyFile = sidecarBodyFile(entry);
const source = readFileSync(bodyFile, 'utf8');
const digest = sha256(source);
const cacheFile = join(dirname(entry), codeCacheName(digest));

let cachedData: Buffer | undefined;
let unused = '';
try {
  const decoded = decodeCodeCache(readFileSync(cacheFile), digest);
  if ('data' in decoded) cachedData = decoded.data;
  else unused = decoded.refused;
} catch {
  unused = 'absent';
}
// The CommonJS wrapper's parameters, and import.meta.url (the one use the body has of it).
const compiling = performance.now();
const script = new Script(`(function (exports, require, module, __filename, __dirname, __skiff_import_meta_url) {${source}\n})`, { filename: bodyFile, ...(cachedData ? { cachedData } : {}) });
if (cachedData && script.cachedDataRejected) unused = 'rejected by V8 (made by another Node.js version or with other V8 flags)';
// One line beside the sidecar's own start events: whether start and first requests skipped compiling.
const warn = unused !== '' && unused !== 'absent';
process.stderr.write(`${JSON.stringify({ level: warn ? 40 : 30, time: Date.now(), component: 'skiff-proxy', event: 'code-cache', file: cacheFile, used: !unused, ...(unused ? { reason: unused } : {}), compileMs: Math.round(performance.now() - compiling) })}\n`);
if (unused && process.env.SKIFF_CODE_CACHE === 'write') {
  process.once('exit', () => {
    try {
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(temporary, encodeCodeCache(digest, script.createCachedData()));
      renameSync(temporary, cacheFile);
    } catch {
      // A read-only directory: the next start compiles, as this one did.
    }
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bodyFile), module, bodyFile, dirname(bodyFile), pathToFileURL(bodyFile).href);
