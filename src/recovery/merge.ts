/**
 * Pure merge decisions of a database recovery (record-model.md §6): which
 * copy of each record survives when the copies pulled from every node are
 * combined, and how the survivors are prepared and batched for the push.
 * No I/O: the driver feeds pulled records in and sends the batches out.
 */
import { CtdbError } from '../common/errors.js';
import { RecordFlag } from '../protocol/constants.js';
import { LTDB_HEADER_SIZE, recBufferCount, recDataAt, recDataBytes } from '../protocol/records.js';

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

/** FNV-1a of `buf[from, to)`, folded to 30 bits (a small integer for the index Map). */
function keyHash(buf: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

/** `incomingWins` on two values inside rec_buffers (at byte offsets `so` and `io`), without copies. */
function incomingWinsAt(sb: Buffer, so: number, ib: Buffer, io: number, leaderPnn: number): boolean {
  const sh = sb.readUInt32LE(so + 4); const ih = ib.readUInt32LE(io + 4);
  if (ih !== sh) return ih > sh;
  const sl = sb.readUInt32LE(so); const il = ib.readUInt32LE(io);
  if (il !== sl) return il > sl;
  return sb.readUInt32LE(so + 8) === leaderPnn >>> 0;
}

/**
 * The temporary recovery database of one DB: the newest copy of every record
 * seen so far. Records stay where they arrived (the pulled rec_buffers): the
 * merge keeps, per key, which buffer and offset hold the kept copy, so no
 * object or Buffer is made per record. `add` throws CtdbError EINVAL for a
 * value without an ltdb header (a node sent garbage).
 */
export class RecoveryDb {
  /** Hash of a key's bytes -> the newest slot with that hash; older ones follow `slotNext`. */
  private readonly index = new Map<number, number>();
  /** Per slot (one per distinct key, in first-seen order): the rec_buffer holding the kept copy, where its rec_data starts, and the next slot of the same hash (-1: none). */
  private readonly slotBuf: Buffer[] = [];
  private readonly slotOff: number[] = [];
  private readonly slotNext: number[] = [];

  constructor(readonly persistent: boolean, readonly leaderPnn: number) {}

  /** Number of distinct keys held. */
  get size(): number { return this.slotBuf.length; }

  /** Merges one pulled record; returns true when it is now the kept copy. */
  add(key: Buffer, value: Buffer): boolean {
    if (value.length < LTDB_HEADER_SIZE) {
      throw new CtdbError('EINVAL', `pulled record of ${value.length} bytes has no ltdb header`);
    }
    return this.merge(recDataBytes(key, value), 0);
  }

  /**
   * Merges every record of a pulled rec_buffer for `dbId` (kept, not
   * copied: the caller must not reuse it). Throws CtdbError EMSGSIZE/EINVAL
   * on a malformed buffer, a foreign db id or a record without an ltdb
   * header. Returns the record count.
   */
  addRecBuffer(buf: Buffer, dbId: number): number {
    const count = recBufferCount(buf, dbId);
    let off = 8;
    for (let i = 0; i < count; i++) {
      const { length, keylen, datalen } = recDataAt(buf, off, i, count);
      if (datalen < LTDB_HEADER_SIZE) throw new CtdbError('EINVAL', `pulled record of ${datalen} bytes has no ltdb header`);
      this.merge(buf, off);
      off += length;
    }
    return count;
  }

  /** The slot holding the key of the rec_data at `off` in `buf`, or -1; `hash` is that key's {@link keyHash}. */
  private find(buf: Buffer, off: number, hash: number): number {
    const k = off + 16; const kend = k + buf.readUInt32LE(off + 8);
    for (let slot = this.index.get(hash) ?? -1; slot >= 0; slot = this.slotNext[slot]!) {
      const sb = this.slotBuf[slot]!; const so = this.slotOff[slot]!;
      if (sb.readUInt32LE(so + 8) === kend - k && sb.compare(buf, k, kend, so + 16, so + 16 + kend - k) === 0) return slot;
    }
    return -1;
  }

  /** Merges the rec_data at `off` in `buf`; true when it is now the kept copy. */
  private merge(buf: Buffer, off: number): boolean {
    return this.keep(buf, off, (sb, so) =>
      incomingWinsAt(sb, so + 16 + sb.readUInt32LE(so + 8), buf, off + 16 + buf.readUInt32LE(off + 8), this.leaderPnn));
  }

  /** Replaces the kept copy of `key` unconditionally (the driver stamps the recovery epoch). */
  set(key: Buffer, value: Buffer): void {
    this.keep(recDataBytes(key, value), 0, () => true);
  }

  /**
   * Makes the rec_data at `off` in `buf` the kept copy of its key: always
   * for a new key, else when `replaces(kept buffer, kept offset)` says so.
   */
  private keep(buf: Buffer, off: number, replaces: (sb: Buffer, so: number) => boolean): boolean {
    const hash = keyHash(buf, off + 16, off + 16 + buf.readUInt32LE(off + 8));
    const slot = this.find(buf, off, hash);
    if (slot >= 0) {
      if (!replaces(this.slotBuf[slot]!, this.slotOff[slot]!)) return false;
      this.slotBuf[slot] = buf; this.slotOff[slot] = off;
      return true;
    }
    this.slotNext.push(this.index.get(hash) ?? -1);
    this.index.set(hash, this.slotBuf.length);
    this.slotBuf.push(buf); this.slotOff.push(off);
    return true;
  }

  /** The kept copy of `key`, if any. */
  get(key: Buffer): MergedRecord | undefined {
    const probe = Buffer.alloc(16 + key.length);
    probe.writeUInt32LE(key.length, 8); key.copy(probe, 16);
    const slot = this.find(probe, 0, keyHash(probe, 16, probe.length));
    return slot < 0 ? undefined : this.recordAt(slot);
  }

  private recordAt(slot: number): MergedRecord {
    const b = this.slotBuf[slot]!; const o = this.slotOff[slot]!;
    const k = o + 16; const v = k + b.readUInt32LE(o + 8);
    return { key: b.subarray(k, v), value: b.subarray(v, v + b.readUInt32LE(o + 12)) };
  }

  /**
   * The records to push, prepared: volatile records with no data are dropped
   * (they are deletions) and the rest get dmaster = leader and
   * MIGRATED_WITH_DATA; persistent records go out unchanged.
   */
  *pushRecords(): Generator<MergedRecord> {
    for (let slot = 0; slot < this.slotBuf.length; slot++) {
      const r = this.recordAt(slot);
      if (this.persistent) { yield r; continue; }
      if (r.value.length <= LTDB_HEADER_SIZE) continue;
      const v = Buffer.from(r.value);
      v.writeUInt32LE(this.leaderPnn >>> 0, 8);
      v.writeUInt32LE((v.readUInt32LE(16) | RecordFlag.MIGRATED_WITH_DATA) >>> 0, 16);
      yield { key: r.key, value: v };
    }
  }

  /**
   * {@link pushRecords} packed straight into rec_buffers for `dbId` (as
   * {@link packRecBuffers} packs them), each record copied once from where
   * it was pulled and its header prepared in the copy.
   */
  *pushBuffers(dbId: number, limit: number): Generator<{ buf: Buffer; count: number }> {
    let out = Buffer.allocUnsafe(limit); let off = 8; let count = 0; let any = false;
    const flush = (): { buf: Buffer; count: number } => {
      out.writeUInt32LE(dbId >>> 0, 0); out.writeUInt32LE(count, 4);
      const r = { buf: out.subarray(0, off), count };
      out = Buffer.allocUnsafe(limit); off = 8; count = 0; any = true;
      return r;
    };
    const leader = this.leaderPnn >>> 0;
    for (let slot = 0; slot < this.slotBuf.length; slot++) {
      const b = this.slotBuf[slot]!; const o = this.slotOff[slot]!;
      const keylen = b.readUInt32LE(o + 8); const datalen = b.readUInt32LE(o + 12);
      if (!this.persistent && datalen <= LTDB_HEADER_SIZE) continue;
      const n = 16 + keylen + datalen;
      if (count > 0 && off + n > limit) yield flush();
      if (off + n > out.length) { const bigger = Buffer.allocUnsafe(off + n); out.copy(bigger, 0, 0, off); out = bigger; }
      out.writeUInt32LE(n, off); out.writeUInt32LE(0, off + 4); out.writeUInt32LE(keylen, off + 8); out.writeUInt32LE(datalen, off + 12);
      b.copy(out, off + 16, o + 16, o + n);
      if (!this.persistent) {
        const v = off + 16 + keylen;
        out.writeUInt32LE(leader, v + 8);
        out.writeUInt32LE((out.readUInt32LE(v + 16) | RecordFlag.MIGRATED_WITH_DATA) >>> 0, v + 16);
      }
      off += n; count++;
    }
    if (count > 0 || !any) yield flush();
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
  const count = recBufferCount(buf, dbId);
  let off = 8;
  for (let i = 0; i < count; i++) {
    const { length, keylen, datalen } = recDataAt(buf, off, i, count);
    const k = off + 16;
    fn(buf.subarray(k, k + keylen), buf.subarray(k + keylen, k + keylen + datalen));
    off += length;
  }
  return count;
}
