/** What several controller replicas know of a proxy, merged for the dashboard. */
import { deepStrictEqual } from 'node:assert/strict';
import { test } from 'node:test';
import { mergeReplicas } from './cluster-source.ts';
import type { ProxyFacts } from './view.ts';

const row = (over: Partial<ProxyFacts>): ProxyFacts => ({ proxy: 'shop/web-0', connected: false, upToDate: false, desired: 'b', applied: null, lastError: null, certificateNotAfter: null, ...over });

test('the stream on one replica, the acknowledgement on another: connected, applied and up to date', () => {
  const streaming = row({ connected: true, certificateNotAfter: '2026-12-02T06:00:00.000Z' });
  const acked = row({ applied: 'b', certificateNotAfter: '2026-12-02T07:00:00.000Z' });
  deepStrictEqual(mergeReplicas([[streaming], [acked]]), [row({ connected: true, applied: 'b', upToDate: true, certificateNotAfter: '2026-12-02T07:00:00.000Z' })]);
  deepStrictEqual(mergeReplicas([[acked], [streaming]]), mergeReplicas([[streaming], [acked]]), 'whatever the order');
});

test('an older applied config elsewhere does not hide the current one', () => {
  deepStrictEqual(mergeReplicas([[row({ applied: 'a' })], [row({ applied: 'b', connected: true })]])[0]?.upToDate, true);
  deepStrictEqual(mergeReplicas([[row({ applied: 'a', connected: true })]])[0]?.upToDate, false);
});
