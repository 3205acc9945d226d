/**
 * DB_PULL on this node: streams every record of a database (ltdb header
 * inside data) to the puller's srvid as rec_buffers of about PULL_CHUNK bytes
 * and returns the count for the control's reply. The walk goes hash chain by
 * hash chain in slices of about SLICE_MS, yielding to the event loop between them. With the test-only
 * `pull-garbage` fault (CTDB_TEST_FAULTS, see src/recovery/test-faults.ts)
 * it sends a malformed rec_buffer instead, as a broken node would.
 */
import type { LocalDb } from '../db/local-db.js';
import { LTDB_HEADER_SIZE } from '../protocol/payloads.js';
import { activeFault, faultsEnabled, noteFault } from '../recovery/test-faults.js';
import type { Ctdbd } from './ctdbd.js';

/** Bytes of records per DB_PULL message. */
export const PULL_CHUNK = 1_000_000;
/** Longest stretch of database work between two turns of the event loop, ms. */
export const SLICE_MS = 10;

/** Lets timers, sockets and other controls run. */
export const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A rec_buffer for `dbId` announcing 3 records whose lengths run past its end. */
export function garbageRecBuffer(dbId: number): Buffer {
  const b = Buffer.alloc(8 + 40, 0xa5);
  b.writeUInt32LE(dbId >>> 0, 0);
  b.writeUInt32LE(3, 4);
  b.writeUInt32LE(0x10000, 8);
  return b;
}

/** Pulls in progress per database: one walk per TDB handle at a time. */
const walking = new WeakMap<LocalDb, Promise<unknown>>();

/** Streams `db` to `srvid` on node `pnn`; resolves with the number of records sent. */
export function streamPull(d: Ctdbd, db: LocalDb, pnn: number, srvid: bigint): Promise<number> {
  const prev = walking.get(db) ?? Promise.resolve();
  const run = prev.catch(() => {}).then(() => pullNow(d, db, pnn, srvid));
  walking.set(db, run);
  return run;
}

async function pullNow(d: Ctdbd, db: LocalDb, pnn: number, srvid: bigint): Promise<number> {
  if (faultsEnabled() && activeFault('pull-garbage', d.pnn)) {
    d.log.warn({ db: db.name, to: pnn }, 'test fault pull-garbage: answering DB_PULL with a malformed rec_buffer');
    d.sendMessage(pnn, srvid, garbageRecBuffer(db.id));
    noteFault('pull-garbage', d.pnn);
    return 3;
  }
  // Records go straight from libtdb's memory into the outgoing rec_buffer
  // (rec_data is length, reqid, key length, data length, then key and data,
  // which libtdb keeps contiguous): one copy per record, by memcpy where the platform allows.
  let buf = Buffer.allocUnsafe(PULL_CHUNK + 64 * 1024);
  let off = 8; let inBuf = 0; let count = 0;
  const flush = (): void => {
    buf.writeUInt32LE(db.id >>> 0, 0);
    buf.writeUInt32LE(inBuf, 4);
    d.sendMessage(pnn, srvid, buf.subarray(0, off));
    buf = Buffer.allocUnsafe(PULL_CHUNK + 64 * 1024);
    off = 8; inBuf = 0;
  };
  // Room for each record's rec_data in the buffer; the walk copies its key and data bytes in at
  // once (before the next call), so the record is counted here and a full buffer goes out at the
  // next record or at the end.
  const place = (keyLen: number, dataLen: number): Buffer | undefined => {
    if (off >= PULL_CHUNK) flush();
    if (dataLen < LTDB_HEADER_SIZE) return undefined;
    const len = 16 + keyLen + dataLen;
    if (off + len > buf.length) {
      if (inBuf > 0) flush();
      if (off + len > buf.length) buf = Buffer.allocUnsafe(off + len);
    }
    buf.writeUInt32LE(len, off);
    buf.writeUInt32LE(0, off + 4);
    buf.writeUInt32LE(keyLen, off + 8);
    buf.writeUInt32LE(dataLen, off + 12);
    const target = buf.subarray(off + 16, off + len);
    off += len; inBuf++; count++;
    return target;
  };
  // Whole hash chains per time slice, the event loop free in between: a big
  // database must not hold up keepalives and controls while it is read.
  const chains = db.tdb.hashSize;
  for (let chain = 0; chain < chains;) {
    const sliceEnd = performance.now() + SLICE_MS;
    // The clock is read every 16 chains only (most chains hold a few records).
    let n = 0;
    chain = db.tdb.copyChains(chain, place, () => (++n & 15) !== 0 || performance.now() < sliceEnd);
    if (chain < chains) await yieldToLoop();
  }
  if (inBuf > 0 || count === 0) flush();
  return count;
}
