/** CPU seconds (user + system) the given processes have used so far, from /proc/PID/stat (clock ticks of 10 ms). */
import { readFileSync } from 'node:fs';

export function cpuSeconds(pids: number[]): number {
  const tick = 100;
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return sum + (Number(fields[11]) + Number(fields[12])) / tick;
  }, 0);
}
