/**
 * Events logged as JSON lines, one each: those a component lists as problems at warning level,
 * the rest at info (the sidecar's list: proxy/events.ts; the controller's: control/events.ts).
 */
export type EventLog = (event: string, detail: Record<string, unknown>) => void;

export function levelOf(problems: ReadonlySet<string>, event: string): 'warn' | 'info' {
  return problems.has(event) ? 'warn' : 'info';
}

/** `log` (pino) as an EventLog that knows which events are problems. */
export function eventLog(log: { warn(entry: object): void; info(entry: object): void }, problems: ReadonlySet<string>): EventLog {
  return (event, detail) => log[levelOf(problems, event)]({ event, ...detail });
}
