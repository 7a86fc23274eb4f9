/**
 * Keeps one of Node's tick objects (what `process.nextTick` queues) alive for the life of the
 * process, so the shape V8 learned for them is never collected.
 *
 * `nextTick` builds each tick object with an object literal of computed (symbol) keys. V8 keeps
 * one hidden class (map) per key in its feedback for such a literal, and when a later object
 * arrives with another map it turns the site megamorphic, for good. Between requests no tick
 * object is alive; a collection that reduces memory, which V8 runs when a process goes quiet
 * (its memory reducer; a sidecar's timers wake it in every quiet spell), then frees those maps,
 * and the next requests make new ones. From then on every `nextTick` (several per proxied
 * request) built its object in V8's runtime: 4-5 % of a sidecar's CPU in a profile, against
 * under 1 % before its first quiet spell (docs/performance.md). One object kept holds the whole
 * chain of maps (each map holds its parent), so the feedback stays valid.
 *
 * A tick object is reachable only through an async hook's `init`, enabled here for the one
 * `nextTick` it takes and disabled again at once (no hook runs afterwards).
 */
import { createHook } from 'node:async_hooks';

let kept: object | undefined;

/** Takes one tick object and keeps it; idempotent. Returns whether one is kept. */
export function keepTickObjectShape(): boolean {
  if (kept) return true;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && !kept) kept = resource as object;
    },
  });
  hook.enable();
  try {
    process.nextTick(keptTick);
  } finally {
    hook.disable();
  }
  return kept !== undefined;
}

function keptTick(): void {}
