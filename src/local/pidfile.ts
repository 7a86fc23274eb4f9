/**
 * The processes local mode started, written down so a later `skiff up` can stop what an
 * earlier one left behind (if it was killed where the parent-death signal is unavailable).
 * A process is identified by pid and start time (/proc/<pid>/stat), so a recycled pid of an
 * unrelated process is never touched.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';

interface Entry {
  pid: number;
  /** Clock ticks since boot at which the process started (field 22 of /proc/<pid>/stat). */
  start: string;
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class PidFile {
  private readonly file: string;
  private readonly entries = new Map<string, Entry>();

  constructor(file: string) {
    this.file = file;
  }

  /** Kills (with their process groups) the processes a previous run recorded and that still run; returns how many. */
  reapLeftovers(): number {
    let recorded: Record<string, Entry> = {};
    try {
      recorded = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Entry>;
    } catch {
      return 0;
    }
    let killed = 0;
    for (const entry of Object.values(recorded)) {
      if (!Number.isInteger(entry?.pid) || entry.pid <= 1 || startTimeOf(entry.pid) !== entry.start) continue;
      try {
        process.kill(-entry.pid, 'SIGKILL');
      } catch {
        try {
          process.kill(entry.pid, 'SIGKILL');
        } catch {
          continue;
        }
      }
      killed++;
    }
    this.write();
    return killed;
  }

  /** Records (or, with undefined, forgets) the process running under a name. */
  record(name: string, pid: number | undefined): void {
    const start = pid === undefined ? undefined : startTimeOf(pid);
    if (pid === undefined || start === undefined) this.entries.delete(name);
    else this.entries.set(name, { pid, start });
    this.write();
  }

  private write(): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.entries)));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
