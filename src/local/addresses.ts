/**
 * Loopback addresses for local pods (127.<subnet>.x.y), stable per pod name: the address is
 * derived from a hash of `namespace/pod` (linear probing on a collision) and remembered in the
 * state folder, so a pod keeps its address across edits, restarts of `skiff up`, and pods
 * added or removed around it. File order never matters. New addresses are written once per
 * snapshot (`save`), not once per pod: a Deployment scaled to 1,000 replicas is one write, not
 * 1,000 ever longer ones.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** 250 × 250 addresses per /16; .0 and .255 are skipped in the last octet. */
const SLOTS = 250 * 250;

function slotAddress(subnet: number, slot: number): string {
  return `127.${subnet}.${Math.floor(slot / 250)}.${(slot % 250) + 1}`;
}

export class AddressBook {
  private readonly subnet: number;
  private readonly file: string | undefined;
  private readonly byPod = new Map<string, string>();
  private readonly used = new Set<string>();
  /** Addresses assigned since the last save. */
  private unsaved = false;

  constructor(subnet: number, file?: string) {
    this.subnet = subnet;
    this.file = file;
    if (!file) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
      for (const [pod, address] of Object.entries(saved)) {
        if (typeof address !== 'string' || !address.startsWith(`127.${subnet}.`) || this.used.has(address)) continue;
        this.byPod.set(pod, address);
        this.used.add(address);
      }
    } catch {
      // No saved addresses yet (or an unreadable file): start fresh.
    }
  }

  /** The address of a pod, assigned on first use. */
  allocate(namespace: string, pod: string): string {
    const key = `${namespace}/${pod}`;
    const known = this.byPod.get(key);
    if (known) return known;
    const start = createHash('sha256').update(key).digest().readUInt32BE(0) % SLOTS;
    for (let i = 0; i < SLOTS; i++) {
      const address = slotAddress(this.subnet, (start + i) % SLOTS);
      if (this.used.has(address)) continue;
      this.byPod.set(key, address);
      this.used.add(address);
      this.unsaved = true;
      return address;
    }
    throw new Error(`no free address left in 127.${this.subnet}.0.0/16`);
  }

  /** Writes the addresses assigned since the last save to the state folder (nothing when none were). */
  save(): void {
    if (!this.file || !this.unsaved) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.byPod)));
    renameSync(`${this.file}.tmp`, this.file);
    this.unsaved = false;
  }
}
