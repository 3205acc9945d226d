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
 *
 * Packets carry the generation: migration packets of another generation are
 * dropped, on arrival and when their queued work finally runs, and a
 * recovery ends with the node's own pending calls re-sent under the new
 * generation (resendStale), so no call is lost and none acts on records a
 * recovery has replaced.
 */
import { CallFlag, CallId, DbFlag, INVALID_GENERATION, Operation, RecordFlag } from '../protocol/constants.js';
import type { Packet, ReplyCall, ReplyDmaster, ReqCall, ReqDmaster } from '../protocol/packets.js';
import type { LtdbHeader } from '../protocol/records.js';
import { decodeRecordValue, encodeRecordValue } from './ltdb.js';
import { decideStore } from './store-rule.js';
import type { LocalDb } from './local-db.js';
import type { RecordLocks } from './record-locks.js';
import {
  RO_FLAGS, addDelegate, afterRevokeHeader, delegateHeader, delegatesOf, needsRevoke, readableDelegation, revokedHeader,
} from './readonly.js';

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
  /**
   * Sends UPDATE_RECORD (one record, value = ltdb header + data) to node
   * `pnn` to revoke its read-only copy; resolves true when it answered OK.
   * Without it a revoke completes at once (no delegate can be told).
   */
  updateRecord?(pnn: number, dbId: number, key: Buffer, value: Buffer): Promise<boolean>;
  /** Told of each read-only delegation granted and each revoke completed here (node statistics). */
  counted?(event: 'roDelegation' | 'roRevoke'): void;
}

/** Sticky-record state of one record on this node. */
interface Sticky { until: number; pinnedUntil: number }

/** A local requester waiting for a call to complete. */
export type CallWaiter = (status: number, data: Buffer) => void;

interface PendingCall {
  dbId: number; key: Buffer; callId: number; flags: number;
  waiters: CallWaiter[]; generation: number; packet: ReqCall;
  /** The fetch-collapse key (read-only requests collapse separately). */
  ik: string;
  /** When the call was last sent (host clock, ms). */
  sentAt: number;
}

const EMPTY = Buffer.alloc(0);

/** A call of the current generation still unanswered after this long (ms) is sent again (resendOlderThan). */
export const CALL_RETRY_MS = 5000;
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

/**
 * The node that asked for the record: a redirected REQ_CALL keeps the
 * requester in srcnode, as CTDB does (the node transport accepts that for
 * REQ_CALL with a non-zero hopcount only; see acceptSource).
 */
export function requesterOf(p: ReqCall): number {
  return p.srcnode;
}

