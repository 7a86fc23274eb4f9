/**
 * The sidecar's V8 code cache file: the bytecode of every function a trained sidecar compiled
 * (its start and its request path), so a new sidecar neither compiles its 2.8 MB bundle at
 * start nor each function of the request path on its first request (docs/performance.md).
 *
 * A file holds a header and V8's data: `SKIFFCC1`, the SHA-256 of the script source it was
 * made from, the SHA-256 of the data, then the data. V8 checks its own version and flags but
 * only the *length* of the source, and release builds do not verify the data's checksum: a
 * cache of another script of the same length, or a torn write, would run wrong bytecode. The
 * two digests rule both out; a file that fails them is not used. The file lives beside the
 * bundle it was made for and is as trusted as the bundle (whoever can write one can write the
 * other); the digests guard against accidents, not against the bundle's owner.
 */
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('SKIFFCC1');
const HEADER = MAGIC.length + 64;

export const sha256 = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();

/** Where the sidecar bundle's launcher `entry` (skiff-proxy.mjs) finds the sidecar's code. */
export const sidecarBodyFile = (entry: string): string => entry.replace(/\.mjs$/, '-body.cjs');

/** The cache file's name for a script whose source digest is `sourceDigest`. */
export function codeCacheName(sourceDigest: Buffer): string {
  return `skiff-proxy.${sourceDigest.subarray(0, 8).toString('hex')}.code-cache`;
}

export function encodeCodeCache(sourceDigest: Buffer, data: Buffer): Buffer {
  return Buffer.concat([MAGIC, sourceDigest, sha256(data), data]);
}

/** V8's data from `file` when it was made from the source with `sourceDigest` and is whole; else why not. */
export function decodeCodeCache(file: Buffer, sourceDigest: Buffer): { data: Buffer } | { refused: string } {
  if (file.length <= HEADER || !file.subarray(0, MAGIC.length).equals(MAGIC)) return { refused: 'not a Skiff code cache' };
  if (!file.subarray(MAGIC.length, MAGIC.length + 32).equals(sourceDigest)) return { refused: 'made from another bundle' };
  const data = file.subarray(HEADER);
  if (!file.subarray(MAGIC.length + 32, HEADER).equals(sha256(data))) return { refused: 'damaged (its digest does not match)' };
  return { data };
}
