import { equal, notEqual } from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AddressBook } from './addresses.ts';

test('a pod\'s address depends on its name, not on the order pods are seen', () => {
  const a = new AddressBook(77);
  const b = new AddressBook(77);
  const first = ['shop/web-0', 'shop/web-1', 'shop/db-0'].map((k) => a.allocate(...(k.split('/') as [string, string])));
  b.allocate('shop', 'new-pod-added-first');
  const second = ['shop/db-0', 'shop/web-1', 'shop/web-0'].map((k) => b.allocate(...(k.split('/') as [string, string]))).reverse();
  equal(JSON.stringify(second), JSON.stringify(first));
  notEqual(first[0], first[1]);
});

test('addresses are remembered across runs in the state folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-addr-'));
  try {
    const file = join(dir, 'addresses.json');
    const book = new AddressBook(77, file);
    const one = book.allocate('shop', 'web-0');
    const two = book.allocate('shop', 'web-1');
    book.save();
    const again = new AddressBook(77, file);
    equal(again.allocate('shop', 'web-1'), two, 'every address assigned before the save is kept');
    equal(again.allocate('shop', 'web-0'), one);
    const before = statSync(file).mtimeMs;
    again.save();
    equal(statSync(file).mtimeMs, before, 'nothing new: nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
