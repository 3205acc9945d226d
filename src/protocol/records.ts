/**
 * Record payloads: ltdb header, rec_data/rec_buffer, pull/push, traverse, deletion (spec/wire-protocol.md §4).
 * Contract for every pair here: `encodeX(w, v)` appends X's exact wire layout
 * (little-endian, 64-bit padding written as zeros); `decodeX(r)` reads it,
 * ignores padding contents, and throws CtdbError EMSGSIZE when the input is
 * short or EINVAL when a field is invalid (bad bool, family, count or length).
 */
import { CtdbError } from '../common/errors.js';
import { Reader, Writer } from './buffer.js';
import { readArray } from './types.js';

/** Size of the ltdb header in front of every record value. */
export const LTDB_HEADER_SIZE = 24;

/** The per-record header: rsn, dmaster and record flags (reserved1 and pad written as 0). */
export interface LtdbHeader { rsn: bigint; dmaster: number; flags: number }
export const encodeLtdbHeader = (w: Writer, v: LtdbHeader): void => {
  w.u64(v.rsn).u32(v.dmaster).u32(0).u32(v.flags).zeros(4);
};
export const decodeLtdbHeader = (r: Reader): LtdbHeader => {
  const rsn = r.u64(); const dmaster = r.u32(); r.skip(4);
  const flags = r.u32(); r.skip(4);
  return { rsn, dmaster, flags };
};

/**
 * Splits a stored/transferred record value into its ltdb header and user data.
 * Throws CtdbError EINVAL when the value is shorter than the header.
 */
export function splitLtdb(data: Buffer): { header: LtdbHeader; data: Buffer } {
  if (data.length < LTDB_HEADER_SIZE) {
    throw new CtdbError('EINVAL', `record value of ${data.length} bytes has no ltdb header`);
  }
  const header = decodeLtdbHeader(new Reader(data));
  return { header, data: Buffer.from(data.subarray(LTDB_HEADER_SIZE)) };
}

/** Prefixes user data with an ltdb header. */
export function joinLtdb(header: LtdbHeader, data: Buffer): Buffer {
  const w = new Writer(LTDB_HEADER_SIZE + data.length);
  encodeLtdbHeader(w, header);
  w.bytes(data);
  return Buffer.from(w.finish());
}

/** Key (NUL included) of a persistent database's sequence number record. */
export const SEQNUM_KEY = Buffer.from('__db_sequence_number__\0', 'latin1');
/**
 * Byte offset, in the ltdb header of the sequence number record, of the
 * recovery epoch (the header's reserved word; CTDB writes 0 there).
 */
export const SEQNUM_EPOCH_OFFSET = 12;

/** One marshalled record: reqid, key and data (data may start with an ltdb header). */
export interface RecData { reqid: number; key: Buffer; data: Buffer }
export const encodeRecData = (w: Writer, v: RecData): void => {
  w.u32(16 + v.key.length + v.data.length).u32(v.reqid).u32(v.key.length).u32(v.data.length)
    .bytes(v.key).bytes(v.data);
};
/** Decodes one rec_data; throws EINVAL when its length word disagrees with its contents. */
export const decodeRecData = (r: Reader): RecData => {
  const start = r.offset;
  const length = r.u32(); const reqid = r.u32(); const keylen = r.u32(); const datalen = r.u32();
  if (length < 16 + keylen + datalen) {
    throw new CtdbError('EINVAL', `rec_data length ${length} too small for key ${keylen} + data ${datalen}`);
  }
  const key = r.bytes(keylen); const data = r.bytes(datalen);
  // A longer length word is tolerated: the record walk advances by it.
  r.skip(length - (r.offset - start));
  return { reqid, key, data };
};

/** A database's batch of records (pull/push, commit, vacuum). */
export interface RecBuffer { dbId: number; records: RecData[] }
export const encodeRecBuffer = (w: Writer, v: RecBuffer): void => {
  w.u32(v.dbId).u32(v.records.length); v.records.forEach((x) => encodeRecData(w, x));
};
export const decodeRecBuffer = (r: Reader): RecBuffer => {
  const dbId = r.u32(); const count = r.u32();
  if (count * 16 > r.remaining) throw new CtdbError('EMSGSIZE', `rec_buffer count ${count} exceeds ${r.remaining} bytes`);
  return { dbId, records: readArray(r, count, decodeRecData) };
};

/**
 * One rec_data (length, reqid 0, key length, value length, key, value) as
 * bytes: a record for the zero-copy walkers below.
 */
export function recDataBytes(key: Buffer, value: Buffer): Buffer {
  const b = Buffer.allocUnsafe(16 + key.length + value.length);
  b.writeUInt32LE(b.length, 0); b.writeUInt32LE(0, 4); b.writeUInt32LE(key.length, 8); b.writeUInt32LE(value.length, 12);
  key.copy(b, 16); value.copy(b, 16 + key.length);
  return b;
}

/**
 * A rec_buffer's record count, read without decoding its records. Throws
 * EMSGSIZE when the buffer is shorter than its header, and EINVAL when
 * `dbId` is given and the buffer is for another database.
 */