/** A copy of `p` as it is forwarded to `dest`: srcnode (the requester) kept, hopcount + 1. */
export function redirectCall(p: ReqCall, dest: number, generation: number): ReqCall {
  return { ...p, destnode: dest, hopcount: p.hopcount + 1, generation };
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
  /** Highest hopcount seen by this node (answered here or redirected on). */
  maxHopCount = 0;
  /** Records being revoked, per (db, key): the requests waiting for the revoke to finish. */
  private readonly revoking = new Map<string, Array<() => void>>();
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

  /** Call packets dropped because they carried another generation than ours. */
  droppedOtherGeneration = 0;

  /**
   * True when `p` belongs to the current generation. Call packets of another
   * generation are dropped (record-model.md §3): a recovery has wiped and
   * re-pushed the databases since (or will), and the requester re-sends its
   * call under the new generation. Checked on arrival and again when queued
   * work runs, so work that waited in a frozen database's queue across a
   * recovery is discarded instead of acting on the new records.
   */
  private current(p: { generation: number }): boolean {
    if (p.generation === this.host.generation()) return true;
    this.droppedOtherGeneration++;
    return false;
  }

  /**
   * A migration packet from another node: REQ_CALL, REQ_DMASTER and
   * REPLY_DMASTER of another generation are dropped; REPLY_ERROR always
   * completes its call. Other operations are ignored.
   */
  onPacket(p: Packet): void {
    switch (p.operation) {
      case Operation.REQ_CALL: if (this.current(p)) this.onReqCall(p); return;
      case Operation.REQ_DMASTER: if (this.current(p)) this.onReqDmaster(p); return;
      case Operation.REPLY_DMASTER: if (this.current(p)) this.onReplyDmaster(p); return;
      case Operation.REPLY_CALL: if (this.current(p)) this.onReplyCall(p); return;
      case Operation.REPLY_ERROR: this.onReplyError(p.reqid, p.status, p.msg); return;
      default:
    }
  }

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
    // A read-only fetch on a READONLY database asks the dmaster for a copy instead of the record.
    const ro = (flags & CallFlag.WANT_READONLY) !== 0 && db.readonly;
    const ik = `${dbId}:${key.toString('latin1')}${ro ? ':ro' : ''}`;
    const outstanding = this.inflight.get(ik);
    if (outstanding !== undefined) { this.pending.get(outstanding)?.waiters.push(done); return; }
    locks.run(key, () => {
      const lmaster = this.lmasterOf(key);
      const rec = fetchRecord(db, key, lmaster);
      if (rec.header.dmaster === this.host.pnn) {
        if (!ro && needsRevoke(rec.header)) {
          // Our own client wants to write: take the read-only copies back first.
          this.revoke(db, locks, key, () => this.localCall(dbId, key, callId, flags, done));
          return;
        }
        if (rec.absent) this.storeRecord(db, key, rec.header, rec.data);
        done(0, callResult(callId, rec.header, rec.data));
        return;
      }
      if (ro && !rec.absent && readableDelegation(rec.header)) { done(0, callResult(callId, rec.header, rec.data)); return; }
      const again = this.inflight.get(ik);
      if (again !== undefined) { this.pending.get(again)?.waiters.push(done); return; }
      const reqid = this.nextReqid();
      const dest = lmaster === this.host.pnn ? rec.header.dmaster : lmaster;
      const packet: ReqCall = {
        operation: Operation.REQ_CALL, generation: this.host.generation(), destnode: dest, srcnode: this.host.pnn, reqid,
        flags: ro ? CallFlag.WANT_READONLY : flags | CallFlag.IMMEDIATE_MIGRATION, dbId,
        callId: ro ? CallId.FETCH_WITH_HEADER_FUNC : callId, hopcount: 0, key: Buffer.from(key), callData: EMPTY,
      };
      this.pending.set(reqid, { dbId, key: Buffer.from(key), callId, flags, waiters: [done], generation: packet.generation, packet, sentAt: this.now(), ik });
      this.inflight.set(ik, reqid);
      this.host.send(dest, packet);
    });
  }

  /**
   * Re-sends calls whose generation changed (a recovery moved lmasters and
   * dropped the packets of the old generation), with hopcount 0 under the
   * current generation. Call it once every active node has the new
   * generation: at thaw or when recovery mode is back to NORMAL, never
   * between SETVNNMAP and the end of the recovery (a node still on the old
   * generation would drop the re-sent call and nothing would send it again).
   */
  resendStale(): void {
    const gen = this.host.generation();
    for (const c of this.pending.values()) if (c.generation !== gen) this.resend(c);
  }

  /**
   * Re-sends calls of the current generation that have waited longer than
   * `ageMs`: a REQ_CALL lost with a connection that dropped and came back
   * without a recovery would otherwise leave its client waiting for ever. A
   * duplicate is harmless: the copy that reaches the record after it came
   * here finds this node as dmaster and completes nothing twice.
   */
  resendOlderThan(ageMs: number): void {
    const now = this.now();
    for (const c of this.pending.values()) if (now - c.sentAt >= ageMs) this.resend(c);
  }

  private resend(c: PendingCall): void {
    const gen = this.host.generation();
    c.generation = gen;
    c.sentAt = this.now();
    const dest = this.lmasterOf(c.key);
    const packet = { ...c.packet, generation: gen, destnode: dest, hopcount: 0 };
    if (dest === this.host.pnn) {
      // We are lmaster now: run the request through the normal path (it may be ours already).
      this.onReqCall(packet);
    } else {
      this.host.send(dest, packet);
    }
  }

  /**
   * The connection to node `pnn` dropped. True when a recovery is needed:
   * migration packets (REQ_DMASTER, REPLY_DMASTER) in flight on it are lost,
   * and a record whose lmaster already names a new dmaster that never got it
   * would have no dmaster at all, so every request for it would bounce. A
   * recovery rebuilds every record from the copies on the nodes; the lost
   * calls are then re-sent under the new generation. Not needed when there is
   * no generation yet or `pnn` is not in the vnnmap (it took no part).
   */
  linkLostNeedsRecovery(pnn: number, vnnmap: readonly number[]): boolean {
    return this.host.generation() !== INVALID_GENERATION && pnn !== this.host.pnn && vnnmap.includes(pnn);
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
      if (!this.current(p)) return;
      const lmaster = this.lmasterOf(p.key);
      const rec = fetchRecord(db, p.key, lmaster);
      if (rec.header.dmaster !== me) {
        const dest = lmaster === me ? rec.header.dmaster : lmaster;
        const fwd = redirectCall(p, dest, this.host.generation());
        if (fwd.hopcount > this.maxHopCount) this.maxHopCount = fwd.hopcount;
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
      // Requests for a record whose read-only copies are being revoked wait for the revoke
      // (the key string is built only while some revoke is running: this is the migration hot path).
      const waiting = this.revoking.size > 0 ? this.revoking.get(`${db.id}:${p.key.toString('latin1')}`) : undefined;
      if (waiting) { waiting.push(() => this.onReqCall(p)); return; }
      if ((p.flags & CallFlag.WANT_READONLY) !== 0 && db.readonly) { this.delegate(db, p, rec.header, rec.data); return; }
      if (needsRevoke(rec.header)) { this.revoke(db, locks, p.key, () => this.onReqCall(p)); return; }
      this.migrate(db, p, rec.header, rec.data, lmaster);
    });
  }

  /** This node is dmaster and hands the record to the requester. */
  private migrate(db: LocalDb, p: ReqCall, header: LtdbHeader, data: Buffer, lmaster: number): void {
    const me = this.host.pnn;
    const to = requesterOf(p);
    const rsn = header.rsn + 1n;
    let flags = header.flags & ~TRANSIENT & ~RO_FLAGS;
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
      if (!this.current(p)) return;
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
    e.locks.run(p.key, () => { if (this.current(p)) this.becomeDmaster(e.db, p.key, p.reqid, p.rsn, p.recordFlags, p.data); });
  }

  /** REPLY_ERROR for one of our calls. */
  onReplyError(reqid: number, status: number, msg: string): void {
    const c = this.pending.get(reqid);
    if (!c) return;
    this.host.warn({ reqid, status, msg }, 'record request failed');
    this.finish(reqid, c, status || -1, EMPTY);
  }

  /** REPLY_CALL from a dmaster: the read-only copy we asked for. Stored here, then the call completes. */
  onReplyCall(p: ReplyCall): void {
    const c = this.pending.get(p.reqid);
    if (!c) return;
    const e = this.host.db(c.dbId);
    if (!e) { this.finish(p.reqid, c, -1, EMPTY); return; }
    if (p.status !== 0) { this.finish(p.reqid, c, p.status, EMPTY); return; }
    const rec = decodeRecordValue(p.data);
    if (!rec) { this.host.warn({ db: e.db.name, reqid: p.reqid }, 'read-only reply without a record header'); return; }
    e.locks.run(c.key, () => {
      if (!this.current(p)) return;
      this.storeCopy(e.db, c.key, rec.header, rec.data);
      if (this.pending.get(p.reqid) === c) this.finish(p.reqid, c, 0, callResult(c.callId, rec.header, rec.data));
    });
  }

  /** This node is dmaster of a READONLY database's record: hand `p`'s requester a read-only copy. */
  private delegate(db: LocalDb, p: ReqCall, header: LtdbHeader, data: Buffer): void {
    const me = this.host.pnn;
    const to = requesterOf(p);
    if ((header.flags & RecordFlag.RO_HAVE_DELEGATIONS) === 0) {
      store(db, p.key, { ...header, flags: (header.flags & ~TRANSIENT) | RecordFlag.RO_HAVE_DELEGATIONS }, data);
    }
    db.setDelegateBitmap(p.key, addDelegate(db.delegateBitmap(p.key), to));
    db.counters.roDelegations++;
    this.host.counted?.('roDelegation');
    this.host.send(to, {
      operation: Operation.REPLY_CALL, generation: this.host.generation(), destnode: to, srcnode: me, reqid: p.reqid,
      status: 0, data: encodeRecordValue(delegateHeader(header, me), data),
    });
  }

  /**
   * Revokes the read-only copies of a record this node is dmaster of (runs
   * under the record's lock): marks it REVOKING_READONLY, sends every
   * delegate the record without read-only flags (UPDATE_RECORD; they drop
   * their copies), then stores it with rsn + 1 and no read-only flags and
   * replays `then` and every request that arrived meanwhile, in order. A
   * recovery in between (new generation) replaced the records: nothing is
   * stored and the replayed requests are dropped or re-run as usual.
   */
  private revoke(db: LocalDb, locks: RecordLocks, key: Buffer, then: () => void): void {
    const rk = `${db.id}:${key.toString('latin1')}`;
    const waiting = this.revoking.get(rk);
    if (waiting) { waiting.push(then); return; }
    this.revoking.set(rk, [then]);
    const me = this.host.pnn;
    const gen = this.host.generation();
    const rec = fetchRecord(db, key, this.lmasterOf(key));
    store(db, key, { ...rec.header, flags: rec.header.flags | RecordFlag.RO_REVOKING_READONLY }, rec.data);
    const value = encodeRecordValue(revokedHeader(rec.header, me), rec.data);
    const delegates = delegatesOf(db.delegateBitmap(key)).filter((pnn) => pnn !== me);
    const tell = this.host.updateRecord;
    const sent = delegates.map((pnn) => (tell ? tell(pnn, db.id, key, value).catch(() => false) : Promise.resolve(true)));
    void Promise.all(sent).then((ok) => {
      const failed = delegates.filter((_, i) => !ok[i]);
      // A delegate that could not be told is cut off or in recovery; the recovery wipes its copy.
      if (failed.length > 0) this.host.warn({ db: db.name, nodes: failed }, 'revoke of read-only copies not confirmed by some nodes');
      locks.run(key, () => {
        if (gen === this.host.generation()) {
          const cur = fetchRecord(db, key, this.lmasterOf(key));
          if (cur.header.dmaster === me) store(db, key, afterRevokeHeader(cur.header), cur.data);
          db.setDelegateBitmap(key, undefined);
          db.counters.roRevokes++;
          this.host.counted?.('roRevoke');
        }
        const replay = this.revoking.get(rk) ?? [];
        this.revoking.delete(rk);
        for (const fn of replay) fn();
      });
    });
  }

  /**
   * UPDATE_RECORD of a revoke at a delegate: replaces the read-only copy of
   * `key` with `value` (the dmaster's record without read-only flags), unless
   * this node holds a newer copy or is dmaster itself. `done` runs once applied.
   */
  applyRevoke(dbId: number, key: Buffer, value: Buffer, done: (ok: boolean) => void): void {
    const e = this.host.db(dbId);
    const rec = decodeRecordValue(value);
    if (!e || !rec) { done(false); return; }
    e.locks.run(key, () => {
      this.storeCopy(e.db, key, { ...rec.header, flags: rec.header.flags & ~RO_FLAGS }, rec.data);
      done(true);
    });
  }

  /**
   * Stores a copy of a record this node is not dmaster of (a read-only copy,
   * or the dmaster's record at a revoke), unless this node holds a newer
   * copy or the record came here meanwhile.
   */
  private storeCopy(db: LocalDb, key: Buffer, header: LtdbHeader, data: Buffer): void {
    const cur = fetchRecord(db, key, this.lmasterOf(key));
    if (cur.header.dmaster !== this.host.pnn && (cur.absent || cur.header.rsn <= header.rsn)) store(db, key, header, data);
  }

  private becomeDmaster(db: LocalDb, key: Buffer, reqid: number, rsn: bigint, flags: number, data: Buffer): void {
    // The store rule sees the transfer flags (VACUUM_MIGRATED); the header handed back has them cleared.
    this.storeRecord(db, key, { rsn, dmaster: this.host.pnn, flags: flags & ~RO_FLAGS }, data);
    const header = { rsn, dmaster: this.host.pnn, flags: flags & ~TRANSIENT & ~RO_FLAGS };
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
    if (this.inflight.get(c.ik) === reqid) this.inflight.delete(c.ik);
    for (const w of c.waiters) w(status, data);
  }

  private nextReqid(): number {
    this.reqid = this.reqid >= 0x7ffffff0 ? 0x10000000 : this.reqid + 1;
    return this.reqid;
  }
}
