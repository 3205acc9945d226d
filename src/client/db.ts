/**
 * Client side of clustered databases: DB controls, fetch-lock of volatile
 * records (REQ_CALL only when the record is not already here with us as
 * dmaster, then direct TDB access under the chain lock, as smbd does),
 * cluster-wide traverse, and persistent transactions (g_lock + TRANS3_COMMIT).
 */
import { CtdbError } from '../common/errors.js';
import { decodeRecordValue, encodeRecordValue, type LtdbRecord } from '../db/ltdb.js';
import { needsRevoke, readableDelegation } from '../db/readonly.js';
import { TdbFile } from '../db/tdb.js';
import { Reader, Writer, writeAll } from '../protocol/buffer.js';
import { CallFlag, CallId, DbFlag, Operation, Pnn } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import type { ReplyCall } from '../protocol/packets.js';
import {
  decodeDbStatistics, decodeDbidMap, decodeRecData, encodeKeyData, encodeRecBuffer, encodeTraverseStartExt,
  type DbStatistics, type LtdbHeader, type RecData,
} from '../protocol/payloads.js';
import type { ControlOptions, CtdbClient } from './client.js';
import { ControlError, checked, deregisterSrvid, registerSrvid } from './controls.js';

/** Largest key a record may have (bytes). */
export const MAX_KEY_SIZE = 64 * 1024;
/** Largest record data (bytes). */
export const MAX_DATA_SIZE = 16 * 1024 * 1024;
/** The persistent sequence number key (NUL included). */
export { SEQNUM_KEY } from '../protocol/records.js';
import { SEQNUM_KEY } from '../protocol/records.js';

/** The database kinds one can attach. */
export type DbKindName = 'volatile' | 'persistent' | 'replicated';

/** One database as GET_DBMAP + GET_DBNAME describe it. */
export interface DbInfo { id: number; name: string; flags: number }

const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
const str = (b: Buffer): string => { const z = b.indexOf(0); return b.subarray(0, z < 0 ? b.length : z).toString('utf8'); };

/** Throws EINVAL for keys or data over the limits. */
export function checkSizes(key: Buffer, data?: Buffer): void {
  if (key.length === 0) throw new CtdbError('EINVAL', 'empty key');
  if (key.length > MAX_KEY_SIZE) throw new CtdbError('EINVAL', `key of ${key.length} bytes is larger than ${MAX_KEY_SIZE}`);
  if (data && data.length > MAX_DATA_SIZE) throw new CtdbError('EINVAL', `data of ${data.length} bytes is larger than ${MAX_DATA_SIZE}`);
}

/** DB_ATTACH* : attaches `name` and returns its db id. */
export async function attachDb(c: CtdbClient, pnn: number, name: string, kind: DbKindName = 'volatile', opts?: ControlOptions): Promise<number> {
  const op = kind === 'persistent' ? Opcode.DB_ATTACH_PERSISTENT : kind === 'replicated' ? Opcode.DB_ATTACH_REPLICATED : Opcode.DB_ATTACH;
  return new Reader((await checked(c, pnn, op, cstr(name), opts)).data).u32();
}
export async function getDbmap(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<{ dbId: number; flags: number }[]> {
  return decodeDbidMap(new Reader((await checked(c, pnn, Opcode.GET_DBMAP, undefined, opts)).data)).dbs;
}
export async function getDbName(c: CtdbClient, pnn: number, id: number, opts?: ControlOptions): Promise<string> {
  return str((await checked(c, pnn, Opcode.GET_DBNAME, u32(id), opts)).data);
}
export async function getDbPath(c: CtdbClient, pnn: number, id: number, opts?: ControlOptions): Promise<string> {
  return str((await checked(c, pnn, Opcode.GETDBPATH, u32(id), opts)).data);
}
export async function getDbOpenFlags(c: CtdbClient, pnn: number, id: number, opts?: ControlOptions): Promise<number> {
  return new Reader((await checked(c, pnn, Opcode.DB_OPEN_FLAGS, u32(id), opts)).data).i32();
}
/** DB_GET_HEALTH: '' when healthy, else the reason. */
export async function getDbHealth(c: CtdbClient, pnn: number, id: number, opts?: ControlOptions): Promise<string> {
  return str((await checked(c, pnn, Opcode.DB_GET_HEALTH, u32(id), opts)).data);
}
export async function getDbSeqnum(c: CtdbClient, pnn: number, id: number, opts?: ControlOptions): Promise<bigint> {
  const w = new Writer(8); w.u32(id).u32(0);
  return new Reader((await checked(c, pnn, Opcode.GET_DB_SEQNUM, w.finish(), opts)).data).u64();
}
export async function getDbStatistics(c: CtdbClient, pnn: number, id: number, opts?: ControlOptions): Promise<DbStatistics> {
  return decodeDbStatistics(new Reader((await checked(c, pnn, Opcode.GET_DB_STATISTICS, u32(id), opts)).data));
}
/** A control whose only argument is a db id (SET_DB_READONLY, DB_DETACH, DB_FREEZE, …). */
export async function dbControl(c: CtdbClient, pnn: number, opcode: number, id: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, opcode, u32(id), opts);
}

