/**
 * What local mode keeps of each process's output: every byte in a log file in the pod's own
 * folder (`app.log`, `sidecar.log`; at most MAX_LOG_BYTES, then it moves to `<file>.1`, so a
 * chatty app costs at most twice that), and for the live view only the lines a person should
 * see there: the apps' own lines, and a sidecar's warnings and errors in a short form (its
 * routine events, such as a config applied, stay in its log).
 */
import { closeSync, openSync, renameSync, statSync, writeSync } from 'node:fs';

export const MAX_LOG_BYTES = 1024 * 1024;

/** pino's levels, as the sidecar logs them. */
const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };
const WARN = 40;
/** Fields every sidecar line has, left out of the short form. */
const ROUTINE_FIELDS = new Set(['level', 'time', 'component', 'proxy', 'event', 'pid', 'hostname', 'msg']);
const VIEW_LINE_CHARS = 200;

/**
 * The line as the live view shows it, or undefined when it is not for the view: a sidecar's
 * JSON line below warning level. A sidecar line that is not JSON (a crash's stack) is shown as it is.
 */
export function viewLine(name: string, line: string, sidecar: boolean): string | undefined {
  if (!sidecar || !line.startsWith('{')) return `${name}: ${line}`.slice(0, VIEW_LINE_CHARS);
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${name}: ${line}`.slice(0, VIEW_LINE_CHARS);
  }
  const level = typeof entry.level === 'number' ? entry.level : WARN;
  if (level < WARN) return undefined;
  const detail = Object.entries(entry).filter(([k]) => !ROUTINE_FIELDS.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const what = [entry.event, entry.msg].filter((x) => typeof x === 'string' && x !== '').join(' ');
  return `${name}: ${LEVELS[Math.min(60, Math.floor(level / 10) * 10)] ?? 'warn'} ${what}${detail.length ? ` ${detail.join(' ')}` : ''}`.slice(0, VIEW_LINE_CHARS);
}

/**
 * A log file that appends and, past `maxBytes`, starts over with the old one kept as
 * `<file>.1`. Written synchronously (a pipe's chunk is one write), so a rotation never races
 * an open. Never throws: a file it cannot write (the pod's folder removed) is given up.
 */
export class ProcessLog {
  readonly file: string;
  private readonly maxBytes: number;
  private fd: number | undefined;
  private bytes: number;

  constructor(file: string, maxBytes = MAX_LOG_BYTES) {
    this.file = file;
    this.maxBytes = maxBytes;
    this.bytes = sizeOf(file);
    this.fd = this.open();
  }

  write(data: string | Buffer): void {
    if (this.fd === undefined) return;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.bytes > 0 && this.bytes + bytes.length > this.maxBytes) this.rotate();
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, bytes);
      this.bytes += bytes.length;
    } catch {
      this.close();
    }
  }

  /** A line of local mode's own (a start, an exit), marked so it stands out from the process's output. */
  note(text: string): void {
    this.write(`--- ${new Date().toISOString()} ${text}\n`);
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already gone.
    }
    this.fd = undefined;
  }

  private open(): number | undefined {
    try {
      return openSync(this.file, 'a', 0o600);
    } catch {
      return undefined;
    }
  }

  private rotate(): void {
    this.close();
    try {
      renameSync(this.file, `${this.file}.1`);
    } catch {
      // Gone already: the new file starts the log over.
    }
    this.bytes = 0;
    this.fd = this.open();
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
