/**
 * Pure merge decisions of a database recovery (record-model.md §6): which
 * copy of each record survives when the copies pulled from every node are
 * combined, and how the survivors are prepared and batched for the push.
 * No I/O: the driver feeds pulled records in and sends the batches out.
 */
import { CtdbError } from '../common/errors.js';
import { RecordFlag } from '../protocol/constants.js';
import { LTDB_HEADER_SIZE } from '../protocol/records.js';

/** One record kept by the merge: key and full stored value (ltdb header + data). */
export interface MergedRecord { key: Buffer; value: Buffer }

const rsnOf = (v: Buffer): bigint => v.readBigUInt64LE(0);
const dmasterOf = (v: Buffer): number => v.readUInt32LE(8);

/**
 * Whether an incoming copy replaces the stored one: it does unless its RSN is
 * lower, or the RSNs are equal and the stored copy is not the leader's.
 */
export function incomingWins(stored: Buffer, incoming: Buffer, leaderPnn: number): boolean {
  const s = rsnOf(stored); const i = rsnOf(incoming);
  if (i < s) return false;
  if (i === s && dmasterOf(stored) !== leaderPnn) return false;
  return true;
}

/**
 * The temporary recovery database of one DB: the newest copy of every record
 * seen so far. `add` throws CtdbError EINVAL for a value without an ltdb
 * header (a node sent garbage).
 */
export class RecoveryDb {
  private readonly records = new Map<string, MergedRecord>();

  constructor(readonly persistent: boolean, readonly leaderPnn: number) {}

  /** Number of distinct keys held. */
  get size(): number { return this.records.size; }

  /** Merges one pulled record; returns true when it is now the kept copy. */
  add(key: Buffer, value: Buffer): boolean {
    if (value.length < LTDB_HEADER_SIZE) {
      throw new CtdbError('EINVAL', `pulled record of ${value.length} bytes has no ltdb header`);
    }
    const k = key.toString('latin1');
    const cur = this.records.get(k);
    if (cur && !incomingWins(cur.value, value, this.leaderPnn)) return false;
    this.records.set(k, { key, value });
    return true;
  }

  /** Replaces the kept copy of `key` unconditionally (the driver stamps the recovery epoch). */
  set(key: Buffer, value: Buffer): void { this.records.set(key.toString('latin1'), { key, value }); }

  /** The kept copy of `key`, if any. */
  get(key: Buffer): MergedRecord | undefined { return this.records.get(key.toString('latin1')); }

  /**
   * The records to push, prepared: volatile records with no data are dropped
   * (they are deletions) and the rest get dmaster = leader and
   * MIGRATED_WITH_DATA; persistent records go out unchanged.
   */
  *pushRecords(): Generator<MergedRecord> {
    for (const r of this.records.values()) {
      if (this.persistent) { yield r; continue; }
      if (r.value.length <= LTDB_HEADER_SIZE) continue;
      const v = Buffer.from(r.value);
      v.writeUInt32LE(this.leaderPnn >>> 0, 8);
      v.writeUInt32LE((v.readUInt32LE(16) | RecordFlag.MIGRATED_WITH_DATA) >>> 0, 16);
      yield { key: r.key, value: v };
    }
  }
}

/** Size of one rec_data on the wire. */
const recDataSize = (r: MergedRecord): number => 16 + r.key.length + r.value.length;

/**
 * Packs records into rec_buffers for `dbId` of at most `limit` bytes each
 * (a single record larger than the limit goes alone). Always yields at
 * least one buffer, so an empty database still sends one (count 0).
 */
export function* packRecBuffers(dbId: number, records: Iterable<MergedRecord>, limit: number): Generator<{ buf: Buffer; count: number }> {
  let batch: MergedRecord[] = [];
  let size = 8;
  let any = false;
  const flush = (): { buf: Buffer; count: number } => {
    const buf = Buffer.allocUnsafe(size);
    buf.writeUInt32LE(dbId >>> 0, 0);
    buf.writeUInt32LE(batch.length, 4);
    let off = 8;
    for (const r of batch) {
      buf.writeUInt32LE(recDataSize(r), off);
      buf.writeUInt32LE(0, off + 4);
      buf.writeUInt32LE(r.key.length, off + 8);
      buf.writeUInt32LE(r.value.length, off + 12);
      r.key.copy(buf, off + 16);
      r.value.copy(buf, off + 16 + r.key.length);
      off += recDataSize(r);
    }
    const out = { buf, count: batch.length };
    batch = []; size = 8; any = true;
    return out;
  };
  for (const r of records) {
    const n = recDataSize(r);
    if (batch.length > 0 && size + n > limit) yield flush();
    batch.push(r); size += n;
  }
  if (batch.length > 0 || !any) yield flush();
}

/**
 * Walks a rec_buffer without copying: calls `fn` per record. Throws
 * CtdbError EMSGSIZE/EINVAL on a short or inconsistent buffer, and EINVAL
 * when its db id is not `dbId`. Returns the record count.
 */
export function forEachRecord(buf: Buffer, dbId: number, fn: (key: Buffer, value: Buffer) => void): number {
  if (buf.length < 8) throw new CtdbError('EMSGSIZE', `rec_buffer of ${buf.length} bytes is shorter than its header`);
  const id = buf.readUInt32LE(0);
  if (id !== dbId >>> 0) throw new CtdbError('EINVAL', `rec_buffer for db 0x${id.toString(16)} where 0x${(dbId >>> 0).toString(16)} was expected`);
  const count = buf.readUInt32LE(4);
  let off = 8;
  for (let i = 0; i < count; i++) {
    if (off + 16 > buf.length) throw new CtdbError('EMSGSIZE', `rec_buffer ends inside record ${i} of ${count}`);
    const length = buf.readUInt32LE(off);
    const keylen = buf.readUInt32LE(off + 8);
    const datalen = buf.readUInt32LE(off + 12);
    if (length < 16 + keylen + datalen || off + length > buf.length) {
      throw new CtdbError('EINVAL', `rec_data ${i}: length ${length} does not fit key ${keylen} + data ${datalen} in the buffer`);
    }
    const k = off + 16;
    fn(buf.subarray(k, k + keylen), buf.subarray(k + keylen, k + keylen + datalen));
    off += length;
  }
  return count;
}