/**
 * Finds a database by name or `0x`-hex id as the `ctdb` tool does (GET_DBMAP,
 * then GET_DBNAME per entry). Throws ENOENT `No database matching 'X' found`.
 */
export async function findDb(c: CtdbClient, pnn: number, arg: string, opts?: ControlOptions): Promise<DbInfo> {
  const dbs = await getDbmap(c, pnn, opts);
  const byId = /^0x[0-9a-f]+$/i.test(arg) ? parseInt(arg.slice(2), 16) >>> 0 : undefined;
  for (const e of dbs) {
    if (byId !== undefined) {
      if (e.dbId === byId) return { id: e.dbId, name: await getDbName(c, pnn, e.dbId, opts), flags: e.flags };
      continue;
    }
    const name = await getDbName(c, pnn, e.dbId, opts);
    if (name === arg) return { id: e.dbId, name, flags: e.flags };
  }
  throw new CtdbError('ENOENT', `No database matching '${arg}' found`, { exitCode: 1 });
}

/** The kind a dbid_map flags byte names. */
export const kindOf = (flags: number): DbKindName =>
  (flags & DbFlag.PERSISTENT ? 'persistent' : flags & DbFlag.REPLICATED ? 'replicated' : 'volatile');

/** A record held under its chain lock; `release` must be called. */
export interface LockedRecord {
  header: LtdbHeader;
  data: Buffer;
  /** Stores new data (rsn + 1, this node dmaster) and keeps the lock. */
  store(data: Buffer): void;
  /**
   * Deletes the record as CTDB clients do: stores it empty (rsn + 1) and, on a
   * volatile database, schedules it for deletion (SCHEDULE_FOR_DELETION), so
   * the next fast vacuum run removes it from every node. Keeps the lock.
   * Throws ControlError when the daemon refuses the schedule.
   */
  delete(opts?: ControlOptions): Promise<void>;
  release(): void;
}

/**
 * A database opened by a client: the daemon connection plus the local TDB
 * file at the path the daemon reports, opened with the daemon's flags.
 */
export class ClusterDb {
  private constructor(readonly c: CtdbClient, readonly info: DbInfo, readonly tdb: TdbFile, readonly pnn: number) {}

  get persistent(): boolean { return (this.info.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) !== 0; }

  /** Attaches (local daemon) and opens the TDB file. */
  static async open(c: CtdbClient, info: DbInfo, opts?: ControlOptions): Promise<ClusterDb> {
    const pnn = c.pnn;
    await attachDb(c, Pnn.CURRENT, info.name, kindOf(info.flags), opts);
    const path = await getDbPath(c, Pnn.CURRENT, info.id, opts);
    const flags = await getDbOpenFlags(c, Pnn.CURRENT, info.id, opts);
    return new ClusterDb(c, info, TdbFile.open(path, { tdbFlags: flags }), pnn);
  }

  close(): void { this.tdb.close(); }

  /** Reads a record from the local file without locking (persistent reads, cattdb). */
  read(key: Buffer): LtdbRecord | undefined {
    const v = this.tdb.fetch(key);
    return v === undefined ? undefined : decodeRecordValue(v);
  }

