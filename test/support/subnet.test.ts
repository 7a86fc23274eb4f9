import { equal, notEqual, rejects } from 'node:assert/strict';
import { test } from 'node:test';
import { claimSubnet } from './subnet.ts';

// 127.252-253: a range no test mesh uses.

test('a subnet claimed is nobody else\'s until released; a range held whole is refused', async () => {
  const first = await claimSubnet(252, 253);
  const second = await claimSubnet(252, 253);
  notEqual(first.subnet, second.subnet, 'two claims, two subnets');
  await rejects(claimSubnet(252, 253), /no free loopback subnet/);
  first.release();
  await new Promise((r) => setTimeout(r, 50));
  const again = await claimSubnet(252, 253);
  equal(again.subnet, first.subnet, 'a released subnet can be claimed again');
  second.release();
  again.release();
});
