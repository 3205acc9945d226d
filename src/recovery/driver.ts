/**
 * The recovery helper's work (record-model.md §6, steps 6a–f): recovers every
 * database of the cluster in parallel through the client protocol only.
 * Per database, up to NUM_RETRIES attempts of: attach where missing, freeze
 * and start a transaction on every active node, pull (volatile: from every
 * node; persistent: from the node with the highest seqnum), keep the newest
 * copy of each record, wipe, push, commit and thaw. A node whose control
 * fails is named a culprit (one credit per failure); the caller turns
 * culprits into ban credits.
 */
import type { Logger } from 'pino';
import type { CtdbClient } from '../client/client.js';
import { registerSrvid, deregisterSrvid } from '../client/controls.js';
import { CtdbError, oneLine } from '../common/errors.js';
import { Reader, Writer, writeAll } from '../protocol/buffer.js';
import { DbFlag, Srvid } from '../protocol/constants.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import { SEQNUM_EPOCH_OFFSET, SEQNUM_KEY, decodeDbidMap, encodePulldbExt, encodeTransdb } from '../protocol/payloads.js';
import { RecoveryDb } from './merge.js';

/** Attempts per database before the recovery fails. */
export const NUM_RETRIES = 3;

/** What a recovery run is told. */
export interface RecoveryOptions {
  generation: number;
  /** Active nodes (PNNs) to recover across. */
  nodes: number[];
  /** PNN of this (the leader's) node. */
  leader: number;
  /** Nodes whose volatile records are invalid (they were banned/stopped): they are not pulled from. */
  noPull?: number[];
  /** Deadline of each control (RecoverTimeout), ms. */
  timeoutMs: number;
  /** Largest rec_buffer pushed (RecBufferSizeLimit), bytes. */
  bufferLimit: number;
  /** Databases recovered at once. */
  parallel?: number;
  log: Logger;
}

/** Outcome of one database's recovery. */
export interface DbOutcome { dbId: number; name: string; persistent: boolean; records: number; attempts: number; ms: number; error?: string }

/** Outcome of a recovery run. */
export interface RecoveryOutcome { ok: boolean; culprits: Map<number, number>; dbs: DbOutcome[] }

interface DbInfo { dbId: number; flags: number; name: string; holders: number[] }

const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
const str = (b: Buffer): string => { const z = b.indexOf(0); return b.subarray(0, z < 0 ? b.length : z).toString('utf8'); };

/** A failure of one control on one node. */
class NodeFailure extends CtdbError {
  constructor(readonly pnn: number, readonly opcode: number, detail: string) {
    super('EIO', `${opcodeName(opcode)} failed on node ${pnn}: ${detail}`);
  }
}

/** One recovery across the cluster; `run` never throws for node failures (they are in the outcome). */
export class RecoveryRun {
  private srvidCounter = 0;
  readonly culprits = new Map<number, number>();

  constructor(private readonly c: CtdbClient, private readonly o: RecoveryOptions) {}

  private blame(pnn: number): void { this.culprits.set(pnn, (this.culprits.get(pnn) ?? 0) + 1); }

  private async control(pnn: number, opcode: number, data: Buffer, srvid?: bigint): Promise<Buffer> {
    let r;
    try {
      r = await this.c.control(pnn, opcode, data, { timeoutMs: this.o.timeoutMs, srvid });
    } catch (err) {
      throw new NodeFailure(pnn, opcode, oneLine(err));
    }
    if (r.status !== 0) throw new NodeFailure(pnn, opcode, r.errmsg || `status ${r.status}`);
    return r.data;
  }

