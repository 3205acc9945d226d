/**
 * Record migration for volatile databases (record-model.md §2–§4): the
 * REQ_CALL / REQ_DMASTER / REPLY_DMASTER / REPLY_CALL protocol between nodes
 * and the daemon side of a client's fetch-lock.
 *
 * Every step for a record runs through the database's RecordLocks queue, so
 * packets for one key are handled one at a time in arrival order: a REQ_CALL
 * that arrives while a REQ_DMASTER or REPLY_DMASTER for the same key is still
 * waiting for the record lock waits behind it instead of being redirected
 * (the high-hopcount fix). Local requests for a key that is already on its way
 * here are collapsed onto the outstanding migration (fetch collapse).
 */
import { CallFlag, CallId, DbFlag, Operation, RecordFlag } from '../protocol/constants.js';
import type { Packet, ReplyDmaster, ReqCall, ReqDmaster } from '../protocol/packets.js';
import type { LtdbHeader } from '../protocol/records.js';
import { decodeRecordValue, encodeRecordValue } from './ltdb.js';
import { decideStore } from './store-rule.js';
import type { LocalDb } from './local-db.js';
import type { RecordLocks } from './record-locks.js';

/** What the call engine needs from its daemon. */
export interface CallHost {
  readonly pnn: number;
  generation(): number;
  /** lmaster of a key hash, or undefined when there is no vnnmap. */
  lmaster(hash: number): number | undefined;
  /** Sends a packet to node `pnn`. */
  send(pnn: number, p: Packet): void;
  db(dbId: number): { db: LocalDb; locks: RecordLocks } | undefined;
  hash(key: Buffer): number;
  warn(fields: object, msg: string): void;
  /** A tunable (HopcountMakeSticky, StickyDuration, StickyPindown); defaults apply when absent. */
  tunable?(name: string): number;
  /**
   * Store rule (record-model.md §2): called when this node stored an empty
   * record it is dmaster of, so vacuuming can delete it (the delete queue).
   */
  scheduleForDeletion?(dbId: number, key: Buffer, header: LtdbHeader): void;
  /** Clock in ms (default Date.now) and timer (default setTimeout), replaceable in tests. */
  now?(): number;
  later?(fn: () => void, ms: number): void;
}

/** Sticky-record state of one record on this node. */
interface Sticky { until: number; pinnedUntil: number }

/** A local requester waiting for a call to complete. */
export type CallWaiter = (status: number, data: Buffer) => void;

interface PendingCall {
  dbId: number; key: Buffer; callId: number; flags: number;
  waiters: CallWaiter[]; generation: number; packet: ReqCall;
}

const EMPTY = Buffer.alloc(0);
/** Flags that only describe a transfer and are never stored. */
const TRANSIENT = RecordFlag.VACUUM_MIGRATED | RecordFlag.AUTOMATIC;

/** Reads a record's header and data; an absent record gets the initial header. */
function fetchRecord(db: LocalDb, key: Buffer, lmaster: number): { header: LtdbHeader; data: Buffer; absent: boolean } {
  const v = db.tdb.fetch(key);
  const rec = v === undefined ? undefined : decodeRecordValue(v);
  if (!rec) return { header: { rsn: 0n, dmaster: lmaster, flags: RecordFlag.AUTOMATIC }, data: EMPTY, absent: true };
  return { header: rec.header, data: rec.data, absent: false };
}

function store(db: LocalDb, key: Buffer, header: LtdbHeader, data: Buffer): void {
  db.tdb.store(key, encodeRecordValue({ ...header, flags: header.flags & ~TRANSIENT }, data));
}

/*
 * The node transport accepts a packet only when its srcnode is the sending
 * node, so a redirected REQ_CALL cannot keep the requester in srcnode as CTDB
 * does. The forwarding node puts itself in srcnode and carries the requester
 * in an 8-byte call-data trailer ("ORIG" + u32 pnn); builtin calls have no
 * call data of their own.
 */
const ORIGIN_MAGIC = Buffer.from('ORIG', 'latin1');

/** The node that asked for the record (trailer if present, else srcnode). */
export function requesterOf(p: ReqCall): number {
  const d = p.callData;
  if (d.length >= 8 && d.subarray(d.length - 8, d.length - 4).equals(ORIGIN_MAGIC)) return d.readUInt32LE(d.length - 4);
  return p.srcnode;
}

