/**
 * glibc functions Node has no API for, through koffi (a maintained C FFI with prebuilt
 * binaries, shipped in the image beside the sidecar bundle): `getsockopt` for a captured
 * connection's original destination, `malloc_trim` for the sidecar's heap. Loaded on first
 * use; `null` where koffi or glibc is missing (the callers then do without).
 */
import { createRequire } from 'node:module';

interface Library { func(signature: string): unknown }
let libc: Library | null | undefined;

/** The glibc function with this C signature, or null. */
export function libcFunction<T>(signature: string): T | null {
  if (libc === undefined) {
    try {
      libc = (createRequire(import.meta.url)('koffi') as { load(lib: string): Library }).load('libc.so.6');
    } catch {
      libc = null;
    }
  }
  if (!libc) return null;
  try {
    return libc.func(signature) as T;
  } catch {
    return null;
  }
}
