/**
 * One volatile database per simulated node, run by the daemon's own
 * CallEngine (record migration: REQ_CALL / REQ_DMASTER / REPLY_DMASTER) and
 * RecordLocks, over an in-memory stand-in for the TDB. Recovery uses the
 * pure RecoveryDb merge of src/recovery/merge.ts.
 */
import { CallEngine } from '../../src/db/calls.js';
import type { LocalDb } from '../../src/db/local-db.js';
import { RecordLocks } from '../../src/db/record-locks.js';
import type { TdbFile } from '../../src/db/tdb.js';
import { CallId } from '../../src/protocol/constants.js';
import { jenkinsHash } from '../../src/protocol/hash.js';
import { decodePacket, encodePacket, type Packet } from '../../src/protocol/packets.js';
import { RecoveryDb } from '../../src/recovery/merge.js';

/** The simulated database's id. */
export const SIM_DB_ID = 0x5151_0001;

/** In-memory records standing in for a TDB file (chain locks always free: no client holds one). */
class MemTdb {
  readonly records = new Map<string, Buffer>();
  fetch(key: Buffer): Buffer | undefined { return this.records.get(key.toString('latin1')); }
  store(key: Buffer, value: Buffer): void { this.records.set(key.toString('latin1'), Buffer.from(value)); }
  delete(key: Buffer): void { this.records.delete(key.toString('latin1')); }
  chainLock(): boolean { return true; }
  chainUnlock(): void {}
}

/** What the record layer needs from its node. */
export interface RecordHost {
  readonly pnn: number;
  now(): number;
  generation(): number;
  vnnmap(): number[];
  /** Sends encoded packet bytes to another node. */
  sendPacket(to: number, bytes: Buffer): void;
  later(fn: () => void, ms: number): void;
}

/** The volatile database of one simulated node. */
export class SimRecords {
  readonly tdb = new MemTdb();
  readonly locks: RecordLocks;
  readonly calls: CallEngine;
  /** Client calls issued and completed (status 0) on this node. */
  issued = 0;
  completed = 0;
  private readonly db: LocalDb;

  constructor(private readonly h: RecordHost) {
    this.locks = new RecordLocks(() => this.tdb as unknown as TdbFile, () => {});
    const counters = { numCalls: 0, countHops: () => 0, countMigration: () => {} };
    this.db = { id: SIM_DB_ID, name: 'sim.tdb', flags: 0, tdb: this.tdb, counters, persistent: false } as unknown as LocalDb;
    this.calls = new CallEngine({
      pnn: h.pnn,
      generation: () => h.generation(),
      lmaster: (hash) => { const m = h.vnnmap(); return m.length === 0 ? undefined : m[hash % m.length]; },
      send: (to, p) => { if (to === h.pnn) this.onPacket(p); else h.sendPacket(to, encodePacket(p)); },
      db: (id) => (id === SIM_DB_ID ? { db: this.db, locks: this.locks } : undefined),
      hash: (key) => jenkinsHash(key),
      warn: () => {},
      now: () => h.now(),
      later: (fn, ms) => h.later(fn, ms),
    } as ConstructorParameters<typeof CallEngine>[0]);
  }

  /** A client on this node fetches `key` (FETCH_FUNC); `done` gets the status. */
  fetch(key: string, done: (status: number) => void): void {
    this.issued++;
    this.calls.localCall(SIM_DB_ID, Buffer.from(key), CallId.FETCH_FUNC, 0, (status) => {
      if (status === 0) this.completed++;
      done(status);
    });
  }

  /** Packet bytes from another node, handled by the daemon's CallEngine (which drops other generations). */
  receive(bytes: Buffer): void {
    this.calls.onPacket(decodePacket(bytes));
  }

  private onPacket(p: Packet): void {
    this.calls.onPacket(p);
  }

  /** Every stored record (recovery pull). */
  pull(): Array<[string, Buffer]> { return [...this.tdb.records].map(([k, v]) => [k, Buffer.from(v)]); }

  /** Replaces the database with the recovery's records (wipe + push, as DB_TRANSACTION_COMMIT applies them). */
  push(records: Array<[string, Buffer]>): void {
    this.tdb.records.clear();
    for (const [k, v] of records) this.tdb.records.set(k, Buffer.from(v));
  }
}

/** Merges the pulled copies as the recovery helper does and returns what to push. */
export function mergeForRecovery(pulled: Array<Array<[string, Buffer]>>, leader: number): Array<[string, Buffer]> {
  const r = new RecoveryDb(false, leader);
  for (const list of pulled) for (const [k, v] of list) r.add(Buffer.from(k, 'latin1'), v);
  return [...r.pushRecords()].map((m) => [m.key.toString('latin1'), m.value]);
}
