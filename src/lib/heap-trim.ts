/**
 * Gives glibc's free heap pages back to the kernel every few seconds (`malloc_trim(0)`).
 * V8's compilers and Node's C++ side allocate with malloc; what they free in the middle of the
 * heap stays in the process's RSS, because glibc returns only the free top of the heap. A
 * sidecar's first requests left ~21 MB of it; at 1,000 rps with mTLS a sidecar held 113 MB RSS
 * (61 MB private) without trimming and 89 MB (36 MB private) with it (docs/performance.md).
 * A trim takes ~0.1 ms (~3 ms the first time); every 5 s that is nothing.
 */
import { mallocTrim } from './libc.ts';

export const HEAP_TRIM_EVERY_MS = 5000;

/**
 * Starts trimming: koffi is loaded (~9 ms) one period after the call, off the path to ready,
 * `onStarted` says whether trimming is possible here (glibc and koffi), and the first trim
 * follows at once (start leaves free pages too). The timers never keep the process alive.
 */
export function trimHeapPeriodically(onStarted: (available: boolean) => void, everyMs = HEAP_TRIM_EVERY_MS): { stop(): void } {
  let timer = setTimeout(() => {
    const trim = mallocTrim();
    onStarted(trim !== null);
    if (!trim) return;
    trim(0);
    timer = setInterval(() => trim(0), everyMs);
    timer.unref();
  }, everyMs);
  timer.unref();
  return { stop: () => clearTimeout(timer) };
}
