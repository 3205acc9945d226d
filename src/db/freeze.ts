/**
 * Freezing a database for recovery (and restoredb/wipedb) without ever
 * blocking the daemon on a lock a client holds.
 *
 * Freeze takes the whole-database lock with non-blocking attempts retried on
 * a timer, so a client that sits on a record lock makes only this node's
 * freeze fail after the deadline (and only this node collects ban credits),
 * while the daemon keeps answering keepalives and controls. Once frozen, the
 * daemon holds every chain, so the "recovery transaction" (wipe + pushed
 * records) is staged in memory and applied at commit under that lock: libtdb
 * refuses a TDB transaction while locks are held, and nothing else can touch
 * the file meanwhile. The sequence number record is written last.
 */
import { CtdbError } from '../common/errors.js';
import type { LocalDb } from './local-db.js';
import { RO_FLAGS } from './readonly.js';

const SEQNUM_KEY = Buffer.from('__db_sequence_number__\0', 'latin1');

/** A record value (ltdb header + data) with the header's read-only flags cleared. */
function withoutReadonlyFlags(value: Buffer): Buffer {
  if (value.length < 24 || (value.readUInt32LE(16) & RO_FLAGS) === 0) return value;
  const v = Buffer.from(value);
  v.writeUInt32LE((v.readUInt32LE(16) & ~RO_FLAGS) >>> 0, 16);
  return v;
}

/** Freeze state of one database. */
export class FreezeState {
  /** We hold the whole-database lock. */
  locked = false;
  /** Recovery transaction id while one is open. */
  tid?: number;
  private staged?: { wiped: boolean; records: Map<string, { key: Buffer; value: Buffer }> };
  private waiting?: { timer?: NodeJS.Timeout; cancelled: boolean };

  constructor(private readonly db: LocalDb) {}

  get frozen(): boolean { return this.locked; }

  /**
   * Takes the whole-database lock, retrying without blocking until
   * `timeoutMs`. Throws EAGAIN naming the database when a client keeps a
   * record locked past the deadline.
   */
  async freeze(timeoutMs: number): Promise<void> {
    if (this.locked) return;
    const deadline = Date.now() + timeoutMs;
    const w = { cancelled: false } as { timer?: NodeJS.Timeout; cancelled: boolean };
    this.waiting = w;
    for (let delay = 1; ; delay = Math.min(delay * 2, 100)) {
      if (w.cancelled) throw new CtdbError('ECANCELED', `freeze of ${this.db.name} cancelled`);
      if (this.db.tdb.lockAll({ nonblock: true })) break;
      if (Date.now() >= deadline) {
        this.waiting = undefined;
        throw new CtdbError('EAGAIN', `cannot freeze database ${this.db.name}: a record stays locked by a client (${this.db.path})`);
      }
      await new Promise<void>((r) => { w.timer = setTimeout(r, delay); });
    }
    this.waiting = undefined;
    this.locked = true;
  }

  /** Releases the lock and drops any open recovery transaction. */
  thaw(): void {
    if (this.waiting) { this.waiting.cancelled = true; if (this.waiting.timer) clearTimeout(this.waiting.timer); }
    this.staged = undefined;
    this.tid = undefined;
    if (this.locked) { this.locked = false; this.db.tdb.unlockAll(); }
  }

  /** DB_TRANSACTION_START. Throws EINVAL unless frozen. */
  start(tid: number): void {
    if (!this.locked) throw new CtdbError('EINVAL', `database ${this.db.name} is not frozen`);
    this.tid = tid;
    this.staged = { wiped: false, records: new Map() };
  }

  private check(tid?: number): NonNullable<FreezeState['staged']> {
    if (!this.staged || (tid !== undefined && tid !== this.tid)) {
      throw new CtdbError('EINVAL', `no recovery transaction ${tid ?? ''} open on ${this.db.name}`.replace('  ', ' '));
    }
    return this.staged;
  }

  /** WIPE_DATABASE inside the transaction. */
  wipe(tid: number): void {
    const s = this.check(tid);
    s.wiped = true;
    s.records.clear();
  }

  /** Adds a pushed record (value = ltdb header + data). Outside a transaction it is stored at once. */
  put(key: Buffer, value: Buffer): void {
    if (!this.locked) throw new CtdbError('EINVAL', `database ${this.db.name} is not frozen`);
    if (!this.staged) { this.db.tdb.store(key, value); return; }
    this.staged.records.set(key.toString('latin1'), { key, value });
  }

  /** DB_TRANSACTION_COMMIT: applies the staged wipe and records. */
  commit(tid: number): void {
    const s = this.check(tid);
    const tdb = this.db.tdb;
    this.startCommit(s.wiped);
    let seq: { key: Buffer; value: Buffer } | undefined;
    for (const r of s.records.values()) {
      if (r.key.equals(SEQNUM_KEY)) { seq = r; continue; }
      tdb.store(r.key, this.committedValue(r.value));
    }
    if (seq) tdb.store(seq.key, seq.value);
    this.staged = undefined;
    this.tid = undefined;
  }

  /**
   * DB_TRANSACTION_COMMIT for big databases: like {@link commit} but stores
   * in slices of at most `sliceMs`, yielding to the event loop in between
   * (the database stays frozen throughout). Throws ECANCELED when a thaw or
   * cancel ends the transaction in the middle.
   */
  async commitAsync(tid: number, sliceMs = 10): Promise<void> {
    const s = this.check(tid);
    const tdb = this.db.tdb;
    this.startCommit(s.wiped);
    let seq: { key: Buffer; value: Buffer } | undefined;
    let sliceEnd = performance.now() + sliceMs;
    let n = 0;
    for (const r of s.records.values()) {
      if (r.key.equals(SEQNUM_KEY)) { seq = r; continue; }
      tdb.store(r.key, this.committedValue(r.value));
      // The clock is read every 64 stores only (a store takes about a microsecond).
      if ((++n & 63) !== 0 || performance.now() < sliceEnd) continue;
      await new Promise<void>((res) => setImmediate(res));
      if (this.staged !== s || !this.locked) throw new CtdbError('ECANCELED', `recovery commit of ${this.db.name} interrupted by a thaw or cancel`);
      sliceEnd = performance.now() + sliceMs;
    }
    if (seq) tdb.store(seq.key, seq.value);
    this.staged = undefined;
    this.tid = undefined;
  }

  /** The wipe of a commit; read-only delegations do not survive a recovery (every node gets the record itself). */
  private startCommit(wiped: boolean): void {
    if (!wiped) return;
    this.db.tdb.wipeAll();
    this.db.clearDelegations();
  }

  /** A pushed record as stored: volatile records lose their read-only flags. */
  private committedValue(value: Buffer): Buffer {
    return this.db.persistent ? value : withoutReadonlyFlags(value);
  }

  /** DB_TRANSACTION_CANCEL. */
  cancel(): void {
    this.check();
    this.staged = undefined;
    this.tid = undefined;
  }
}
