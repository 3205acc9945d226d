/**
 * DB_PULL on this node: streams every record of a database (ltdb header
 * inside data) to the puller's srvid as rec_buffers of about PULL_CHUNK bytes
 * and returns the count for the control's reply. With the test-only
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

/** A rec_buffer for `dbId` announcing 3 records whose lengths run past its end. */
export function garbageRecBuffer(dbId: number): Buffer {
  const b = Buffer.alloc(8 + 40, 0xa5);
  b.writeUInt32LE(dbId >>> 0, 0);
  b.writeUInt32LE(3, 4);
  b.writeUInt32LE(0x10000, 8);
  return b;
}

/** Streams `db` to `srvid` on node `pnn`; resolves with the number of records sent. */
export async function streamPull(d: Ctdbd, db: LocalDb, pnn: number, srvid: bigint): Promise<number> {
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
  db.tdb.traverse((key, value) => {
    if (value.length < LTDB_HEADER_SIZE) return;
    recs.push({ reqid: 0, key, data: value });
    size += 16 + key.length + value.length; count++;
    if (size >= PULL_CHUNK) flush();
  }, { readOnly: true });
  if (recs.length > 0 || count === 0) flush();
  return count;
}
