import { test } from 'node:test';
import { snapshotFromDocuments } from '../../src/sources/files/snapshot.ts';
import { checkSourceContract, CONTRACT_OBJECTS } from '../support/source-contract.ts';

test('the YAML-folder source keeps the source contract', () => {
  checkSourceContract(snapshotFromDocuments(CONTRACT_OBJECTS));
});
