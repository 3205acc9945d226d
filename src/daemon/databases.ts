/**
 * The daemon's clustered databases: the registry of attached databases and
 * the controls and packets that work on them (attach/detach, dbmap, paths,
 * record migration, cluster-wide traverse, persistent commits, and the
 * freeze/transaction/pull/push controls recovery and restoredb use).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CtdbError } from '../common/errors.js';
import { CALL_RETRY_MS, CallEngine } from '../db/calls.js';
import { LocalDb, type DbKind } from '../db/local-db.js';
import { releaseFreeMemory } from '../db/tdb.js';
import { RecordLocks } from '../db/record-locks.js';
import { Reader, Writer, writeAll } from '../protocol/buffer.js';
import { CallId, Operation, RecMode } from '../protocol/constants.js';
import { jenkinsHash } from '../protocol/hash.js';
import { Opcode } from '../protocol/opcodes.js';
import type { Packet, ReqCall, ReqControl } from '../protocol/packets.js';
import {
  LTDB_HEADER_SIZE, SEQNUM_EPOCH_OFFSET, SEQNUM_KEY, decodePulldbExt, decodeRecBuffer, decodeRecData, decodeTransdb, decodeTraverseAllExt,
  decodeTraverseStart, decodeTraverseStartExt, encodeDbStatistics, encodeDbidMap, encodeRecBuffer, encodeRecData,
  encodeTraverseAllExt, type LtdbHeader, type RecData,
} from '../protocol/payloads.js';
import type { ClientConn } from './clients.js';
import type { ControlReply } from './controls.js';
import { streamPull } from './recovery-pull.js';
import type { Ctdbd } from './ctdbd.js';

const ok = (data?: Buffer): ControlReply => ({ status: 0, data });
const fail = (errmsg = ''): ControlReply => ({ status: -1, errmsg });
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;


function cName(data: Buffer): string {
  const z = data.indexOf(0);
  return data.subarray(0, z < 0 ? data.length : z).toString('utf8');
}

interface Entry { db: LocalDb; locks: RecordLocks }
interface Traverse { client: ClientConn; srvid: bigint; waiting: Set<number>; timer: NodeJS.Timeout; clientPnn: number }
interface Push { srvid: bigint; count: number }

/** Attached databases of one daemon and every control that works on them. */
export class Databases {
  private readonly byId = new Map<number, Entry>();
  readonly calls: CallEngine;
  private readonly deferred: Array<() => void> = [];
  private deferTimer?: NodeJS.Timeout;
  private resendTimer?: NodeJS.Timeout;
  private traverseId = 1;
  private readonly traverses = new Map<number, Traverse>();
  private readonly pushes = new Map<number, Push>();
  /** Delete-queue feed (set by vacuuming): an empty record this node is dmaster of was stored. */
  onScheduleForDeletion?: (dbId: number, key: Buffer, header: LtdbHeader) => void;

  constructor(private readonly d: Ctdbd) {
    this.calls = new CallEngine({
      pnn: d.pnn,
      generation: () => d.vnnmap.generation,
      lmaster: (hash) => (d.vnnmap.map.length === 0 ? undefined : d.vnnmap.map[hash % d.vnnmap.map.length]),
      // Packets to other nodes leave once the running record work has released its chain lock
      // (in order: microtasks run first in, first out), so a process preempted right after the
      // write does not keep the record locked while the next node's client already wants it.
      send: (pnn, p) => { if (pnn === d.pnn) this.onNodePacket(d.pnn, p); else queueMicrotask(() => d.sendToNode(pnn, p)); },
      db: (id) => this.byId.get(id),
      hash: (key) => jenkinsHash(key),
      warn: (fields, msg) => d.log.warn(fields, msg),
      tunable: (name) => d.tunable(name),
      scheduleForDeletion: (dbId, key, header) => this.onScheduleForDeletion?.(dbId, key, header),
      counted: (event) => {
        if (event === 'roDelegation') d.stats.totalRoDelegations++; else d.stats.totalRoRevokes++;
      },
      updateRecord: async (pnn, dbId, key, value) => {
        const data = writeAll(encodeRecBuffer, { dbId, records: [{ reqid: 0, key, data: value }] });
        const r = await d.sendControl(pnn, Opcode.UPDATE_RECORD, data, Math.max(1, d.tunable('ControlTimeout') || 60) * 1000);
        return r.status === 0;
      },
    });
    this.wipeStaleFiles();
    this.attachPersistentOnDisk();
    this.registerControls();
    for (const op of [Operation.REQ_CALL, Operation.REQ_DMASTER, Operation.REPLY_DMASTER, Operation.REPLY_ERROR, Operation.REPLY_CALL]) {
      d.onNodeOperation(op, (pnn, p) => this.onNodePacket(pnn, p));
    }
    d.onClientOperation(Operation.REQ_CALL, (c, p) => this.onClientCall(c, p as ReqCall));
    d.onNodeDown((pnn) => this.onNodeDown(pnn));
    // Calls of an older generation are re-sent at thaw; this catches the rest once recovery is over
    // (never during one: a node still on the old generation would drop the call).
    // A call lost with a dropped connection (no recovery followed) is sent again after CALL_RETRY_MS.
    this.resendTimer = setInterval(() => {
      if (d.recmode !== RecMode.NORMAL || this.calls.pendingCount === 0) return;
      this.calls.resendStale();
      this.calls.resendOlderThan(CALL_RETRY_MS);
    }, 500);
    this.resendTimer.unref();
    d.onStop(() => this.close());
  }