  /**
   * Fetch-lock: returns the record locked on this node with this node as
   * dmaster, migrating it here first when needed (at most `attempts` REQ_CALLs).
   */
  async fetchLock(key: Buffer, opts: { timeoutMs?: number; attempts?: number } = {}): Promise<LockedRecord> {
    checkSizes(key);
    const attempts = opts.attempts ?? 100;
    for (let i = 0; i < attempts; i++) {
      // Uncontended locks are taken at once; only a held chain waits on a pool thread.
      if (!this.tdb.chainLock(key, { nonblock: true })) await this.tdb.chainLockAsync(key);
      const rec = this.read(key);
      // With read-only copies out, the daemon revokes them before we may write.
      if (rec && rec.header.dmaster === this.pnn && !needsRevoke(rec.header)) return this.locked(key, rec);
      this.tdb.chainUnlock(key);
      await this.call(key, CallId.NULL_FUNC, CallFlag.IMMEDIATE_MIGRATION, opts.timeoutMs);
    }
    throw new CtdbError('EAGAIN', `record could not be migrated to node ${this.pnn} after ${attempts} attempts`);
  }

  /**
   * Read-only fetch: the local copy when this node is dmaster or holds a
   * read-only delegation (no daemon round trip, no migration); otherwise one
   * WANT_READONLY call, after which a READONLY database keeps a read-only
   * copy here (other databases migrate the record here, as fetch-lock does).
   * `local` tells whether the local copy answered.
   */
  async fetchReadonly(key: Buffer, opts: { timeoutMs?: number } = {}): Promise<LtdbRecord & { local: boolean }> {
    checkSizes(key);
    if (!this.tdb.chainLock(key, { nonblock: true })) await this.tdb.chainLockAsync(key);
    let rec: LtdbRecord | undefined;
    try { rec = this.read(key); } finally { this.tdb.chainUnlock(key); }
    if (rec && (rec.header.dmaster === this.pnn || readableDelegation(rec.header))) return { ...rec, local: true };
    const reply = await this.call(key, CallId.FETCH_WITH_HEADER_FUNC, CallFlag.WANT_READONLY, opts.timeoutMs);
    const got = decodeRecordValue(reply);
    if (!got) throw new CtdbError('EPROTO', `read-only fetch on ${this.info.name}: reply of ${reply.length} bytes has no record header`);
    return { ...got, local: false };
  }

  private locked(key: Buffer, rec: LtdbRecord): LockedRecord {
    let held = true;
    const self = this;
    return {
      header: rec.header,
      data: rec.data,
      store(data: Buffer) {
        checkSizes(key, data);
        const header = { rsn: this.header.rsn + 1n, dmaster: self.pnn, flags: this.header.flags };
        self.tdb.store(key, encodeRecordValue(header, data));
        this.header = header; this.data = data;
      },
      async delete(opts?: ControlOptions) {
        this.store(Buffer.alloc(0));
        if (self.persistent) return;
        const req = writeAll(encodeKeyData, { dbId: self.info.id, header: this.header, key });
        await checked(self.c, Pnn.CURRENT, Opcode.SCHEDULE_FOR_DELETION, req, opts);
      },
      release() { if (held) { held = false; self.tdb.chainUnlock(key); } },
    };
  }

  /** Sends a REQ_CALL for `key` to the local daemon; returns the reply data. */
  async call(key: Buffer, callId: number, flags: number, timeoutMs?: number): Promise<Buffer> {
    const reply = await this.c.request((reqid) => ({
      operation: Operation.REQ_CALL, generation: 0, destnode: Pnn.CURRENT, srcnode: this.pnn, reqid,
      flags, dbId: this.info.id, callId, hopcount: 0, key, callData: Buffer.alloc(0),
    }), timeoutMs, `call on ${this.info.name}`) as ReplyCall;
    if (reply.operation !== Operation.REPLY_CALL) throw new CtdbError('EPROTO', `unexpected reply ${reply.operation} to REQ_CALL`);
    if (reply.status !== 0) throw new CtdbError('EIO', `record call on ${this.info.name} failed, status ${reply.status}`);
    return reply.data;
  }
}

/**
 * Cluster-wide traverse (TRAVERSE_START_EXT): calls `onRecord` for each
 * record (ltdb header inside data) until the end marker. Resolves to the count.
 */