/** A copy of `p` as `via` forwards it to `dest`, keeping the requester. */
export function redirectCall(p: ReqCall, via: number, dest: number, generation: number): ReqCall {
  const origin = requesterOf(p);
  const base = p.callData.length >= 8 && requesterOf(p) !== p.srcnode ? p.callData.subarray(0, p.callData.length - 8) : p.callData;
  const trailer = Buffer.alloc(8); ORIGIN_MAGIC.copy(trailer); trailer.writeUInt32LE(origin >>> 0, 4);
  return { ...p, srcnode: via, destnode: dest, hopcount: p.hopcount + 1, generation, callData: origin === via ? base : Buffer.concat([base, trailer]) };
}

/** The reply data of a builtin call function run on the dmaster. */
function callResult(callId: number, header: LtdbHeader, data: Buffer): Buffer {
  if (callId === CallId.FETCH_FUNC) return data;
  if (callId === CallId.FETCH_WITH_HEADER_FUNC) return encodeRecordValue(header, data);
  return EMPTY;
}

/** The migration state machine of one node. */
export class CallEngine {
  private reqid = 0x10000000;
  /** Calls this node sent out for local requesters, by reqid. */
  private readonly pending = new Map<number, PendingCall>();
  /** Outstanding migration per (db, key), for fetch collapse. */
  private readonly inflight = new Map<string, number>();
  /** Highest hopcount seen by this node. */
  maxHopCount = 0;
  /** Sticky records per (db, key) of STICKY databases. */
  private readonly sticky = new Map<string, Sticky>();

  constructor(private readonly host: CallHost) {}

  private now(): number { return this.host.now?.() ?? Date.now(); }
  private tun(name: string, dflt: number): number { const v = this.host.tunable?.(name); return v === undefined ? dflt : v; }

  /** True when `key` is sticky here and still pinned down: migration requests wait (record-model.md §5). */
  private pinnedFor(db: LocalDb, key: Buffer): number {
    if ((db.flags & DbFlag.STICKY) === 0) return 0;
    const s = this.sticky.get(`${db.id}:${key.toString('latin1')}`);
    if (!s) return 0;
    const now = this.now();
    if (now >= s.until) { this.sticky.delete(`${db.id}:${key.toString('latin1')}`); return 0; }
    return Math.max(0, s.pinnedUntil - now);
  }

  /** Number of calls waiting for a migration. */
  get pendingCount(): number { return this.pending.size; }

  private lmasterOf(key: Buffer): number {
    return this.host.lmaster(this.host.hash(key)) ?? this.host.pnn;
  }

  /**
   * A local client's REQ_CALL: completes at once when this node is (or, as
   * lmaster of an absent record, becomes) dmaster; otherwise migrates the
   * record here first. `done` gets the call's status and reply data.
   */
  localCall(dbId: number, key: Buffer, callId: number, flags: number, done: CallWaiter): void {
    const e = this.host.db(dbId);
    if (!e) { done(-1, EMPTY); return; }
    const { db, locks } = e;
    db.counters.numCalls++;
    const ik = `${dbId}:${key.toString('latin1')}`;
    const outstanding = this.inflight.get(ik);
    if (outstanding !== undefined) { this.pending.get(outstanding)?.waiters.push(done); return; }
    locks.run(key, () => {
      const lmaster = this.lmasterOf(key);
      const rec = fetchRecord(db, key, lmaster);
      if (rec.header.dmaster === this.host.pnn) {
        if (rec.absent) this.storeRecord(db, key, rec.header, rec.data);
        done(0, callResult(callId, rec.header, rec.data));
        return;
      }
      const again = this.inflight.get(ik);
      if (again !== undefined) { this.pending.get(again)?.waiters.push(done); return; }
      const reqid = this.nextReqid();
      const dest = lmaster === this.host.pnn ? rec.header.dmaster : lmaster;
      const packet: ReqCall = {
        operation: Operation.REQ_CALL, generation: this.host.generation(), destnode: dest, srcnode: this.host.pnn,
        reqid, flags: flags | CallFlag.IMMEDIATE_MIGRATION, dbId, callId, hopcount: 0, key: Buffer.from(key), callData: EMPTY,
      };
      this.pending.set(reqid, { dbId, key: Buffer.from(key), callId, flags, waiters: [done], generation: packet.generation, packet });
      this.inflight.set(ik, reqid);
      this.host.send(dest, packet);
    });
  }