  /** Volatile and state files of an earlier run of this node never survive a start. */
  private wipeStaleFiles(): void {
    const c = this.d.opts.config.database;
    const suffix = `.${this.d.pnn}`;
    for (const dir of [c.volatileDir, c.stateDir]) {
      let names: string[];
      try { names = readdirSync(dir); } catch { continue; }
      for (const n of names) {
        if (!n.endsWith(suffix) || !n.includes('.tdb')) continue;
        try { rmSync(join(dir, n), { force: true }); } catch (err) { this.d.log.warn({ err, file: join(dir, n) }, 'cannot remove stale database file'); }
      }
    }
  }

  /**
   * As CTDB does at start, attaches every persistent database whose file
   * (`NAME.tdb.PNN`) is in the persistent directory, so `getdbmap` lists
   * them and recovery keeps them in step before any client attaches. A file
   * that does not open (corrupt, unreadable) is logged with its name and
   * left untouched; the daemon starts without it.
   */
  private attachPersistentOnDisk(): void {
    const dir = this.d.opts.config.database.persistentDir;
    const suffix = `.${this.d.pnn}`;
    let names: string[];
    try { names = readdirSync(dir).sort(); } catch { return; }
    for (const n of names) {
      if (!n.endsWith(suffix)) continue;
      const name = n.slice(0, -suffix.length);
      if (!name.endsWith('.tdb') || name === '.tdb') continue;
      try {
        this.attach(name, 'persistent');
      } catch (err) {
        this.d.log.error({ err, file: join(dir, n) }, 'persistent database found at start does not open; left untouched and not attached');
      }
    }
  }

  /** The database with `dbId`, if attached. */
  get(dbId: number): LocalDb | undefined { return this.byId.get(dbId)?.db; }

  /**
   * Freezes every database (a banned or stopped node): client record traffic
   * waits, as during a recovery. The recovery that takes the node back in
   * thaws them. A database a client keeps locked is logged and left for the
   * recovery's own freeze.
   */
  async freezeAll(why: string): Promise<void> {
    await Promise.all([...this.byId.values()].map(async (e) => {
      e.locks.pause();
      try {
        await e.db.freeze.freeze(5000);
      } catch (err) {
        this.d.log.warn({ err, db: e.db.name, why }, 'could not freeze database');
      }
    }));
    this.d.log.info({ why, count: this.byId.size }, 'databases frozen');
  }

  /**
   * The connection to `pnn` dropped: migration packets in flight on it are
   * lost, which can leave a record without a dmaster. Outside a recovery
   * this node freezes its databases and goes into recovery mode, so the
   * leader runs a recovery that rebuilds the records (record work waits
   * meanwhile instead of bouncing). During a recovery nothing more is
   * needed: it pulls after freezing.
   */
  private onNodeDown(pnn: number): void {
    const d = this.d;
    if (d.recmode !== RecMode.NORMAL || !this.calls.linkLostNeedsRecovery(pnn, d.vnnmap.map)) return;
    d.log.warn({ pnn }, 'connection to a node lost: record migrations may be lost; asking for a recovery');
    d.recmode = RecMode.ACTIVE;
    void this.freezeAll(`connection to node ${pnn} lost`);
  }

