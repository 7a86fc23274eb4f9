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

/** A whole HTTP/1.1 response as bytes, for sockets no longer (or not yet) owned by a request. */
export function rawGenerated(status: number, reason: Reason, detail: string): string {
  const body = `skiff: ${detail}\n`;
  const text = STATUS_TEXT[status] ?? 'Error';
  return `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${REASON_HEADER}: ${reason}\r\n${DETAIL_HEADER}: ${headerSafe(detail)}\r\nconnection: close\r\n\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

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
