/**
 * DB_PULL on this node: streams every record of a database (ltdb header
 * inside data) to the puller's srvid as rec_buffers of about PULL_CHUNK bytes
 * and returns the count for the control's reply. The walk goes key by key
 * in slices of at most SLICE_MS, yielding to the event loop between them. With the test-only
 * `pull-garbage` fault (CTDB_TEST_FAULTS, see src/recovery/test-faults.ts)
 * it sends a malformed rec_buffer instead, as a broken node would.
 */
import type { LocalDb } from '../db/local-db.js';
import { writeAll } from '../protocol/buffer.js';
import { LTDB_HEADER_SIZE, encodeRecBuffer, type RecData } from '../protocol/payloads.js';
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

/** Pulls in progress per database: one key walk per TDB handle at a time (tdb_nextkey keeps its place in the handle). */
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
  let recs: RecData[] = [];
  let size = 0; let count = 0;
  const flush = (): void => {
    d.sendMessage(pnn, srvid, writeAll(encodeRecBuffer, { dbId: db.id, records: recs }));
    recs = []; size = 0;
  };
  // Key by key in time slices, the event loop free in between: a big database
  // must not hold up keepalives and controls while it is read.
  let key = db.tdb.firstKey();
  while (key) {
    const sliceEnd = performance.now() + SLICE_MS;
    for (; key && performance.now() < sliceEnd; key = db.tdb.nextKey(key)) {
      const value = db.tdb.fetch(key);
      if (!value || value.length < LTDB_HEADER_SIZE) continue;
      recs.push({ reqid: 0, key, data: value });
      size += 16 + key.length + value.length; count++;
      if (size >= PULL_CHUNK) flush();
    }
    if (key) await yieldToLoop();
  }
  if (recs.length > 0 || count === 0) flush();
  return count;
}