  /** Every attached database, newest first (GET_DBMAP order). */
  list(): LocalDb[] { return [...this.byId.values()].map((e) => e.db).reverse(); }

  /**
   * Attaches `name` as `kind` (same id when already attached). Throws
   * CtdbError EINVAL for a conflicting kind or an id collision, and the open
   * error (naming the file) when the TDB cannot be opened.
   */
  attach(name: string, kind: DbKind): { db: LocalDb; created: boolean } {
    for (const e of this.byId.values()) {
      if (e.db.name !== name) continue;
      if (e.db.kind !== kind) throw new CtdbError('EINVAL', `database ${name} is already attached as ${e.db.kind}, not ${kind}`);
      return { db: e.db, created: false };
    }
    const c = this.d.opts.config.database;
    const db = LocalDb.open(name, kind, {
      pnn: this.d.pnn, dirs: c, mutexes: c.tdbMutexes, hashSize: this.d.tunable('DatabaseHashSize') || 10007,
    });
    const clash = this.byId.get(db.id);
    if (clash) {
      db.close();
      throw new CtdbError('EINVAL', `database id ${hex8(db.id)} of ${name} collides with ${clash.db.name}`);
    }
    const locks = new RecordLocks(() => db.tdb, (err) => this.d.log.warn({ err, db: name }, 'record operation failed'),
      (key, ms) => this.d.log.warn({ db: name, key: key.toString('hex').slice(0, 64), ms }, 'record lock held by a client for a long time; still waiting'));
    this.byId.set(db.id, { db, locks });
    this.d.log.info({ db: name, id: hex8(db.id), kind, path: db.path }, 'database attached');
    return { db, created: true };
  }

  private close(): void {
    clearInterval(this.resendTimer);
    if (this.deferTimer) clearInterval(this.deferTimer);
    for (const t of this.traverses.values()) clearTimeout(t.timer);
    this.calls.failAll();
    for (const e of this.byId.values()) { e.locks.clear(); try { e.db.close(); } catch { /* closing anyway */ } }
    this.byId.clear();
  }

  private entry(data: Buffer): Entry {
    if (data.length < 4) throw new CtdbError('EINVAL', 'control data too short for a db id');
    const id = data.readUInt32LE(0);
    const e = this.byId.get(id);
    if (!e) throw new CtdbError('ENOENT', `unknown database ${hex8(id)}`);
    return e;
  }

  // ------------------------------------------------------------ packets

  private onClientCall(c: ClientConn, p: ReqCall): void {
    // The call completes under the record's chain lock; the reply goes out once that lock is
    // released (after the running work), so the client's non-blocking chainlock succeeds at once
    // instead of falling back to a blocking lock on a pool thread.
    const reply = (status: number, data: Buffer): void => {
      queueMicrotask(() => c.send({
        operation: Operation.REPLY_CALL, generation: this.d.vnnmap.generation, destnode: p.srcnode, srcnode: this.d.pnn,
        reqid: p.reqid, status, data,
      }));
    };
    const db = this.byId.get(p.dbId)?.db;
    if (db?.persistent) {
      // Every node has all of a persistent database: nothing migrates, fetches read the local copy.
      const v = db.tdb.fetch(p.key);
      const data = v && v.length >= LTDB_HEADER_SIZE ? v : undefined;
      if (p.callId === CallId.FETCH_FUNC) reply(0, data ? data.subarray(LTDB_HEADER_SIZE) : Buffer.alloc(0));
      else if (p.callId === CallId.FETCH_WITH_HEADER_FUNC) reply(0, data ?? Buffer.alloc(0));
      else reply(0, Buffer.alloc(0));
      return;
    }
    const run = (): void => this.calls.localCall(p.dbId, p.key, p.callId, p.flags, reply);
    if (this.d.recmode === RecMode.ACTIVE || this.byId.get(p.dbId)?.db.frozen) this.defer(run);
    else run();
  }

  /** Holds client calls until recovery ends (checked every 100 ms). */
  private defer(fn: () => void): void {
    this.deferred.push(fn);
    this.deferTimer ??= setInterval(() => {
      if (this.d.recmode === RecMode.ACTIVE) return;
      clearInterval(this.deferTimer); this.deferTimer = undefined;
      const fns = this.deferred.splice(0);
      for (const f of fns) f();
    }, 100);
  }

