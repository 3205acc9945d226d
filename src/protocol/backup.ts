import { CtdbError } from '../common/errors.js';
import { Writer, type Reader } from './buffer.js';
import { decodeRecData, encodeRecData, type RecData } from './records.js';

/** The only backup file version `restoredb` accepts. */
export const BACKUP_VERSION = 3;
/** Bytes of the NUL-padded DB name field. */
export const BACKUP_NAME_SIZE = 64;
/** A record block is written out once its buffer reaches this many bytes. */
export const BACKUP_FLUSH_SIZE = 100_000;

/** The fixed 104-byte file header. */
export interface BackupHeader {
  version: number; timestamp: number; dbFlags: number; nbuf: number; nrec: number; dbName: string;
}
export const encodeBackupHeader = (w: Writer, v: BackupHeader): void => {
  if (Buffer.byteLength(v.dbName) >= BACKUP_NAME_SIZE) {
    throw new CtdbError('EINVAL', `database name '${v.dbName}' longer than ${BACKUP_NAME_SIZE - 1} bytes`);
  }
  w.u64(v.version).u64(v.timestamp).u64(v.dbFlags).u64(v.nbuf).u64(v.nrec).fixedString(v.dbName, BACKUP_NAME_SIZE);
};
export const decodeBackupHeader = (r: Reader): BackupHeader => ({
  version: r.u64n(), timestamp: r.u64n(), dbFlags: r.u64n(), nbuf: r.u64n(), nrec: r.u64n(),
  dbName: r.fixedString(BACKUP_NAME_SIZE),
});

/**
 * A whole `ctdb backupdb` file: header fields plus every record (ltdb header
 * inside `data`, reqid 0). `blockDbId` is what the writer puts in each block's
 * db_id word (4.17 leaves it uninitialised; readers ignore it). Default 0.
 */
export interface BackupFile {
  version: number; timestamp: number; dbFlags: number; dbName: string; records: RecData[];
  blockDbId?: number;
}

/** Writes header and record blocks, each block flushed once it reaches 100,000 bytes. */
export function encodeBackupFile(w: Writer, v: BackupFile): void {
  const blocks: { count: number; buf: Buffer }[] = [];
  let cur = new Writer(4096);
  let count = 0;
  for (const rec of v.records) {
    encodeRecData(cur, rec);
    count++;
    if (cur.length >= BACKUP_FLUSH_SIZE) {
      blocks.push({ count, buf: Buffer.from(cur.finish()) });
      cur = new Writer(4096); count = 0;
    }
  }
  if (count > 0) blocks.push({ count, buf: Buffer.from(cur.finish()) });
  encodeBackupHeader(w, {
    version: v.version, timestamp: v.timestamp, dbFlags: v.dbFlags,
    nbuf: blocks.length, nrec: v.records.length, dbName: v.dbName,
  });
  for (const b of blocks) w.u32(v.blockDbId ?? 0).u32(b.count).u64(b.buf.length).bytes(b.buf);
}

/**
 * Reads a backup file. Throws CtdbError EINVAL when a block's records do not
 * fill its length or the record total disagrees with the header, EMSGSIZE when short.
 */
export function decodeBackupFile(r: Reader): BackupFile {
  const h = decodeBackupHeader(r);
  const records: RecData[] = [];
  for (let i = 0; i < h.nbuf; i++) {
    r.skip(4); // block db_id: uninitialised in real files
    const count = r.u32();
    const len = r.u64n();
    if (len > r.remaining) throw new CtdbError('EMSGSIZE', `backup block ${i} of ${len} bytes exceeds file`);
    const end = r.offset + len;
    for (let j = 0; j < count; j++) records.push(decodeRecData(r));
    if (r.offset !== end) throw new CtdbError('EINVAL', `backup block ${i}: records end at ${r.offset}, block at ${end}`);
  }
  if (records.length !== h.nrec) throw new CtdbError('EINVAL', `backup header says ${h.nrec} records, found ${records.length}`);
  return { version: h.version, timestamp: h.timestamp, dbFlags: h.dbFlags, dbName: h.dbName, records };
}