export async function traverseDb(c: CtdbClient, pnn: number, dbId: number, srvid: bigint,
  onRecord: (rec: RecData) => void, opts: { timeoutMs?: number; withEmptyRecords?: boolean } = {}): Promise<number> {
  let count = 0;
  let finish!: () => void; let failed!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => { finish = res; failed = rej; });
  c.onMessage(srvid, (_s, data) => {
    try {
      const rec = decodeRecData(new Reader(data));
      if (rec.key.length === 0 && rec.data.length === 0) { finish(); return; }
      count++;
      onRecord(rec);
    } catch (err) { failed(err as Error); }
  });
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const timer = setTimeout(() => failed(new CtdbError('ETIMEDOUT', 'traverse timed out')), timeoutMs);
  try {
    await registerSrvid(c, srvid);
    await checked(c, pnn, Opcode.TRAVERSE_START_EXT, writeAll(encodeTraverseStartExt, {
      dbId, reqid: 0, srvid, withEmptyRecords: opts.withEmptyRecords ?? false,
    }));
    await done;
    return count;
  } finally {
    clearTimeout(timer);
    c.offMessage(srvid);
    await deregisterSrvid(c, srvid).catch(() => {});
  }
}

/** One change in a persistent transaction: data, or undefined to delete. */
export interface TxChange { key: Buffer; data: Buffer | undefined }

/**
 * Runs a persistent-database transaction as the `ctdb` tool does: lock the
 * `transaction_db_0x<id>` record in g_lock.tdb (cluster-wide exclusion), let
 * `body` read the local copy and return its changes, then TRANS3_COMMIT them
 * with the bumped sequence number. Nothing is sent when `body` throws.
 */
export async function persistentTransaction(c: CtdbClient, db: ClusterDb,
  body: (read: (key: Buffer) => Buffer | undefined) => TxChange[] | Promise<TxChange[]>, opts: { timeoutMs?: number } = {}): Promise<number> {
  if (!db.persistent) throw new CtdbError('EINVAL', `database ${db.info.name} is not persistent`);
  let glock = glockByClient.get(c);
  if (!glock || !glock.tdb.isOpen) {
    const glockId = await attachDb(c, Pnn.CURRENT, 'g_lock.tdb', 'volatile');
    glock = await ClusterDb.open(c, { id: glockId, name: 'g_lock.tdb', flags: 0 });
    glockByClient.set(c, glock);
  }
  const lockKey = Buffer.from(`transaction_db_0x${db.info.id.toString(16).padStart(8, '0')}\0`, 'latin1');
  const lock = await glock.fetchLock(lockKey, opts);
  try {
    const changes = await body((key) => {
      const r = db.read(key);
      return r && r.data.length > 0 ? r.data : undefined;
    });
    if (changes.length === 0) return 0;
    const latest = new Map<string, TxChange>();
    for (const ch of changes) { checkSizes(ch.key, ch.data); latest.set(ch.key.toString('latin1'), ch); }
    const records: RecData[] = [];
    for (const ch of latest.values()) {
      const old = db.read(ch.key);
      const header = { rsn: (old?.header.rsn ?? 0n) + 1n, dmaster: db.pnn, flags: 0 };
      records.push({ reqid: 0, key: ch.key, data: encodeRecordValue(header, ch.data ?? Buffer.alloc(0)) });
    }
    const seq = db.read(SEQNUM_KEY);
    const seqnum = seq && seq.data.length >= 8 ? seq.data.readBigUInt64LE(0) : 0n;
    const sd = Buffer.alloc(8); sd.writeBigUInt64LE(seqnum + 1n);
    records.push({ reqid: 0, key: SEQNUM_KEY, data: encodeRecordValue({ rsn: (seq?.header.rsn ?? 0n) + 1n, dmaster: db.pnn, flags: 0 }, sd) });
    const r = await c.control(Pnn.CURRENT, Opcode.TRANS3_COMMIT, writeAll(encodeRecBuffer, { dbId: db.info.id, records }),
      { srvid: BigInt(db.info.id), timeoutMs: opts.timeoutMs });
    if (r.status !== 0) throw new ControlError(Opcode.TRANS3_COMMIT, c.pnn, r.status, r.errmsg || `transaction commit on ${db.info.name} failed`);
    return latest.size;
  } finally {
    lock.release();
  }
}

/** g_lock.tdb opened once per connection (it stays open for the client's lifetime). */
const glockByClient = new WeakMap<CtdbClient, ClusterDb>();