  /** Migration packets; CallEngine drops those of another generation. */
  private onNodePacket(_pnn: number, p: Packet): void {
    this.calls.onPacket(p);
  }

  // ------------------------------------------------------------ controls

  private registerControls(): void {
    const d = this.d;
    const reg = (op: number, h: (req: ReqControl, c: ClientConn | undefined) => ControlReply | Promise<ControlReply>): void => {
      d.registerControl(op, async (req, c) => {
        try { return await h(req, c); } catch (err) {
          d.log.warn({ err, opcode: op }, 'database control failed');
          return fail(err instanceof Error ? err.message : String(err));
        }
      });
    };
    const attach = (kind: DbKind) => (req: ReqControl, c: ClientConn | undefined): ControlReply => {
      const name = cName(req.data);
      const { db, created } = this.attach(name, kind);
      // A database created for a client is attached on every connected node too.
      if (created && c) for (const peer of d.membership.connectedPeers()) d.sendControlNoReply(peer, req.opcode, cstr(name));
      return ok(u32(db.id));
    };
    reg(Opcode.DB_ATTACH, attach('volatile'));
    reg(Opcode.DB_ATTACH_PERSISTENT, attach('persistent'));
    reg(Opcode.DB_ATTACH_REPLICATED, attach('replicated'));
    reg(Opcode.GET_DBMAP, () => ok(writeAll(encodeDbidMap, { dbs: this.list().map((db) => ({ dbId: db.id, flags: db.flags })) })));
    reg(Opcode.GETDBPATH, (req) => ok(cstr(this.entry(req.data).db.path)));
    reg(Opcode.GET_DBNAME, (req) => ok(cstr(this.entry(req.data).db.name)));
    reg(Opcode.DB_OPEN_FLAGS, (req) => { const w = new Writer(4); w.i32(this.entry(req.data).db.openFlags); return ok(w.finish()); });
    reg(Opcode.DB_GET_HEALTH, (req) => { const h = this.entry(req.data).db.health; return ok(h === '' ? Buffer.alloc(0) : cstr(h)); });
    reg(Opcode.DB_SET_HEALTHY, (req) => { this.entry(req.data).db.health = ''; return ok(); });
    reg(Opcode.GET_DB_STATISTICS, (req) => {
      const e = this.entry(req.data);
      const s = e.db.counters.snapshot();
      s.locks.numPending = e.locks.pending;
      return ok(writeAll(encodeDbStatistics, s));
    });
    reg(Opcode.SET_DB_READONLY, (req) => {
      const { db } = this.entry(req.data);
      if (db.persistent) return fail(`cannot set READONLY on ${db.kind} database ${db.name}`);
      db.setReadonly();
      return ok();
    });
    reg(Opcode.SET_DB_STICKY, (req) => {
      const { db } = this.entry(req.data);
      if (db.persistent) return fail(`cannot set STICKY on ${db.kind} database ${db.name}`);
      db.flags |= 0x04;
      return ok();
    });
    reg(Opcode.ENABLE_SEQNUM, (req) => {
      const { db } = this.entry(req.data);
      // Our own writes (TRANS3_COMMIT, recovery) must bump the file's change counter too:
      // smbd's registry cache (net conf shares) is only reloaded when it moves.
      if (!db.seqnumEnabled) db.tdb.enableSeqnum();
      db.seqnumEnabled = true;
      return ok();
    });
    reg(Opcode.UPDATE_SEQNUM, (req) => { this.entry(req.data); return ok(); });
    reg(Opcode.GET_DB_SEQNUM, (req) => {
      const { db } = this.entry(req.data);
      // The pad word after the db id is 0 from CTDB's tools (8-byte reply); our recovery helper
      // sets it to 1 to get the recovery epoch too (see SEQNUM_EPOCH_OFFSET).
      const withEpoch = req.data.length >= 8 && req.data.readUInt32LE(4) === 1;
      const w = new Writer(withEpoch ? 16 : 8); w.u64(readSeqnum(db));
      if (withEpoch) w.u64(BigInt(readEpoch(db)));
      return ok(w.finish());
    });
    reg(Opcode.DB_DETACH, (req) => {
      const e = this.entry(req.data);
      if (e.db.persistent) return fail(`database ${e.db.name} is not volatile`);
      if (d.tunable('AllowClientDBAttach') !== 0) return fail('detach needs AllowClientDBAttach=0');
      e.locks.clear();
      this.byId.delete(e.db.id);
      e.db.close();
      d.log.info({ db: e.db.name }, 'database detached');
      return ok();
    });
    reg(Opcode.TRAVERSE_START, (req, c) => this.traverseStart(req, c, false));
    reg(Opcode.TRAVERSE_START_EXT, (req, c) => this.traverseStart(req, c, true));
    reg(Opcode.TRAVERSE_ALL_EXT, (req) => { this.traverseAll(req); return ok(); });
    reg(Opcode.TRAVERSE_DATA, (req) => { this.traverseData(req.data); return ok(); });
    reg(Opcode.TRANS3_COMMIT, (req) => this.trans3Commit(req));
    reg(Opcode.UPDATE_RECORD, async (req, client) => {
      const buf = viewRecBuffer(req.data);
      const e = this.byId.get(buf.dbId);
      if (!e) return fail(`unknown database ${hex8(buf.dbId)}`);
      if (e.db.frozen) return fail(`database ${e.db.name} is frozen`);
      if (!e.db.persistent) {
        // A volatile database gets UPDATE_RECORD only from a dmaster revoking read-only copies.
        const applied = await Promise.all(buf.records.map((r) => new Promise<boolean>((res) => {
          this.calls.applyRevoke(e.db.id, Buffer.from(r.key), Buffer.from(r.data), res);
        })));
        return applied.every(Boolean) ? ok() : fail(`revoke on ${e.db.name} not applied`);
      }
      // A commit is applied only in normal mode: a node in recovery (frozen or not yet) refuses it.
      if (d.recmode === RecMode.ACTIVE) return fail(`database ${e.db.name} is in recovery`);
      // ... and only from a node of our generation: a node that missed a recovery (SIGSTOPped,
      // partitioned) must not push a commit based on its stale copy into the recovered one.
      if (!client && req.generation !== d.vnnmap.generation) {
        return fail(`commit on ${e.db.name} from node ${req.srcnode} of generation ${req.generation}, ours is ${d.vnnmap.generation}`);
      }
      applyCommit(e.db, buf.records);
      return ok();
    });
    // Recovery and restoredb.
    reg(Opcode.DB_FREEZE, async (req) => {
      const e = this.entry(req.data);
      e.locks.pause();
      try {
        // Below the tool's 10 s control timeout, so a refused freeze is reported, never left behind.
        await e.db.freeze.freeze(5000);
      } catch (err) {
        e.locks.resume();
        throw err;
      }
      return ok();
    });
    reg(Opcode.DB_THAW, (req) => {
      const e = this.entry(req.data);
      e.db.freeze.thaw();
      e.locks.resume();
      // Recovery installs the new generation on every node before it thaws: calls dropped
      // for their old generation are sent again now.
      this.calls.resendStale();
      return ok();
    });
    reg(Opcode.DB_TRANSACTION_START, (req) => {
      const t = decodeTransdb(new Reader(req.data));
      this.entry(req.data).db.freeze.start(t.tid);
      return ok();
    });
    reg(Opcode.DB_TRANSACTION_COMMIT, async (req) => {
      const t = decodeTransdb(new Reader(req.data));
      // In slices: a big recovery commit must not stall keepalives.
      await this.entry(req.data).db.freeze.commitAsync(t.tid);
      return ok();
    });
    reg(Opcode.DB_TRANSACTION_CANCEL, (req) => { this.entry(req.data).db.freeze.cancel(); return ok(); });
    reg(Opcode.WIPE_DATABASE, (req) => {
      const t = decodeTransdb(new Reader(req.data));
      this.entry(req.data).db.freeze.wipe(t.tid);
      return ok();
    });
    reg(Opcode.DB_PUSH_START, (req) => {
      const p = decodePulldbExt(new Reader(req.data));
      const e = this.entry(req.data);
      if (!e.db.frozen) return fail(`database ${e.db.name} is not frozen`);
      const push: Push = { srvid: p.srvid, count: 0 };
      this.pushes.set(p.dbId, push);
      // Staged as whole rec_buffers; records without an ltdb header are skipped.
      d.onMessage(p.srvid, (data) => { push.count += e.db.freeze.putRecBuffer(data); });
      return ok();
    });
    reg(Opcode.DB_PUSH_CONFIRM, (req) => {
      const e = this.entry(req.data);
      const p = this.pushes.get(e.db.id);
      if (!p) return fail(`no push in progress on ${e.db.name}`);
      this.pushes.delete(e.db.id);
      d.onMessage(p.srvid, () => {});
      return ok(u32(p.count));
    });
    reg(Opcode.DB_PULL, async (req) => {
      const p = decodePulldbExt(new Reader(req.data));
      const e = this.entry(req.data);
      return ok(u32(await streamPull(d, e.db, req.srcnode, p.srvid)));
    });
  }