  /** Sends the same control to every node; every failing node is blamed, then the first failure thrown. */
  private async all(nodes: number[], opcode: number, data: Buffer): Promise<Buffer[]> {
    const res = await Promise.allSettled(nodes.map((pnn) => this.control(pnn, opcode, data)));
    const bad = res.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const b of bad) if (b.reason instanceof NodeFailure) this.blame(b.reason.pnn);
    if (bad.length > 0) throw bad[0]!.reason;
    return res.map((r) => (r as PromiseFulfilledResult<Buffer>).value);
  }

  private nextSrvid(): bigint { return Srvid.RECOVERY + BigInt(++this.srvidCounter); }

  /** Recovers every database; resolves with the outcome. */
  async run(): Promise<RecoveryOutcome> {
    const dbs = await this.collectDatabases();
    const outcomes: DbOutcome[] = [];
    const queue = [...dbs];
    const workers = Array.from({ length: Math.max(1, Math.min(this.o.parallel ?? 16, queue.length)) }, async () => {
      for (let db = queue.shift(); db; db = queue.shift()) outcomes.push(await this.recoverDb(db));
    });
    await Promise.all(workers);
    return { ok: outcomes.every((x) => x.error === undefined), culprits: this.culprits, dbs: outcomes };
  }

  /** GET_DBMAP from every node: the union of databases, with names and who holds them. */
  private async collectDatabases(): Promise<DbInfo[]> {
    const maps = await this.all(this.o.nodes, Opcode.GET_DBMAP, Buffer.alloc(0));
    const byId = new Map<number, DbInfo>();
    maps.forEach((m, i) => {
      for (const e of decodeDbidMap(new Reader(m)).dbs) {
        const cur = byId.get(e.dbId);
        if (cur) cur.holders.push(this.o.nodes[i]!);
        else byId.set(e.dbId, { dbId: e.dbId, flags: e.flags, name: '', holders: [this.o.nodes[i]!] });
      }
    });
    for (const db of byId.values()) db.name = str(await this.control(db.holders[0]!, Opcode.GET_DBNAME, u32(db.dbId)));
    return [...byId.values()];
  }

  private async recoverDb(db: DbInfo): Promise<DbOutcome> {
    const t0 = Date.now();
    const persistent = (db.flags & (DbFlag.PERSISTENT | DbFlag.REPLICATED)) !== 0;
    const log = this.o.log.child({ db: db.name });
    let lastErr = '';
    for (let attempt = 1; attempt <= NUM_RETRIES; attempt++) {
      try {
        const records = await this.recoverDbOnce(db, persistent);
        const ms = Date.now() - t0;
        log.info({ records, attempt, ms }, 'database recovered');
        return { dbId: db.dbId, name: db.name, persistent, records, attempts: attempt, ms };
      } catch (err) {
        lastErr = oneLine(err);
        log.warn({ attempt, err: lastErr }, 'database recovery attempt failed');
        await this.cancel(db);
      }
    }
    return { dbId: db.dbId, name: db.name, persistent, records: 0, attempts: NUM_RETRIES, ms: Date.now() - t0, error: lastErr };
  }

  /** Best-effort clean-up after a failed attempt: cancel the transaction everywhere (wipes roll back). */
  private async cancel(db: DbInfo): Promise<void> {
    await Promise.allSettled(this.o.nodes.map((pnn) => this.c.control(pnn, Opcode.DB_TRANSACTION_CANCEL, u32(db.dbId), { timeoutMs: this.o.timeoutMs })));
  }

  private async recoverDbOnce(db: DbInfo, persistent: boolean): Promise<number> {
    const { nodes, generation } = this.o;
    const missing = nodes.filter((p) => !db.holders.includes(p));
    if (missing.length > 0) {
      const op = db.flags & DbFlag.PERSISTENT ? Opcode.DB_ATTACH_PERSISTENT : db.flags & DbFlag.REPLICATED ? Opcode.DB_ATTACH_REPLICATED : Opcode.DB_ATTACH;
      await this.all(missing, op, cstr(db.name));
      db.holders.push(...missing);
    }
    const transdb = writeAll(encodeTransdb, { dbId: db.dbId, tid: generation });
    await this.all(nodes, Opcode.DB_FREEZE, u32(db.dbId));
    // A transaction left open by an earlier, interrupted recovery is dropped first (its wipe rolls back).
    await this.cancel(db);
    await this.all(nodes, Opcode.DB_TRANSACTION_START, transdb);

    const recdb = new RecoveryDb(persistent, this.o.leader);
    let sources: number[];
    let epoch: number | undefined;
    if (persistent && (db.flags & DbFlag.PERSISTENT) !== 0) {
      // Pad word 1: the reply carries the recovery epoch after the seqnum (see pickPersistentSource).
      const w = new Writer(8); w.u32(db.dbId).u32(1);
      const replies = await this.all(nodes, Opcode.GET_DB_SEQNUM, w.finish());
      const versions = replies.map((s) => ({ seqnum: s.readBigUInt64LE(0), epoch: s.length >= 16 ? Number(s.readBigUInt64LE(8)) : 0 }));
      const best = pickPersistentSource(versions);
      epoch = nextEpoch(versions.map((v) => v.epoch), Math.floor(Date.now() / 1000));
      this.o.log.info({ db: db.name, nodes, versions: versions.map((v) => `${v.epoch}/${v.seqnum}`), source: nodes[best], epoch }, 'persistent source chosen');
      sources = [nodes[best]!];
    } else if (persistent) {
      // Replicated databases have no sequence number: any copy will do.
      sources = [nodes[0]!];
    } else {
      const skip = new Set(this.o.noPull ?? []);
      sources = nodes.filter((p) => !skip.has(p));
    }
    await Promise.all(sources.map((pnn) => this.pull(db, pnn, recdb)));
    if (epoch !== undefined) stampEpoch(recdb, epoch);

    await this.all(nodes, Opcode.WIPE_DATABASE, transdb);
    const pushed = await this.push(db, recdb);
    await this.all(nodes, Opcode.DB_TRANSACTION_COMMIT, transdb);
    await this.all(nodes, Opcode.DB_THAW, u32(db.dbId));
    return pushed;
  }

  /** DB_PULL from one node into `recdb`; the reply count must match the records streamed. */
  private async pull(db: DbInfo, pnn: number, recdb: RecoveryDb): Promise<void> {
    const srvid = this.nextSrvid();
    let received = 0;
    let garbage: unknown;
    this.c.onMessage(srvid, (_s, data) => {
      if (garbage) return;
      try { received += recdb.addRecBuffer(data, db.dbId); } catch (err) { garbage = err; }
    });
    try {
      await registerSrvid(this.c, srvid, { timeoutMs: this.o.timeoutMs });
      const reply = await this.control(pnn, Opcode.DB_PULL, writeAll(encodePulldbExt, { dbId: db.dbId, lmaster: 0xFFFFFFFF, srvid }));
      // Messages reach us before the reply (same stream, in order).
      const count = reply.length >= 4 ? reply.readUInt32LE(0) : -1;
      if (garbage) throw new NodeFailure(pnn, Opcode.DB_PULL, `bad records: ${oneLine(garbage)}`);
      if (count !== received) throw new NodeFailure(pnn, Opcode.DB_PULL, `announced ${count} records, sent ${received}`);
    } catch (err) {
      if (err instanceof NodeFailure) this.blame(err.pnn);
      throw err;
    } finally {
      this.c.offMessage(srvid);
      await deregisterSrvid(this.c, srvid, { timeoutMs: this.o.timeoutMs }).catch(() => {});
    }
  }

  /** DB_PUSH_START, the record stream, DB_PUSH_CONFIRM on every node; returns records pushed. */
  private async push(db: DbInfo, recdb: RecoveryDb): Promise<number> {
    const { nodes } = this.o;
    const srvid = this.nextSrvid();
    await this.all(nodes, Opcode.DB_PUSH_START, writeAll(encodePulldbExt, { dbId: db.dbId, lmaster: 0, srvid }));
    let sent = 0;
    for (const { buf, count } of recdb.pushBuffers(db.dbId, this.o.bufferLimit)) {
      for (const pnn of nodes) this.c.message(pnn, srvid, buf);
      sent += count;
    }
    const confirms = await this.all(nodes, Opcode.DB_PUSH_CONFIRM, u32(db.dbId));
    confirms.forEach((b, i) => {
      const n = b.length >= 4 ? b.readUInt32LE(0) : -1;
      if (n !== sent) {
        this.blame(nodes[i]!);
        throw new NodeFailure(nodes[i]!, Opcode.DB_PUSH_CONFIRM, `received ${n} of ${sent} records`);
      }
    });
    return sent;
  }
}