export function recBufferCount(buf: Buffer, dbId?: number): number {
  if (buf.length < 8) throw new CtdbError('EMSGSIZE', `rec_buffer of ${buf.length} bytes is shorter than its header`);
  const id = buf.readUInt32LE(0);
  if (dbId !== undefined && id !== dbId >>> 0) {
    throw new CtdbError('EINVAL', `rec_buffer for db 0x${id.toString(16)} where 0x${(dbId >>> 0).toString(16)} was expected`);
  }
  return buf.readUInt32LE(4);
}

/**
 * The lengths of the rec_data at byte `off` of `buf` (record `i` of
 * `count`, for messages), checked to fit the buffer: EMSGSIZE when the
 * buffer ends inside its head, EINVAL when its length word does not fit.
 */
export function recDataAt(buf: Buffer, off: number, i: number, count: number): { length: number; keylen: number; datalen: number } {
  if (off + 16 > buf.length) throw new CtdbError('EMSGSIZE', `rec_buffer ends inside record ${i} of ${count}`);
  const length = buf.readUInt32LE(off);
  const keylen = buf.readUInt32LE(off + 8);
  const datalen = buf.readUInt32LE(off + 12);
  if (length < 16 + keylen + datalen || off + length > buf.length) {
    throw new CtdbError('EINVAL', `rec_data ${i}: length ${length} does not fit key ${keylen} + data ${datalen} in the buffer`);
  }
  return { length, keylen, datalen };
}

/** DB_PULL / DB_PUSH_START request. */
export interface PulldbExt { dbId: number; lmaster: number; srvid: bigint }
export const encodePulldbExt = (w: Writer, v: PulldbExt): void => { w.u32(v.dbId).u32(v.lmaster).u64(v.srvid); };
export const decodePulldbExt = (r: Reader): PulldbExt => ({ dbId: r.u32(), lmaster: r.u32(), srvid: r.u64() });

/** Database plus transaction id (= new generation). */
export interface Transdb { dbId: number; tid: number }
export const encodeTransdb = (w: Writer, v: Transdb): void => { w.u32(v.dbId).u32(v.tid); };
export const decodeTransdb = (r: Reader): Transdb => ({ dbId: r.u32(), tid: r.u32() });

/** TRAVERSE_START / TRAVERSE_KILL request. */
export interface TraverseStart { dbId: number; reqid: number; srvid: bigint }
export const encodeTraverseStart = (w: Writer, v: TraverseStart): void => { w.u32(v.dbId).u32(v.reqid).u64(v.srvid); };
export const decodeTraverseStart = (r: Reader): TraverseStart => ({ dbId: r.u32(), reqid: r.u32(), srvid: r.u64() });

/** TRAVERSE_START_EXT request: traverse_start + bool + pad7. */
export interface TraverseStartExt extends TraverseStart { withEmptyRecords: boolean }
export const encodeTraverseStartExt = (w: Writer, v: TraverseStartExt): void => {
  encodeTraverseStart(w, v); w.bool(v.withEmptyRecords).zeros(7);
};
export const decodeTraverseStartExt = (r: Reader): TraverseStartExt => {
  const t = decodeTraverseStart(r); const withEmptyRecords = r.bool(); r.skip(7);
  return { ...t, withEmptyRecords };
};

/** TRAVERSE_ALL request (node to node). */
export interface TraverseAll { dbId: number; reqid: number; pnn: number; clientReqid: number; srvid: bigint }
export const encodeTraverseAll = (w: Writer, v: TraverseAll): void => {
  w.u32(v.dbId).u32(v.reqid).u32(v.pnn).u32(v.clientReqid).u64(v.srvid);
};
export const decodeTraverseAll = (r: Reader): TraverseAll =>
  ({ dbId: r.u32(), reqid: r.u32(), pnn: r.u32(), clientReqid: r.u32(), srvid: r.u64() });

/** TRAVERSE_ALL_EXT request: traverse_all + bool + pad7. */
export interface TraverseAllExt extends TraverseAll { withEmptyRecords: boolean }
export const encodeTraverseAllExt = (w: Writer, v: TraverseAllExt): void => {
  encodeTraverseAll(w, v); w.bool(v.withEmptyRecords).zeros(7);
};
export const decodeTraverseAllExt = (r: Reader): TraverseAllExt => {
  const t = decodeTraverseAll(r); const withEmptyRecords = r.bool(); r.skip(7);
  return { ...t, withEmptyRecords };
};

/** SCHEDULE_FOR_DELETION request: db, pad4, ltdb header, counted key. */
export interface KeyData { dbId: number; header: LtdbHeader; key: Buffer }
export const encodeKeyData = (w: Writer, v: KeyData): void => {
  w.u32(v.dbId).zeros(4); encodeLtdbHeader(w, v.header); w.datan(v.key);
};
export const decodeKeyData = (r: Reader): KeyData => {
  const dbId = r.u32(); r.skip(4);
  const header = decodeLtdbHeader(r);
  return { dbId, header, key: r.datan() };
};