  private traverseStart(req: ReqControl, c: ClientConn | undefined, ext: boolean): ControlReply {
    if (!c) return fail('traverse start from a node');
    const t = ext ? decodeTraverseStartExt(new Reader(req.data)) : { ...decodeTraverseStart(new Reader(req.data)), withEmptyRecords: false };
    const e = this.byId.get(t.dbId);
    if (!e) return fail(`unknown database ${hex8(t.dbId)}`);
    const d = this.d;
    const nodes = e.db.persistent ? [d.pnn] : [...new Set([d.pnn, ...d.membership.activeNodes()])];
    const id = this.traverseId++;
    const timer = setTimeout(() => this.endTraverse(id), Math.max(1, d.tunable('TraverseTimeout') || 20) * 1000);
    this.traverses.set(id, { client: c, srvid: t.srvid, waiting: new Set(nodes), timer, clientPnn: req.srcnode });
    const all = writeAll(encodeTraverseAllExt, { dbId: t.dbId, reqid: id, pnn: d.pnn, clientReqid: t.reqid, srvid: t.srvid, withEmptyRecords: t.withEmptyRecords });
    // Runs after the reply so the client sees the control answered before the records.
    setImmediate(() => {
      for (const pnn of nodes) {
        if (pnn === d.pnn) this.traverseAll({ data: all } as ReqControl);
        else d.sendControlNoReply(pnn, Opcode.TRAVERSE_ALL_EXT, all);
      }
    });
    return ok();
  }

