/**
 * A local-mode mesh of the bookstore example for end-to-end tests: the example copied to a
 * fresh temporary folder (optionally edited before start), run on a loopback subnet the test
 * claims, and returned once every proxy applied its config.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime, type LocalOptions } from '../../src/local/runtime.ts';
import { claimSubnet } from './subnet.ts';
import { waitFor } from './wait.ts';

const BOOKSTORE = join(import.meta.dirname, '..', '..', 'examples', 'bookstore');
/** The bookstore's meshed pods: buyer, thief, bookstore v1 and v2, warehouse. */
const BOOKSTORE_PROXIES = 5;

export interface LocalExample {
  dir: string;
  runtime: LocalRuntime;
  /** Stops the mesh and removes its folder. */
  stop(): Promise<void>;
}

export async function startBookstore(options: {
  /** The loopback /16s to claim one of (127.<first–last>). */
  subnets: [number, number];
  /** Edits the copied folder before the mesh starts. */
  prepare?: (dir: string) => void;
  runtime?: Omit<LocalOptions, 'dir' | 'subnet'>;
}): Promise<LocalExample> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-local-'));
  cpSync(BOOKSTORE, dir, { recursive: true, filter: (src) => !src.includes('.skiff') });
  options.prepare?.(dir);
  const runtime = new LocalRuntime({ controlPort: 0, debugPort: 0, ...options.runtime, dir, subnet: (await claimSubnet(...options.subnets)).subnet });
  const stop = async () => {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await runtime.start();
    await waitFor('every proxy applied its config', () => {
      const s = runtime.controller.proxyStatus();
      return s.length === BOOKSTORE_PROXIES && s.every((p) => p.upToDate);
    }, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, runtime, stop };
}
