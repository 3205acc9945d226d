/**
 * The vacuum worker: one run over one volatile database on one node, done as
 * a client of the local daemon (its TDB file opened directly, as clients do;
 * everything else through controls). Candidates come from the delete queue
 * the daemon hands over (fast run) and, on a full run, from a read-only
 * traverse. Records on their lmaster are deleted here, after every other
 * node deleted its copy (TRY_DELETE_RECORDS); others are sent to their
 * lmaster (VACUUM_FETCH). A record that cannot be deleted now (locked,
 * changed) goes back on the delete queue. The run stops cleanly when the
 * generation changes (a recovery started).
 */
import type { Logger } from 'pino';
import type { CtdbClient } from '../client/client.js';
import { getNodemap, getRecmode, getTunable, getVnnmap } from '../client/controls.js';
import { ClusterDb, getDbName, getDbmap } from '../client/db.js';
import { CtdbError } from '../common/errors.js';
import { decodeRecordValue } from '../db/ltdb.js';
import type { TdbFile } from '../db/tdb.js';
import { Reader, writeAll } from '../protocol/buffer.js';
import { DbFlag, NodeFlag, RecMode } from '../protocol/constants.js';
import { jenkinsHash } from '../protocol/hash.js';
import { Opcode } from '../protocol/opcodes.js';
import { decodeRecBuffer, encodeKeyData, encodeRecBuffer, splitLtdb, type LtdbHeader, type RecData } from '../protocol/payloads.js';
import { activeFault, faultsEnabled, noteFault } from '../recovery/test-faults.js';
import { classifyCandidate, mayDeleteRemoteCopy, type LocalRecord } from './classify.js';

/** A record scheduled for deletion; rsn undefined = any. */
export interface Candidate { key: Buffer; rsn?: bigint }

/** Counters of one run. */
export interface VacuumStats { db: string; full: boolean; candidates: number; deleted: number; fetched: number; kept: number; repacked: boolean }

const readLocal = (tdb: TdbFile, key: Buffer): LocalRecord | undefined => {
  const v = tdb.fetch(key);
  const r = v === undefined ? undefined : decodeRecordValue(v);
  return r ? { header: r.header, dataLength: r.data.length } : undefined;
};

/**
 * Reads `key` under its chain lock taken without waiting (a plain fetch would
 * block behind a client holding the record); 'locked' when the lock is held.
 */
function peek(tdb: TdbFile, key: Buffer): LocalRecord | undefined | 'locked' {
  if (!tdb.chainLock(key, { nonblock: true })) return 'locked';
  try { return readLocal(tdb, key); } finally { tdb.chainUnlock(key); }
}

/** Encodes delete-queue entries for the worker's stdin: header present = known rsn. */
export function encodeQueue(dbId: number, entries: Array<{ key: Buffer; header?: LtdbHeader }>): Buffer {
  const records: RecData[] = entries.map((e) => ({ reqid: 0, key: e.key, data: e.header ? headerBytes(e.header) : Buffer.alloc(0) }));
  return writeAll(encodeRecBuffer, { dbId, records });
}

/** Decodes the worker's stdin into candidates. */
export function decodeQueue(buf: Buffer): Candidate[] {
  if (buf.length === 0) return [];
  return decodeRecBuffer(new Reader(buf)).records.map((r) => ({ key: r.key, rsn: r.data.length >= 24 ? r.data.readBigUInt64LE(0) : undefined }));
}

function headerBytes(h: LtdbHeader): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(h.rsn, 0); b.writeUInt32LE(h.dmaster >>> 0, 8); b.writeUInt32LE(h.flags >>> 0, 16);
  return b;
}

/** Opens a volatile database by id through the daemon; throws ENOENT/EINVAL. */
async function openVolatile(c: CtdbClient, dbId: number): Promise<ClusterDb> {
  const e = (await getDbmap(c, c.pnn)).find((x) => x.dbId === dbId);
  if (!e) throw new CtdbError('ENOENT', `no database with id 0x${dbId.toString(16).padStart(8, '0')} on node ${c.pnn}`);
  const name = await getDbName(c, c.pnn, dbId);
  if (e.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) throw new CtdbError('EINVAL', `database ${name} is not volatile: only volatile databases are vacuumed`);
  return ClusterDb.open(c, { id: dbId, name, flags: e.flags });
}