  /**
   * TRAVERSE_ALL(_EXT): send our records for the traverse back to its origin
   * node. The local walk only collects; sending happens in batches with the
   * event loop free in between, so a big database does not stall keepalives.
   */
  private traverseAll(req: Pick<ReqControl, 'data'>): void {
    const t = decodeTraverseAllExt(new Reader(req.data));
    const d = this.d;
    const send = (rec: RecData): void => {
      const data = writeAll(encodeRecData, rec);
      if (t.pnn === d.pnn) this.traverseData(data); else d.sendControlNoReply(t.pnn, Opcode.TRAVERSE_DATA, data);
    };
    const recs: RecData[] = [];
    const e = this.byId.get(t.dbId);
    if (e) {
      e.db.tdb.traverse((key, value) => {
        if (value.length < LTDB_HEADER_SIZE) return;
        if (!e.db.persistent && value.readUInt32LE(8) !== d.pnn) return;
        if (!t.withEmptyRecords && value.length === LTDB_HEADER_SIZE) return;
        if (key.equals(SEQNUM_KEY)) return;
        recs.push({ reqid: t.reqid, key, data: value });
      }, { readOnly: true });
    }
    const BATCH = 500;
    const step = (from: number): void => {
      for (let i = from; i < Math.min(from + BATCH, recs.length); i++) send(recs[i]!);
      if (from + BATCH < recs.length) { setImmediate(() => step(from + BATCH)); return; }
      send({ reqid: t.reqid, key: Buffer.alloc(0), data: Buffer.alloc(0) });
    };
    step(0);
  }

  private traverseData(data: Buffer): void {
    const rec = decodeRecData(new Reader(data));
    const t = this.traverses.get(rec.reqid);
    if (!t) return;
    if (rec.key.length === 0 && rec.data.length === 0) {
      // End marker: which node sent it is not carried, so count them.
      const first = t.waiting.values().next().value as number | undefined;
      if (first !== undefined) t.waiting.delete(first);
      if (t.waiting.size === 0) this.endTraverse(rec.reqid);
      return;
    }
    this.sendToClient(t, writeAll(encodeRecData, { reqid: 0, key: rec.key, data: rec.data }));
  }

