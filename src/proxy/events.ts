/**
 * The sidecar's events that report a problem, logged at warning level (the rest are info):
 * what a log pipeline alerts on, and what local mode's live view shows of a sidecar.
 */
import { levelOf } from '../lib/event-log.ts';

export const PROBLEM_EVENTS: ReadonlySet<string> = new Set([
  'config-rejected', 'config-source-error', 'delta-refused',
  'certificate-error', 'certificate-rejected',
  'stream-error', 'ack-stream-refused', 'ack-stream-ended',
  'on-demand-failed', 'traffic-report-failed',
]);

export const eventLevel = (event: string): 'warn' | 'info' => levelOf(PROBLEM_EVENTS, event);
