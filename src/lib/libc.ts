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
function libcFunction<T>(signature: string): T | null {
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

/** Each function once, on first use. */
function memoised<T>(signature: string): () => T | null {
  let fn: T | null | undefined;
  return () => (fn === undefined ? (fn = libcFunction<T>(signature)) : fn);
}

/** `getsockopt(fd, level, name, value, [length])`: 0 on success, the option's bytes in `value`. */
export type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number[]) => number;
export const getsockopt = memoised<GetSockOpt>('int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *length)');

/** `malloc_trim(pad)`: gives free heap pages back to the kernel. */
export const mallocTrim = memoised<(pad: number) => number>('int malloc_trim(size_t pad)');