  private endTraverse(id: number): void {
    const t = this.traverses.get(id);
    if (!t) return;
    clearTimeout(t.timer);
    this.traverses.delete(id);
    this.sendToClient(t, writeAll(encodeRecData, { reqid: 0, key: Buffer.alloc(0), data: Buffer.alloc(0) }));
  }

  private sendToClient(t: Traverse, data: Buffer): void {
    t.client.send({
      operation: Operation.REQ_MESSAGE, generation: this.d.vnnmap.generation, destnode: t.clientPnn, srcnode: this.d.pnn,
      reqid: 0, srvid: t.srvid, data,
    });
  }

  /** TRANS3_COMMIT: apply the batch here and on every other active node. */
  private async trans3Commit(req: ReqControl): Promise<ControlReply> {
    const d = this.d;
    const buf = viewRecBuffer(req.data);
    const e = this.byId.get(buf.dbId);
    if (!e) return fail(`unknown database ${hex8(buf.dbId)}`);
    if (!e.db.persistent) return fail(`database ${e.db.name} is not persistent`);
    if (d.recmode === RecMode.ACTIVE || e.db.frozen) return fail(`cannot commit to ${e.db.name} during recovery`);
    for (const r of buf.records) {
      if (r.data.length < LTDB_HEADER_SIZE) return fail(`record of ${r.data.length} bytes has no ltdb header`);
    }
    const generation = d.vnnmap.generation;
    // Every member of the generation (vnnmap) and every active node: a member whose link is down
    // fails the commit instead of being skipped, so two sides of a cut link never both acknowledge
    // commits at the same epoch and seqnum.
    const others = [...new Set([...d.vnnmap.map, ...d.membership.activeNodes()])].filter((p) => p !== d.pnn);
    const timeout = Math.max(1, d.tunable('ControlTimeout') || 60) * 1000;
    // Every node applies the whole batch in one TDB transaction (or nothing of it). The local
    // commit runs while the other nodes work on theirs.
    const remote = Promise.all(others.map((pnn) => d.sendControl(pnn, Opcode.UPDATE_RECORD, req.data, timeout)));
    let localError: unknown;
    try { applyCommit(e.db, buf.records); } catch (err) { localError = err; }
    const results = await remote;
    const bad = results.map((r, i) => ({ r, pnn: others[i]! })).filter((x) => x.r.status !== 0).map((x) => x.pnn);
    if (localError !== undefined) bad.unshift(d.pnn);
    // A recovery that started meanwhile may not have seen this batch everywhere: never acknowledge it.
    if (bad.length === 0 && (d.vnnmap.generation !== generation || d.recmode !== RecMode.NORMAL)) {
      d.log.warn({ db: e.db.name, generation, now: d.vnnmap.generation }, 'recovery started during a persistent commit; reporting it failed');
      return fail(`commit on ${e.db.name} overlapped a recovery`);
    }
    if (bad.length > 0) {
      // The copies now differ. The batch stays where it was applied (it may survive recovery,
      // the client was told it failed); recovery picks the copy with the highest (epoch, seqnum),
      // so residue of a failed commit on a node left out of a later recovery never wins.
      d.log.error({ db: e.db.name, nodes: bad, err: localError }, 'persistent commit failed on some nodes; forcing recovery');
      d.recmode = RecMode.ACTIVE;
      return fail(`commit on ${e.db.name} failed on node(s) ${bad.join(',')}`);
    }
    return ok();
  }
}

/**
 * Reads a rec_buffer without copying: keys and data are views into `data`
 * (the batch is applied at once, so nothing outlives the packet). Throws
 * CtdbError EMSGSIZE/EINVAL like decodeRecBuffer on malformed input.
 */
