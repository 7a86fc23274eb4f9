/** What processes cost in CPU: user + system seconds from /proc/PID/stat (ticks of 10 ms), and per thread to the nanosecond. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) the given processes have used so far. */
export function cpuSeconds(pids: number[]): number {
  const tick = 100;
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return sum + (Number(fields[11]) + Number(fields[12])) / tick;
  }, 0);
}

/**
 * What a process has spent so far, to the nanosecond, over all its threads: time on a CPU
 * (/proc/PID/task/TID/schedstat) and the times a thread gave the CPU up to wait (voluntary
 * context switches: each is a wake-up later). Threads that ended are not counted.
 */
export function threadTotals(pid: number): { cpuNs: number; waits: number } {
  let cpuNs = 0;
  let waits = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpuNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      waits += Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { cpuNs, waits };
}

/** CPU per second and wake-ups per second of each process while `seconds` pass (they are left alone meanwhile). */
export async function idleCost(pids: readonly number[], seconds: number): Promise<{ cpuMsPerSecond: number; wakeupsPerSecond: number }[]> {
  const before = pids.map(threadTotals);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return pids.map((pid, i) => {
    const now = threadTotals(pid);
    const was = before[i] as { cpuNs: number; waits: number };
    return { cpuMsPerSecond: (now.cpuNs - was.cpuNs) / 1e6 / seconds, wakeupsPerSecond: (now.waits - was.waits) / seconds };
  });
}