  /** Re-sends calls whose generation changed (a recovery moved lmasters). */
  resendStale(): void {
    const gen = this.host.generation();
    for (const c of this.pending.values()) {
      if (c.generation === gen) continue;
      c.generation = gen;
      const dest = this.lmasterOf(c.key);
      const packet = { ...c.packet, generation: gen, destnode: dest, hopcount: 0 };
      if (dest === this.host.pnn) {
        // We are lmaster now: run the request through the normal path (it may be ours already).
        this.onReqCall(packet);
      } else {
        this.host.send(dest, packet);
      }
    }
  }

  /** Fails every pending call (shutdown). */
  failAll(): void {
    for (const [reqid, c] of this.pending) this.finish(reqid, c, -1, EMPTY);
  }

  /** REQ_CALL from another node (or bounced back to us). */
  onReqCall(p: ReqCall): void {
    const e = this.host.db(p.dbId);
    if (!e) {
      const to = requesterOf(p);
      this.host.send(to, {
        operation: Operation.REPLY_ERROR, generation: this.host.generation(), destnode: to, srcnode: this.host.pnn,
        reqid: p.reqid, status: -1, msg: `Unknown database in request. db_id==0x${p.dbId.toString(16).padStart(8, '0')}`,
      });
      return;
    }
    const { db, locks } = e;
    const me = this.host.pnn;
    if (db.persistent) {
      const to = requesterOf(p);
      this.host.send(to, {
        operation: Operation.REPLY_ERROR, generation: this.host.generation(), destnode: to, srcnode: me,
        reqid: p.reqid, status: -1, msg: `Record migration is not used for ${db.kind} database ${db.name}`,
      });
      return;
    }
    locks.run(p.key, () => {
      const lmaster = this.lmasterOf(p.key);
      const rec = fetchRecord(db, p.key, lmaster);
      if (rec.header.dmaster !== me) {
        const dest = lmaster === me ? rec.header.dmaster : lmaster;
        const fwd = redirectCall(p, me, dest, this.host.generation());
        if (fwd.hopcount % 100 > 95) this.host.warn({ db: db.name, hopcount: fwd.hopcount, dest }, 'high hopcount on record request');
        this.host.send(dest, fwd);
        return;
      }
      db.counters.countHops(p.hopcount);
      if (p.hopcount > this.maxHopCount) this.maxHopCount = p.hopcount;
      if ((db.flags & DbFlag.STICKY) !== 0) {
        const sk = `${db.id}:${p.key.toString('latin1')}`;
        if (p.hopcount >= this.tun('HopcountMakeSticky', 50) && !this.sticky.has(sk)) {
          this.sticky.set(sk, { until: this.now() + this.tun('StickyDuration', 600) * 1000, pinnedUntil: 0 });
        }
        const wait = requesterOf(p) === me ? 0 : this.pinnedFor(db, p.key);
        if (wait > 0) {
          // Pinned here for a short while: answer the request once the pin expires.
          (this.host.later ?? ((fn, ms) => { setTimeout(fn, ms); }))(() => this.onReqCall(p), wait);
          return;
        }
      }
      if (requesterOf(p) === me) {
        // Our own request came back after the record arrived: complete it here.
        if (rec.absent) this.storeRecord(db, p.key, rec.header, rec.data);
        const c = this.pending.get(p.reqid);
        if (c) this.finish(p.reqid, c, 0, callResult(c.callId, rec.header, rec.data));
        return;
      }
      this.migrate(db, p, rec.header, rec.data, lmaster);
    });
  }

  /** This node is dmaster and hands the record to the requester. */
  private migrate(db: LocalDb, p: ReqCall, header: LtdbHeader, data: Buffer, lmaster: number): void {
    const me = this.host.pnn;
    const to = requesterOf(p);
    const rsn = header.rsn + 1n;
    let flags = header.flags & ~TRANSIENT;
    if (data.length > 0) flags |= RecordFlag.MIGRATED_WITH_DATA;
    if (p.flags & CallFlag.VACUUM_MIGRATION) flags |= RecordFlag.VACUUM_MIGRATED;
    this.storeRecord(db, p.key, { rsn, dmaster: to, flags }, data);
    const gen = this.host.generation();
    if (lmaster === me) {
      const reply: ReplyDmaster = {
        operation: Operation.REPLY_DMASTER, generation: gen, destnode: to, srcnode: me, reqid: p.reqid,
        dbId: p.dbId, rsn, key: p.key, data, recordFlags: flags,
      };
      this.host.send(to, reply);
      return;
    }
    const req: ReqDmaster = {
      operation: Operation.REQ_DMASTER, generation: gen, destnode: lmaster, srcnode: me, reqid: p.reqid,
      dbId: p.dbId, rsn, dmaster: to, key: p.key, data, recordFlags: flags,
    };
    this.host.send(lmaster, req);
  }

