/**
 * How a sidecar's Node.js runs, wherever it is started (the injected container, local mode,
 * bench/proxy): the sidecar bundle and the runtime settings that keep its memory small and
 * flat. Each was measured with bench/proxy (docs/performance.md has the numbers).
 */

/** The sidecar bundle's path in the image (scripts/build-image.ts puts it there). */
export const SIDECAR_BUNDLE = '/app/skiff-proxy.mjs';

/**
 * V8 flags: a young generation of 1 MB per semi-space instead of up to 16 MB (at 1,000 rps the
 * default grows it and the RSS with it; the extra scavenges cost no measurable CPU), and an old
 * generation bounded well under the container's 128 MiB limit so V8 collects before the
 * kernel kills, and no Maglev (V8's mid-tier compiler: 8 MB more at 1,000 rps for no
 * measurable CPU per request; hot code is still optimised by TurboFan).
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--max-old-space-size=64', '--no-maglev'];

/**
 * Process environment: glibc keeps one malloc arena per thread that allocates (V8's compiler
 * and GC threads, libuv's pool) and rarely returns their memory; two arenas hold what a
 * sidecar needs.
 */
export const SIDECAR_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
