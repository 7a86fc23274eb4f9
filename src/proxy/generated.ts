/**
 * Responses the proxy makes itself. Every one carries `x-skiff-reason` (a stable token) and
 * `x-skiff-detail` (a sentence), so a caller can always tell Skiff's answer from the app's.
 */
import type { ServerResponse } from 'node:http';

export const REASON_HEADER = 'x-skiff-reason';
export const DETAIL_HEADER = 'x-skiff-detail';

export type Reason =
  | 'bad-request'
  | 'unknown-host'
  | 'unknown-port'
  | 'no-route'
  | 'no-backends'
  | 'no-healthy-upstream'
  | 'circuit-open'
  | 'upstream-timeout'
  | 'upstream-connect-failure'
  | 'upstream-reset'
  | 'access-denied'
  | 'unauthenticated'
  | 'rate-limited'
  | 'fault-injected'
  | 'not-ready';

/** Header values must be ASCII without control characters. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

export function sendGenerated(res: ServerResponse, status: number, reason: Reason, detail: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `skiff: ${detail}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [REASON_HEADER]: reason,
    [DETAIL_HEADER]: headerSafe(detail),
  });
  res.end(body);
}
