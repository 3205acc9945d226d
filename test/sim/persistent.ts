/**
 * One persistent database per simulated node, in memory (it survives a kill
 * and restart of the node, as the file on disk does). The commit rules are
 * not a pure module in the daemon: they live in src/daemon/databases.ts
 * (trans3Commit, the UPDATE_RECORD handler, applyCommit, readSeqnum,
 * readEpoch), and this file mirrors them exactly; the recovery side uses the
 * daemon's own pure pieces (RecoveryDb, pickPersistentSource, stampEpoch).
 */
import { LTDB_HEADER_SIZE, SEQNUM_EPOCH_OFFSET, SEQNUM_KEY as SEQNUM_KEY_BYTES } from '../../src/protocol/records.js';
import { nextEpoch, pickPersistentSource, stampEpoch } from '../../src/recovery/driver.js';
import { RecoveryDb } from '../../src/recovery/merge.js';

/** The sequence number record's key (with its NUL), as the daemon and CTDB's client name it. */
export const SEQNUM_KEY = SEQNUM_KEY_BYTES.toString('latin1');

/** A value: ltdb header (RSN 1, dmaster 0, flags 0) and data. */
export function ltdbValue(data: Buffer): Buffer {
  const v = Buffer.alloc(LTDB_HEADER_SIZE + data.length);
  v.writeBigUInt64LE(1n, 0);
  data.copy(v, LTDB_HEADER_SIZE);
  return v;
}

/** How recovery chooses the node to copy from: the daemon's rule or the old plain highest seqnum. */
export type SourceRule = 'epoch' | 'seqnum';

/**
 * The epoch a recovery stamps: 'clock' as the daemon (nextEpoch of
 * src/recovery/driver.ts: one more than the highest epoch of the recovered
 * nodes and at least the recovery's time, so recoveries serialised by the
 * cluster lock get increasing epochs even when they share no node), or
 * 'max+1', the daemon's earlier rule (kept to replay the finding that
 * replaced it).
 */
export type EpochRule = 'max+1' | 'clock';

/** A commit batch: [key (latin1), full value] pairs. */
export type Batch = Array<[string, Buffer]>;

/** The persistent database of one node. */
export class PersistentStore {
  readonly records = new Map<string, Buffer>();

  /** As readEpoch. */
  get epoch(): number {
    const v = this.records.get(SEQNUM_KEY);
    return v && v.length >= LTDB_HEADER_SIZE ? v.readUInt32LE(SEQNUM_EPOCH_OFFSET) : 0;
  }

  /** As readSeqnum. */
  get seqnum(): bigint {
    const v = this.records.get(SEQNUM_KEY);
    return v && v.length >= LTDB_HEADER_SIZE + 8 ? v.readBigUInt64LE(LTDB_HEADER_SIZE) : 0n;
  }

  /** As applyCommit: the batch in one transaction, keeping this node's recovery epoch. */
  applyCommit(batch: Batch): void {
    const epoch = this.epoch;
    for (const [k, v] of batch) {
      let value = v;
      if (epoch !== 0 && k === SEQNUM_KEY && v.length >= LTDB_HEADER_SIZE) {
        value = Buffer.from(v);
        value.writeUInt32LE(epoch, SEQNUM_EPOCH_OFFSET);
      }
      this.records.set(k, value);
    }
  }

  /** A client transaction writing `key` = `data` (as the client library: seqnum + 1 in the same batch). */
  batchFor(key: string, data: Buffer): Batch {
    const s = Buffer.alloc(8); s.writeBigUInt64LE(this.seqnum + 1n);
    return [[key, ltdbValue(data)], [SEQNUM_KEY, ltdbValue(s)]];
  }

  /** DB_PULL / GET_DB_SEQNUM reply: a snapshot (values are never changed in place). */
  snapshot(): PersistentCopy { return { seqnum: this.seqnum, epoch: this.epoch, records: [...this.records] }; }

  /** WIPE_DATABASE + DB_PUSH + commit of the recovery transaction. */
  replace(records: Batch): void {
    this.records.clear();
    for (const [k, v] of records) this.records.set(k, v);
  }
}

/** One node's copy as recovery pulls it. */
export interface PersistentCopy { seqnum: bigint; epoch: number; records: Batch }

/**
 * The recovered copy, as RecoveryRun.recoverDbOnce builds it for a
 * persistent database: source by `rule`, pulled into a RecoveryDb, epoch
 * stamped.
 */
export function recoverPersistent(copies: PersistentCopy[], leaderPnn: number, rule: SourceRule, epochRule: EpochRule = 'max+1', now = 0): Batch {
  let best = 0;
  if (rule === 'epoch') best = pickPersistentSource(copies);
  else copies.forEach((c, i) => { if (c.seqnum > copies[best]!.seqnum) best = i; });
  const recdb = new RecoveryDb(true, leaderPnn);
  for (const [k, v] of copies[best]!.records) recdb.add(Buffer.from(k, 'latin1'), v);
  // Both rules stamp the epoch (the old rule ignores it when choosing), so the
  // simulator's invariant can tell the newest lineage from an abandoned one.
  const epochs = copies.map((c) => c.epoch);
  stampEpoch(recdb, epochRule === 'clock' ? nextEpoch(epochs, now) : Math.max(...epochs) + 1);
  return [...recdb.pushRecords()].map((r) => [r.key.toString('latin1'), r.value]);
}
