/**
 * ltdb records: every value CTDB keeps in a local TDB starts with a 24-byte
 * header (u64 rsn, u32 dmaster, u32 reserved, u32 flags, 4 zero bytes; host
 * order, little-endian here) followed by the user data (wire-protocol.md §7).
 * The header type and codec are the protocol's, so a record read here can be
 * sent as-is.
 */
import { Reader, Writer } from '../protocol/buffer.js';
import { RecordFlag } from '../protocol/constants.js';
import { LTDB_HEADER_SIZE, decodeLtdbHeader, encodeLtdbHeader, type LtdbHeader } from '../protocol/records.js';
import type { TdbFile } from './tdb.js';

export { LTDB_HEADER_SIZE };
export type { LtdbHeader };

/** One local record: its header and the user data after it. */
export interface LtdbRecord { header: LtdbHeader; data: Buffer }

/** Encodes a header into its 24 bytes. */
export function encodeHeaderBytes(header: LtdbHeader): Buffer {
  const w = new Writer(LTDB_HEADER_SIZE);
  encodeLtdbHeader(w, header);
  return Buffer.from(w.finish());
}

/** Decodes the header at the start of `value`; throws EMSGSIZE when shorter than 24 bytes. */
export function decodeHeaderBytes(value: Buffer): LtdbHeader {
  return decodeLtdbHeader(new Reader(value));
}

/** Joins header and user data into the value stored in the TDB. */
export function encodeRecordValue(header: LtdbHeader, data: Buffer): Buffer {
  return Buffer.concat([encodeHeaderBytes(header), data]);
}

/**
 * Splits a stored value into header and data; undefined when the value is too
 * short to hold a header (CTDB treats such a value as no record).
 */
export function decodeRecordValue(value: Buffer): LtdbRecord | undefined {
  if (value.length < LTDB_HEADER_SIZE) return undefined;
  return { header: decodeHeaderBytes(value), data: Buffer.from(value.subarray(LTDB_HEADER_SIZE)) };
}

/** Reads `key`'s header and data from a local TDB; undefined when absent (or shorter than a header). */
export function readRecord(tdb: TdbFile, key: Buffer): LtdbRecord | undefined {
  const value = tdb.fetch(key);
  return value === undefined ? undefined : decodeRecordValue(value);
}

/** Stores `key` with its header in front of `data` (replacing any existing record). */
export function writeRecord(tdb: TdbFile, key: Buffer, header: LtdbHeader, data: Buffer): void {
  tdb.store(key, encodeRecordValue(header, data));
}

/** Calls `fn` for every record that has a header; returns how many were passed to `fn`. */
export function traverseRecords(tdb: TdbFile, fn: (key: Buffer, rec: LtdbRecord) => boolean | void): number {
  let n = 0;
  tdb.traverse((key, value) => {
    const rec = decodeRecordValue(value);
    if (!rec) return undefined;
    n++;
    return fn(key, rec);
  }, { readOnly: true });
  return n;
}

/** Record flags in the order `ctdb catdb` prints their names. */
const flagOrder: ReadonlyArray<[string, number]> = [
  ['MIGRATED_WITH_DATA', RecordFlag.MIGRATED_WITH_DATA],
  ['VACUUM_MIGRATED', RecordFlag.VACUUM_MIGRATED],
  ['AUTOMATIC', RecordFlag.AUTOMATIC],
  ['RO_HAVE_DELEGATIONS', RecordFlag.RO_HAVE_DELEGATIONS],
  ['RO_HAVE_READONLY', RecordFlag.RO_HAVE_READONLY],
  ['RO_REVOKING_READONLY', RecordFlag.RO_REVOKING_READONLY],
  ['RO_REVOKE_COMPLETE', RecordFlag.RO_REVOKE_COMPLETE],
  ['PERSISTENT', RecordFlag.PERSISTENT],
  ['PERSISTENT_IN_PROGRESS', RecordFlag.PERSISTENT_IN_PROGRESS],
];

/**
 * The names `catdb` appends after `flags: 0x%08x`: each set flag as
 * ` NAME` (leading space), in catdb's order; '' when none is set.
 */
export function recordFlagNames(flags: number): string {
  return flagOrder.filter(([, bit]) => (flags & bit) !== 0).map(([name]) => ` ${name}`).join('');
}