/** Deletes `key` if it still classifies as `want`, under its chain lock taken without waiting. */
function deleteIfStill(tdb: TdbFile, key: Buffer, rsn: bigint | undefined, me: number, lmaster: number, want: string[]): boolean {
  if (!tdb.chainLock(key, { nonblock: true })) return false;
  try {
    const act = classifyCandidate(readLocal(tdb, key), rsn, me, lmaster);
    if (act === 'skip' && !readLocal(tdb, key)) return true;
    if (!want.includes(act)) return false;
    tdb.delete(key);
    return true;
  } finally { tdb.chainUnlock(key); }
}

/** One vacuum run over `dbId`. Throws CtdbError ECANCELED when a recovery interrupts it. */
export async function runVacuum(c: CtdbClient, dbId: number, full: boolean, queue: Candidate[], log: Logger): Promise<VacuumStats> {
  const me = c.pnn;
  const vm = await getVnnmap(c, me);
  if (await getRecmode(c, me) !== RecMode.NORMAL) throw new CtdbError('ECANCELED', 'vacuum skipped: recovery in progress');
  const db = await openVolatile(c, dbId);
  const tdb = db.tdb;
  const stats: VacuumStats = { db: db.info.name, full, candidates: 0, deleted: 0, fetched: 0, kept: 0, repacked: false };
  const lmasterOf = (key: Buffer): number => vm.map[jenkinsHash(key) % vm.map.length]!;
  const cands = new Map<string, Candidate>();
  for (const q of queue) cands.set(q.key.toString('latin1'), q);
  if (full) {
    tdb.traverse((key, value) => {
      if (value.length === 24 && value.readUInt32LE(8) === me && !cands.has(key.toString('latin1'))) cands.set(key.toString('latin1'), { key: Buffer.from(key) });
    }, { readOnly: true });
  }
  stats.candidates = cands.size;
  const leftover: Candidate[] = [];
  const checkGeneration = async (): Promise<void> => {
    const now = await getVnnmap(c, me);
    if (now.generation !== vm.generation) throw new CtdbError('ECANCELED', `vacuum of ${db.info.name} aborted: generation changed`);
  };
  try {
    const fetch = new Map<number, Candidate[]>();
    const deleteList: Array<{ cand: Candidate; header: LtdbHeader }> = [];
    for (const cand of cands.values()) {
      const lm = lmasterOf(cand.key);
      const rec = peek(tdb, cand.key);
      if (rec === 'locked') { leftover.push(cand); continue; }
      const act = classifyCandidate(rec, cand.rsn, me, lm);
      if (act === 'delete-local') {
        if (deleteIfStill(tdb, cand.key, cand.rsn, me, lm, ['delete-local'])) stats.deleted++;
        else leftover.push(cand);
      } else if (act === 'delete-list') {
        deleteList.push({ cand, header: rec!.header });
      } else if (act === 'fetch') {
        fetch.set(lm, [...(fetch.get(lm) ?? []), cand]);
      }
    }
    const stall = faultsEnabled() ? activeFault('vacuum-stall', me) : undefined;
    if (stall) {
      log.warn({ db: db.info.name, ms: Number(stall.arg ?? 0) }, 'test fault vacuum-stall: waiting before the generation check');
      noteFault('vacuum-stall', me);
      await new Promise((r) => setTimeout(r, Number(stall.arg ?? 0)));
    }
    await checkGeneration();
    for (const [lm, list] of fetch) {
      const buf = writeAll(encodeRecBuffer, { dbId, records: list.map((x) => ({ reqid: 0, key: x.key, data: Buffer.alloc(0) })) });
      const r = await c.control(lm, Opcode.VACUUM_FETCH, buf);
      if (r.status !== 0) { log.warn({ lmaster: lm, errmsg: r.errmsg }, 'vacuum fetch failed'); leftover.push(...list); continue; }
      stats.fetched += list.length;
    }
    if (deleteList.length > 0) {
      await checkGeneration();
      const others = (await getNodemap(c, me)).nodes.filter((n) => n.pnn !== me && (n.flags & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
      const buf = writeAll(encodeRecBuffer, { dbId, records: deleteList.map((x) => ({ reqid: 0, key: x.cand.key, data: headerBytes(x.header) })) });
      const failed = new Set<string>();
      for (const pnn of others) {
        const r = await c.control(pnn, Opcode.TRY_DELETE_RECORDS, buf);
        if (r.status !== 0) { for (const x of deleteList) failed.add(x.cand.key.toString('latin1')); continue; }
        for (const rec of decodeRecBuffer(new Reader(r.data)).records) failed.add(rec.key.toString('latin1'));
      }
      await checkGeneration();
      for (const x of deleteList) {
        const ok = !failed.has(x.cand.key.toString('latin1'))
          && deleteIfStill(tdb, x.cand.key, x.header.rsn, me, me, ['delete-list', 'delete-local']);
        if (ok) stats.deleted++; else leftover.push({ key: x.cand.key, rsn: x.header.rsn });
      }
    }
    const repackLimit = (await getTunable(c, me, 'RepackLimit')) ?? 0;
    if (repackLimit > 0 && tdb.freelistSize() >= repackLimit) { tdb.repack(); stats.repacked = true; }
  } catch (err) {
    // Aborted: everything not yet deleted goes back on the queue (the full run would find it anyway).
    for (const cand of cands.values()) if (peek(tdb, cand.key) !== undefined) leftover.push(cand);
    await reschedule(c, dbId, tdb, leftover).catch(() => {});
    db.close();
    throw err;
  }
  stats.kept = await reschedule(c, dbId, tdb, leftover);
  db.close();
  return stats;
}

/** Puts records that are still deletion candidates back on the daemon's delete queue; returns how many. */
async function reschedule(c: CtdbClient, dbId: number, tdb: TdbFile, list: Candidate[]): Promise<number> {
  let n = 0;
  const seen = new Set<string>();
  for (const cand of list) {
    const k = cand.key.toString('latin1');
    if (seen.has(k)) continue;
    seen.add(k);
    const rec = peek(tdb, cand.key);
    let header: LtdbHeader;
    if (rec === 'locked') {
      // Still held by a client: keep it queued with what we knew (the full run finds it otherwise).
      if (cand.rsn === undefined) continue;
      header = { rsn: cand.rsn, dmaster: c.pnn, flags: 0 };
    } else {
      if (!rec || rec.dataLength !== 0 || rec.header.dmaster !== c.pnn) continue;
      header = rec.header;
    }
    await c.control(c.pnn, Opcode.SCHEDULE_FOR_DELETION, writeAll(encodeKeyData, { dbId, header, key: cand.key }));
    n++;
  }
  return n;
}

/**
 * TRY_DELETE_RECORDS on this node: deletes each copy that may go (see
 * mayDeleteRemoteCopy) and whose lock is free; returns the rec_buffer of the
 * records that could not be deleted.
 */
export async function tryDeleteRecords(c: CtdbClient, request: Buffer): Promise<Buffer> {
  const req = decodeRecBuffer(new Reader(request));
  const me = c.pnn;
  const vm = await getVnnmap(c, me);
  const db = await openVolatile(c, req.dbId);
  const failed: RecData[] = [];
  try {
    for (const r of req.records) {
      if (r.data.length < 24) { failed.push(r); continue; }
      const given = splitLtdb(r.data).header;
      const lm = vm.map[jenkinsHash(r.key) % vm.map.length]!;
      if (!db.tdb.chainLock(r.key, { nonblock: true })) { failed.push(r); continue; }
      try {
        const local = readLocal(db.tdb, r.key);
        if (!mayDeleteRemoteCopy(local, given, me, lm)) failed.push(r);
        else if (local) db.tdb.delete(r.key);
      } finally { db.tdb.chainUnlock(r.key); }
    }
  } finally { db.close(); }
  return writeAll(encodeRecBuffer, { dbId: req.dbId, records: failed });
}