  /** REQ_DMASTER at the lmaster: record the new dmaster and pass the record on. */
  onReqDmaster(p: ReqDmaster): void {
    const e = this.host.db(p.dbId);
    if (!e) { this.host.warn({ dbId: p.dbId }, 'REQ_DMASTER for unknown database'); return; }
    const { db, locks } = e;
    const me = this.host.pnn;
    locks.run(p.key, () => {
      const lmaster = this.lmasterOf(p.key);
      if (lmaster !== me) this.host.warn({ db: db.name, lmaster }, 'REQ_DMASTER reached a node that is not lmaster');
      const cur = fetchRecord(db, p.key, lmaster);
      if (cur.header.dmaster !== p.srcnode && !(cur.header.rsn === 0n && cur.header.dmaster === me)) {
        this.host.warn({ db: db.name, known: cur.header.dmaster, sender: p.srcnode }, 'REQ_DMASTER from a node that is not the known dmaster');
      }
      if (cur.header.rsn > p.rsn) this.host.warn({ db: db.name, local: String(cur.header.rsn), carried: String(p.rsn) }, 'lmaster has a higher rsn than the migrating record');
      if (p.dmaster === me) {
        this.becomeDmaster(db, p.key, p.reqid, p.rsn, p.recordFlags, p.data);
        return;
      }
      this.storeRecord(db, p.key, { rsn: p.rsn, dmaster: p.dmaster, flags: p.recordFlags }, p.data);
      this.host.send(p.dmaster, {
        operation: Operation.REPLY_DMASTER, generation: this.host.generation(), destnode: p.dmaster, srcnode: me,
        reqid: p.reqid, dbId: p.dbId, rsn: p.rsn, key: p.key, data: p.data, recordFlags: p.recordFlags,
      });
    });
  }

  /** REPLY_DMASTER at the new dmaster. */
  onReplyDmaster(p: ReplyDmaster): void {
    const e = this.host.db(p.dbId);
    if (!e) { this.host.warn({ dbId: p.dbId }, 'REPLY_DMASTER for unknown database'); return; }
    e.locks.run(p.key, () => this.becomeDmaster(e.db, p.key, p.reqid, p.rsn, p.recordFlags, p.data));
  }

  /** REPLY_ERROR for one of our calls. */
  onReplyError(reqid: number, status: number, msg: string): void {
    const c = this.pending.get(reqid);
    if (!c) return;
    this.host.warn({ reqid, status, msg }, 'record request failed');
    this.finish(reqid, c, status || -1, EMPTY);
  }

  private becomeDmaster(db: LocalDb, key: Buffer, reqid: number, rsn: bigint, flags: number, data: Buffer): void {
    this.storeRecord(db, key, { rsn, dmaster: this.host.pnn, flags }, data);
    const header = { rsn, dmaster: this.host.pnn, flags: flags & ~TRANSIENT };
    db.counters.countMigration(key);
    const s = this.sticky.get(`${db.id}:${key.toString('latin1')}`);
    if (s && (db.flags & DbFlag.STICKY) !== 0) s.pinnedUntil = this.now() + this.tun('StickyPindown', 200);
    const c = this.pending.get(reqid);
    if (!c || !c.key.equals(key)) return;
    this.finish(reqid, c, 0, callResult(c.callId, header, data));
  }

  /**
   * Stores a record by the store rule (store-rule.ts): kept, kept and put on
   * the delete queue (empty, ours), or deleted from the local file.
   */
  private storeRecord(db: LocalDb, key: Buffer, header: LtdbHeader, data: Buffer): void {
    const decision = decideStore(header, data.length, this.host.pnn, this.lmasterOf(key));
    if (decision === 'delete') { db.tdb.delete(key); return; }
    store(db, key, header, data);
    if (decision === 'keep-and-schedule') this.host.scheduleForDeletion?.(db.id, Buffer.from(key), { ...header, flags: header.flags & ~TRANSIENT });
  }

  private finish(reqid: number, c: PendingCall, status: number, data: Buffer): void {
    this.pending.delete(reqid);
    const ik = `${c.dbId}:${c.key.toString('latin1')}`;
    if (this.inflight.get(ik) === reqid) this.inflight.delete(ik);
    for (const w of c.waiters) w(status, data);
  }

  private nextReqid(): number {
    this.reqid = this.reqid >= 0x7ffffff0 ? 0x10000000 : this.reqid + 1;
    return this.reqid;
  }
}
