/**
 * The controller's events that report a problem, logged at warning level (the rest are info),
 * as the sidecar's are (proxy/events.ts): what a log pipeline alerts on.
 */
import { levelOf } from '../lib/event-log.ts';

export const CONTROL_PROBLEM_EVENTS: ReadonlySet<string> = new Set([
  'snapshot-error', 'watch-restart', 'event-error', 'status-error', 'status-pass-stalled',
  'trust-bundle-publish-failed', 'ca-bundle-write-failed', 'front-proxy-settings-unreadable',
  'traffic-metrics-refused', 'acks-peer-failed', 'acks-peers-unknown',
]);

export const controlEventLevel = (event: string): 'warn' | 'info' => levelOf(CONTROL_PROBLEM_EVENTS, event);