export function viewRecBuffer(data: Buffer): { dbId: number; records: RecData[] } {
  if (data.length < 8) throw new CtdbError('EMSGSIZE', `rec_buffer of ${data.length} bytes`);
  const dbId = data.readUInt32LE(0);
  const count = data.readUInt32LE(4);
  const records: RecData[] = [];
  let off = 8;
  for (let i = 0; i < count; i++) {
    if (off + 16 > data.length) throw new CtdbError('EMSGSIZE', `rec_buffer record ${i} truncated`);
    const length = data.readUInt32LE(off);
    const keylen = data.readUInt32LE(off + 8);
    const datalen = data.readUInt32LE(off + 12);
    if (length < 16 + keylen + datalen || off + length > data.length) throw new CtdbError('EINVAL', `rec_buffer record ${i} has a bad length`);
    const k = off + 16;
    records.push({ reqid: data.readUInt32LE(off + 4), key: data.subarray(k, k + keylen), data: data.subarray(k + keylen, k + keylen + datalen) });
    off += length;
  }
  return { dbId, records };
}

/** A batch of at least this many bytes is followed by a memory release (releaseMemorySoon). */
const RELEASE_AFTER_BYTES = 256 * 1024;

let releaseTimer: NodeJS.Timeout | undefined;
let fullGc: (() => void) | undefined;

/**
 * After a big batch: once its buffers are garbage (the control has been
 * answered), runs a full garbage collection and hands the freed malloc
 * memory back to the kernel. Without it, the megabytes of packet buffers of
 * a large ptrans or restore stay resident until allocation pressure
 * happens to trigger a collection, which an idle daemon never sees.
 */
function releaseMemorySoon(): void {
  if (releaseTimer) return;
  releaseTimer = setTimeout(() => {
    releaseTimer = undefined;
    if (!fullGc) {
      setFlagsFromString('--expose-gc');
      fullGc = runInNewContext('gc') as () => void;
    }
    fullGc();
    releaseFreeMemory();
  }, 200);
  releaseTimer.unref();
}

/**
 * Applies a batch of records (ltdb header inside data) in one transaction;
 * header-only records are deletions. A big batch schedules a memory release.
 */
export function applyRecords(db: LocalDb, records: RecData[]): void {
  let bytes = 0;
  try {
    db.tdb.transaction(() => {
      for (const r of records) {
        bytes += r.key.length + r.data.length;
        if (r.data.length <= LTDB_HEADER_SIZE && !r.key.equals(SEQNUM_KEY)) db.tdb.delete(r.key);
        else db.tdb.store(r.key, r.data);
      }
    });
  } finally {
    if (bytes >= RELEASE_AFTER_BYTES) releaseMemorySoon();
  }
}

/*
 * The recovery epoch of a persistent database lives in the reserved word of
 * its sequence number record's ltdb header (SEQNUM_EPOCH_OFFSET). Every
 * successful recovery stamps a new one (nextEpoch in src/recovery/driver.ts)
 * on every active node, in the same transaction as the recovered records;
 * client commits keep it. Recovery copies the database from the node with
 * the highest epoch, then the highest seqnum. Every acknowledged commit
 * reached every node of its generation, and a node left out of the last
 * recovery has an older epoch, so the extra seqnum of failed commits applied
 * only there cannot win.
 */

/** The recovery epoch of a persistent database (0 when it has none). */
export function readEpoch(db: LocalDb): number {
  const v = db.tdb.fetch(SEQNUM_KEY);
  return v && v.length >= LTDB_HEADER_SIZE ? v.readUInt32LE(SEQNUM_EPOCH_OFFSET) : 0;
}

/**
 * Applies a client commit batch (TRANS3_COMMIT / UPDATE_RECORD): as
 * applyRecords, but the sequence number record keeps this node's recovery
 * epoch (clients write 0 there); only recovery changes the epoch.
 */
export function applyCommit(db: LocalDb, records: RecData[]): void {
  const epoch = readEpoch(db);
  if (epoch === 0) { applyRecords(db, records); return; }
  applyRecords(db, records.map((r) => {
    if (!r.key.equals(SEQNUM_KEY) || r.data.length < LTDB_HEADER_SIZE) return r;
    const data = Buffer.from(r.data);
    data.writeUInt32LE(epoch, SEQNUM_EPOCH_OFFSET);
    return { ...r, data };
  }));
}

/** The sequence number of a database (0 when it has none). */
export function readSeqnum(db: LocalDb): bigint {
  const v = db.tdb.fetch(SEQNUM_KEY);
  if (!v || v.length < LTDB_HEADER_SIZE + 8) return 0n;
  return v.readBigUInt64LE(LTDB_HEADER_SIZE);
}

