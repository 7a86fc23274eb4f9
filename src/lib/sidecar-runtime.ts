/**
 * How a sidecar's Node.js runs, wherever it is started (the injected container, local mode,
 * bench/proxy): the sidecar bundle and the runtime settings that keep its memory small and
 * flat. Each was measured with bench/proxy and bench/soak (docs/performance.md has the numbers).
 */
import { parseQuantity } from './quantity.ts';


/** MiB of a memory limit kept for what is not V8's old generation (young generation, code, malloc, OpenSSL, buffers). */
const NATIVE_HEADROOM_MIB = 32;
const MIN_OLD_SPACE_MIB = 48;

/** A Kubernetes memory quantity (`128Mi`, `1G`, `134217728`) in MiB; undefined when it is not one. */
export function quantityMiB(quantity: string): number | undefined {
  const bytes = parseQuantity(quantity);
  return bytes === undefined ? undefined : bytes / 2 ** 20;
}

/**
 * V8 flags for a sidecar whose container may use `memoryLimit`:
 * - a young generation of 2 MB per semi-space instead of up to 16 MB (at 1,000 rps the default
 *   grows it and the RSS with it; 1 MB scavenges so often that one core carries 9 % fewer
 *   requests; 4 MB and more add memory for little more);
 * - the old generation bounded by the limit less 32 MiB for everything else, so V8 collects
 *   harder before the kernel kills (at least 48 MiB; V8 sizes the heap by what is live, so a
 *   higher bound costs nothing until it is needed);
 * - no Maglev (V8's mid-tier compiler: 8 MB more at 1,000 rps for no measurable CPU per
 *   request; hot code is still optimised by TurboFan);
 * - not Node's warning that undici's EventSource (the config stream's reader) is experimental,
 *   which every sidecar printed at its first connection to the control plane.
 */
export function sidecarNodeFlags(memoryLimit = '128Mi'): string[] {
  const limit = quantityMiB(memoryLimit) ?? 128;
  const oldSpace = Math.max(MIN_OLD_SPACE_MIB, Math.floor(limit - NATIVE_HEADROOM_MIB));
  return ['--max-semi-space-size=2', `--max-old-space-size=${oldSpace}`, '--no-maglev', '--disable-warning=UNDICI-ES'];
}

/**
 * Process environment: glibc keeps one malloc arena per thread that allocates (V8's compiler
 * and GC threads, libuv's pool) and rarely returns their memory; two arenas hold what a
 * sidecar needs.
 */
export const SIDECAR_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
