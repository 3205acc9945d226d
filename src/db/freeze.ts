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
 * the file meanwhile. The sequence number record is written last. Pushed
 * records are staged as the rec_buffers they came in (one copy per buffer,
 * no object or Buffer per record) and taken apart only at commit.
 */
import { CtdbError } from '../common/errors.js';
import type { LocalDb } from './local-db.js';
import { LTDB_HEADER_SIZE, SEQNUM_KEY, recBufferCount, recDataAt, recDataBytes } from '../protocol/records.js';
import { RO_FLAGS } from './readonly.js';

/**
 * Checks a rec_buffer (count, then count rec_data; its db id is not looked
 * at) and counts the records that carry an ltdb header (the others are
 * ignored at commit). Throws EMSGSIZE/EINVAL naming the record when the
 * buffer is inconsistent.
 */
export function countRecBuffer(buf: Buffer): number {
  const count = recBufferCount(buf);
  let off = 8; let kept = 0;
  for (let i = 0; i < count; i++) {
    const { length, datalen } = recDataAt(buf, off, i, count);
    if (datalen >= LTDB_HEADER_SIZE) kept++;
    off += length;
  }
  return kept;
}

/** A one-record rec_buffer (db id 0: the freeze does not look at it). */
function oneRecord(key: Buffer, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(1, 4);
  return Buffer.concat([head, recDataBytes(key, value)]);
}

/** Where a commit is in the staged rec_buffers. */
interface Cursor { chunk: number; rec: number; off: number; seq?: { key: Buffer; value: Buffer } }

/** Freeze state of one database. */
export class FreezeState {
  /** We hold the whole-database lock. */
  locked = false;
  /** Recovery transaction id while one is open. */
  tid?: number;
  /** The open recovery transaction: wiped or not, and the pushed rec_buffers in arrival order (later copies of a key win). */
  private staged?: { wiped: boolean; chunks: Buffer[] };
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
    this.staged = { wiped: false, chunks: [] };
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
    s.chunks = [];
  }

  /** Adds a pushed record (value = ltdb header + data). Outside a transaction it is stored at once. */
  put(key: Buffer, value: Buffer): void {
    this.putRecBuffer(oneRecord(key, value));
  }

  /**
   * Adds the records of a pushed rec_buffer (its db id is not looked at);
   * records without an ltdb header are skipped. Outside a transaction they
   * are stored at once. Returns the number of records taken; throws
   * (taking none) when the buffer is malformed or the database not frozen.
   */
  putRecBuffer(buf: Buffer): number {
    if (!this.locked) throw new CtdbError('EINVAL', `database ${this.db.name} is not frozen`);
    const n = countRecBuffer(buf);
    // A copy: the caller's buffer may be part of a connection's read buffer, and commit edits headers in place.
    const chunk = Buffer.from(buf);
    if (!this.staged) {
      const cur: Cursor = { chunk: 0, rec: 0, off: 8 };
      this.storeSome([chunk], cur, () => true);
      if (cur.seq) this.db.tdb.store(cur.seq.key, cur.seq.value);
      return n;
    }
    this.staged.chunks.push(chunk);
    return n;
  }

  /** DB_TRANSACTION_COMMIT: applies the staged wipe and records. */
  commit(tid: number): void {
    const s = this.check(tid);
    this.startCommit(s.wiped);
    const cur: Cursor = { chunk: 0, rec: 0, off: 8 };
    this.storeSome(s.chunks, cur, () => true);
    if (cur.seq) this.db.tdb.store(cur.seq.key, cur.seq.value);
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
    this.startCommit(s.wiped);
    const cur: Cursor = { chunk: 0, rec: 0, off: 8 };
    for (;;) {
      const sliceEnd = performance.now() + sliceMs;
      let n = 0;
      // The clock is read every 64 stores only (a store takes about a microsecond).
      if (this.storeSome(s.chunks, cur, () => (++n & 63) !== 0 || performance.now() < sliceEnd)) break;
      await new Promise<void>((res) => setImmediate(res));
      if (this.staged !== s || !this.locked) throw new CtdbError('ECANCELED', `recovery commit of ${this.db.name} interrupted by a thaw or cancel`);
    }
    if (cur.seq) this.db.tdb.store(cur.seq.key, cur.seq.value);
    this.staged = undefined;
    this.tid = undefined;
  }

  /**
   * Stores staged records from `cur` on while `more()` (asked before each
   * record) says so; true when every chunk is done. The sequence number
   * record is kept aside in `cur.seq` for the caller to store last; volatile
   * records lose their read-only flags (edited in the staged copy).
   */
  private storeSome(chunks: Buffer[], cur: Cursor, more: () => boolean): boolean {
    const tdb = this.db.tdb;
    const strip = !this.db.persistent;
    for (; cur.chunk < chunks.length; cur.chunk++, cur.rec = 0, cur.off = 8) {
      const b = chunks[cur.chunk]!;
      const count = b.readUInt32LE(4);
      for (; cur.rec < count; cur.rec++) {
        if (!more()) return false;
        const off = cur.off;
        const length = b.readUInt32LE(off);
        const keyLen = b.readUInt32LE(off + 8);
        const dataLen = b.readUInt32LE(off + 12);
        cur.off += length;
        if (dataLen < LTDB_HEADER_SIZE) continue;
        const k = off + 16; const v = k + keyLen;
        if (keyLen === SEQNUM_KEY.length && b.compare(SEQNUM_KEY, 0, keyLen, k, v) === 0) {
          cur.seq = { key: b.subarray(k, v), value: b.subarray(v, v + dataLen) };
          continue;
        }
        if (strip) {
          const flags = b.readUInt32LE(v + 16);
          if ((flags & RO_FLAGS) !== 0) b.writeUInt32LE((flags & ~RO_FLAGS) >>> 0, v + 16);
        }
        tdb.storeFrom(b, k, keyLen, v, dataLen);
      }
    }
    return true;
  }

  /** The wipe of a commit; read-only delegations do not survive a recovery (every node gets the record itself). */
  private startCommit(wiped: boolean): void {
    if (!wiped) return;
    this.db.tdb.wipeAll();
    this.db.clearDelegations();
  }

  /** DB_TRANSACTION_CANCEL. */
  cancel(): void {
    this.check();
    this.staged = undefined;
    this.tid = undefined;
  }
}
