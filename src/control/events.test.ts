/** The problem events of the controller and the sidecar: each is one the code really logs, at warning level. */
import { test } from 'node:test';
import { equal, ok } from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PROBLEM_EVENTS, controlEventLevel } from './events.ts';
import { eventLevel, PROBLEM_EVENTS } from '../proxy/events.ts';

const SRC = join(import.meta.dirname, '..');

/** Every string literal in the non-test sources, outside the two lists themselves. */
function literals(): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts') || entry.name === 'events.ts') continue;
    for (const m of readFileSync(join(entry.parentPath, entry.name), 'utf8').matchAll(/'([a-z]+(?:-[a-z]+)+)'/g)) found.add(m[1] as string);
  }
  return found;
}

test('every listed problem event is logged somewhere, and logged at warning level', () => {
  const logged = literals();
  for (const event of PROBLEM_EVENTS) {
    ok(logged.has(event), `the sidecar never logs ${event}`);
    equal(eventLevel(event), 'warn');
  }
  for (const event of CONTROL_PROBLEM_EVENTS) {
    ok(logged.has(event), `the controller never logs ${event}`);
    equal(controlEventLevel(event), 'warn');
  }
  for (const event of ['started', 'mesh-config', 'ca-bundle-written', 'front-proxy-settings-reloaded']) equal(controlEventLevel(event), 'info', event);
});
