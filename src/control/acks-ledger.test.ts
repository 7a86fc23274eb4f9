import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { test } from 'node:test';
import { AckLedger, PeerAcks, type AckSubject } from './acks-ledger.ts';

/** A replica's records and its ledger, changed the way the controller changes them. */
function replica() {
  const ledger = new AckLedger();
  const records = new Map<string, AckSubject>();
  const touch = (id: string, change: (r: AckSubject) => void) => {
    let r = records.get(id);
    if (!r) {
      r = { id, connected: 0 };
      records.set(id, r);
    }
    change(r);
    ledger.changed(r);
  };
  return {
    ledger, records,
    ack: (id: string, hash: string) => touch(id, (r) => { r.appliedHash = hash; }),
    subscribe: (id: string, services: string[]) => touch(id, (r) => { r.demand = { services: new Set(services), tcp: false }; }),
    stream: (id: string, delta: 1 | -1) => touch(id, (r) => { r.connected = Math.max(0, r.connected + delta); }),
    remove: (id: string) => {
      records.delete(id);
      ledger.removed(id);
    },
    whole: () => Object.fromEntries(Object.entries(ledger.answer(records.values()).acks)),
  };
}

/** What the leader holds after asking: the view's entries as a plain object. */
const held = (view: PeerAcks) => Object.fromEntries(view.entries);
const ask = (r: ReturnType<typeof replica>, view: PeerAcks) => {
  const q = new URLSearchParams(view.query());
  const since = q.get('epoch') === null ? undefined : { epoch: q.get('epoch') as string, seq: Number(q.get('since')) };
  const answer = r.ledger.answer(r.records.values(), since);
  view.take(JSON.parse(JSON.stringify(answer)));
  return answer;
};

test('a leader asking again gets only what changed, and holds what a whole answer would give', () => {
  const r = replica();
  const view = new PeerAcks();
  r.stream('a/p-0', 1);
  r.subscribe('a/p-0', ['a/web']);
  r.ack('a/p-1', 'h1');
  const first = ask(r, view);
  equal(first.full, true);
  deepStrictEqual(held(view), { 'a/p-0': { applied: '', demand: { services: ['a/web'], tcp: false } }, 'a/p-1': { applied: 'h1' } });

  const quiet = ask(r, view);
  deepStrictEqual([quiet.full, quiet.acks, quiet.removed], [false, {}, []], 'nothing changed: nothing moves');

  r.ack('a/p-0', 'h2');
  const one = ask(r, view);
  deepStrictEqual(Object.keys(one.acks), ['a/p-0'], 'one ack: one entry');
  deepStrictEqual(held(view), r.whole());

  // A stream closes before any ack: no longer reported. A proxy goes away: removed.
  r.subscribe('a/p-2', ['a/db']);
  r.stream('a/p-2', 1);
  ask(r, view);
  ok(view.entries.has('a/p-2'));
  r.stream('a/p-2', -1);
  r.remove('a/p-1');
  const gone = ask(r, view);
  deepStrictEqual(gone.removed.sort(), ['a/p-1', 'a/p-2']);
  deepStrictEqual(held(view), r.whole());
});

test('over a long run of random changes, the leader\'s copy always equals the whole answer', () => {
  const r = replica();
  const view = new PeerAcks();
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n); // the high bits: an LCG's low bits repeat quickly
  };
  for (let step = 0; step < 3000; step++) {
    const id = `ns/p-${rand(40)}`;
    // Acks are rarer than streams and subscriptions, so proxies often come and go before acking.
    const op = rand(8);
    if (op === 0) r.ack(id, `h${rand(5)}`);
    else if (op <= 2) r.subscribe(id, [`ns/s${rand(3)}`]);
    else if (op <= 5) r.stream(id, rand(2) === 0 ? 1 : -1);
    else if (op === 6 && r.records.has(id)) r.remove(id);
    if (rand(4) === 0) {
      ask(r, view);
      deepStrictEqual(held(view), r.whole(), `step ${step}`);
    }
  }
});

test('a restarted replica (another epoch), a leader too far behind and an earlier version\'s flat answer each give a whole answer', () => {
  const r = replica();
  const view = new PeerAcks();
  r.ack('a/p-0', 'h');
  ask(r, view);
  // The replica restarts: a new ledger, another epoch; what the leader held must not survive.
  const restarted = replica();
  restarted.ack('a/p-9', 'h9');
  equal(ask(restarted, view).full, true);
  deepStrictEqual(held(view), { 'a/p-9': { applied: 'h9' } });

  // More removals than are remembered: an asker from before them gets everything again.
  const busy = replica();
  const behind = new PeerAcks();
  busy.ack('a/keep', 'k');
  ask(busy, behind);
  for (let i = 0; i < 20_001; i++) busy.ledger.removed(`a/x-${i}`);
  equal(ask(busy, behind).full, true);
  deepStrictEqual(held(behind), { 'a/keep': { applied: 'k' } });

  // A replica of an earlier version answers with a flat map of every entry.
  const old = new PeerAcks();
  old.take({ 'a/p-1': { applied: 'x' }, 'a/bad': { applied: 3 } });
  deepStrictEqual(held(old), { 'a/p-1': { applied: 'x' } }, 'entries without an applied version are ignored');
  equal(old.query(), '?since=0');
  throws(() => old.take('not json of acks'), /not an object/);
});