/**
 * Which node a persistent database is copied from: the highest recovery
 * epoch, then the highest seqnum, then the first in node order. A node that
 * missed the last recovery has a lower epoch and never wins, whatever
 * seqnum failed commits left on it; within one epoch every acknowledged
 * commit reached every node, so the highest seqnum holds them all.
 */
export function pickPersistentSource(versions: Array<{ seqnum: bigint; epoch: number }>): number {
  let best = 0;
  versions.forEach((v, i) => {
    const b = versions[best]!;
    if (v.epoch > b.epoch || (v.epoch === b.epoch && v.seqnum > b.seqnum)) best = i;
  });
  return best;
}

/**
 * The epoch a recovery stamps: one more than the highest of the recovered
 * nodes, and at least the recovery's time in seconds. Recoveries are
 * serialised by the cluster lock, so a clock-ordered epoch also orders two
 * recoveries that share no node (one side of a partition recovering after
 * the other from an older copy) — with max + 1 alone both could get the
 * same epoch and a node with failed-commit residue could win. Clock skew
 * between leaders larger than the time between such recoveries falls back
 * to max + 1. Fits the u32 reserved word until 2106.
 */
export function nextEpoch(epochs: number[], nowSeconds: number): number {
  return Math.max(Math.max(0, ...epochs) + 1, nowSeconds) >>> 0;
}

/** Writes `epoch` into the sequence number record to push (created with seqnum 0 when absent). */
export function stampEpoch(recdb: RecoveryDb, epoch: number): void {
  const cur = recdb.get(SEQNUM_KEY);
  let value: Buffer;
  if (cur && cur.value.length >= 24) value = Buffer.from(cur.value);
  else { value = Buffer.alloc(32); }
  value.writeUInt32LE(epoch >>> 0, SEQNUM_EPOCH_OFFSET);
  recdb.set(SEQNUM_KEY, value);
}
