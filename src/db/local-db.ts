/**
 * One attached database on a node: its identity (name, db id, kind), the local
 * TDB file it lives in, its flags and per-database statistics.
 * Opening rules (record-model.md §1, wire-protocol.md §7): volatile files are
 * wiped when the daemon first attaches them, persistent and replicated files
 * are kept; a file that is not a valid TDB is refused, never overwritten.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CtdbError } from '../common/errors.js';
import { DbFlag } from '../protocol/constants.js';
import { dbIdForName } from '../protocol/hash.js';
import type { DbStatistics, HotKey } from '../protocol/statistics.js';
import { MAX_HOT_KEYS, STAT_BUCKETS } from '../protocol/statistics.js';
import { FreezeState } from './freeze.js';
import { TdbFile, robustMutexesSupported } from './tdb.js';
import { TdbFlag, persistentOpenFlags, volatileOpenFlags } from './tdb-flags.js';

/** The three kinds of clustered database. */
export type DbKind = 'volatile' | 'persistent' | 'replicated';

/** Directories the kinds live in. */
export interface DbDirs { volatileDir: string; persistentDir: string; stateDir: string }

/** Longest database name we accept (it must fit the backup file's 64-byte field). */
export const MAX_DB_NAME = 63;

/** The DB flags (dbid_map) a kind implies. */
export function kindFlags(kind: DbKind): number {
  return kind === 'persistent' ? DbFlag.PERSISTENT : kind === 'replicated' ? DbFlag.REPLICATED : 0;
}

/** The kind named by a dbid_map flags byte. */
export function kindOfFlags(flags: number): DbKind {
  if (flags & DbFlag.PERSISTENT) return 'persistent';
  if (flags & DbFlag.REPLICATED) return 'replicated';
  return 'volatile';
}

/** Refuses names that cannot be a file name in the DB dir. Throws EINVAL. */
export function checkDbName(name: string): void {
  if (name === '' || name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
    throw new CtdbError('EINVAL', `invalid database name '${name}'`);
  }
  if (Buffer.byteLength(name) > MAX_DB_NAME) throw new CtdbError('EINVAL', `database name '${name}' is longer than ${MAX_DB_NAME} bytes`);
}

/** Per-database counters kept for GET_DB_STATISTICS. */
export class DbCounters {
  hopCountBucket: number[] = new Array<number>(STAT_BUCKETS).fill(0);
  lockBuckets: number[] = new Array<number>(STAT_BUCKETS).fill(0);
  numCalls = 0;
  numPending = 0;
  numFailed = 0;
  /** Read-only copies handed out, and revokes completed, as dmaster. */
  roDelegations = 0;
  roRevokes = 0;
  /** Migrations in, per key (hex); the ten busiest are reported as hot keys. */
  private readonly migrations = new Map<string, number>();

  /** Counts one request that reached the dmaster after `hopcount` hops. */
  countHops(hopcount: number): number {
    let bucket = 0;
    for (let h = hopcount; h > 0 && bucket < STAT_BUCKETS - 1; h >>>= 1) bucket++;
    this.hopCountBucket[bucket]!++;
    return bucket;
  }

  /** Counts one migration of `key` to this node. */
  countMigration(key: Buffer): void {
    const k = key.toString('hex');
    this.migrations.set(k, (this.migrations.get(k) ?? 0) + 1);
    // Keeps memory bounded: drop the coldest half when the table grows large.
    if (this.migrations.size > 10_000) {
      const sorted = [...this.migrations.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5_000);
      this.migrations.clear();
      for (const [kk, v] of sorted) this.migrations.set(kk, v);
    }
  }

  /** The busiest keys, most migrations first (at most 10). */
  hotKeys(): HotKey[] {
    return [...this.migrations.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_HOT_KEYS)
      .map(([k, count]) => ({ count, key: Buffer.from(k, 'hex') }));
  }

  /** The GET_DB_STATISTICS payload. */
  snapshot(): DbStatistics {
    const zero = { num: 0, min: 0, max: 0, total: 0 };
    return {
      locks: { numCalls: this.numCalls, numCurrent: 0, numPending: this.numPending, numFailed: this.numFailed, latency: zero, buckets: this.lockBuckets },
      vacuum: { latency: zero }, dbRoDelegations: this.roDelegations, dbRoRevokes: this.roRevokes,
      hopCountBucket: this.hopCountBucket, numHotKeys: MAX_HOT_KEYS, hotKeys: this.hotKeys(),
    };
  }
}

/** Options for opening a database's local file. */
export interface OpenDbOptions {
  pnn: number;
  dirs: DbDirs;
  /** `[database] tdb mutexes` (used only when the host supports robust mutexes). */
  mutexes: boolean;
  /** DatabaseHashSize tunable. */
  hashSize: number;
}

/** An attached database. */
export class LocalDb {
  readonly id: number;
  /** dbid_map flags: kind bits plus READONLY/STICKY once set. */
  flags: number;
  /** TDB open flags as reported by DB_OPEN_FLAGS. */
  tdbFlags: number;
  seqnumEnabled = false;
  /** Unhealthy reason ('' = healthy). */
  health = '';
  readonly counters = new DbCounters();
  /** Freeze and recovery-transaction state. */
  readonly freeze: FreezeState = new FreezeState(this);

  private constructor(readonly name: string, readonly kind: DbKind, readonly path: string, readonly tdb: TdbFile, tdbFlags: number) {
    this.id = dbIdForName(name);
    this.flags = kindFlags(kind);
    this.tdbFlags = tdbFlags;
  }

  /** The read-only tracking database `<name>.RO` (delegate bitmaps per key), open once READONLY is set. */
  private roTdb?: TdbFile;

  /**
   * Sets READONLY and opens the tracking database `<name>.RO.<pnn>` beside
   * the database file (volatile: emptied on open). Throws CtdbError EINVAL
   * for a persistent or replicated database.
   */
  setReadonly(): void {
    if (this.persistent) throw new CtdbError('EINVAL', `cannot set READONLY on ${this.kind} database ${this.name}`);
    this.flags |= DbFlag.READONLY;
    if (this.roTdb) return;
    const m = /^(.*)\.(\d+)$/.exec(this.path);
    const roPath = m ? `${m[1]}.RO.${m[2]}` : `${this.path}.RO`;
    rmSync(roPath, { force: true });
    this.roTdb = TdbFile.open(roPath, { hashSize: 0, tdbFlags: volatileOpenFlags(false) });
  }

  /** True once READONLY is set. */
  get readonly(): boolean { return (this.flags & DbFlag.READONLY) !== 0; }

  /** The delegate bitmap of `key` (undefined: none). */
  delegateBitmap(key: Buffer): Buffer | undefined { return this.roTdb?.fetch(key); }

  /** Records the delegate bitmap of `key`; undefined deletes it. */
  setDelegateBitmap(key: Buffer, bitmap: Buffer | undefined): void {
    if (!this.roTdb) return;
    if (bitmap === undefined) this.roTdb.delete(key); else this.roTdb.store(key, bitmap);
  }

  /** Forgets every delegation (recovery replaced the records). */
  clearDelegations(): void { this.roTdb?.wipeAll(); }

  /** True while frozen (whole-database lock held by the daemon). */
  get frozen(): boolean { return this.freeze.frozen; }

  get persistent(): boolean { return this.kind !== 'volatile'; }

  /** DB_OPEN_FLAGS: the open flags plus SEQNUM once enabled. */
  get openFlags(): number { return this.tdbFlags | (this.seqnumEnabled ? TdbFlag.SEQNUM : 0); }

  /**
   * Opens (creating) `<dir>/<name>.<pnn>`. Volatile files are removed first
   * (their content never survives a daemon start); persistent ones are opened
   * in place and checked. Throws CtdbError naming the file when it is not a
   * valid TDB; such a file is left untouched.
   */
  static open(name: string, kind: DbKind, o: OpenDbOptions): LocalDb {
    checkDbName(name);
    const dir = kind === 'volatile' ? o.dirs.volatileDir : kind === 'persistent' ? o.dirs.persistentDir : o.dirs.stateDir;
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${name}.${o.pnn}`);
    let tdbFlags: number;
    if (kind === 'persistent') {
      tdbFlags = persistentOpenFlags();
    } else {
      // Replicated databases are "state": like volatile ones their content does not survive a restart.
      rmSync(path, { force: true });
      tdbFlags = kind === 'volatile' ? volatileOpenFlags(o.mutexes && robustMutexesSupported()) : persistentOpenFlags();
    }
    const tdb = TdbFile.open(path, { hashSize: o.hashSize, tdbFlags, check: kind === 'persistent' });
    return new LocalDb(name, kind, path, tdb, tdbFlags);
  }

  close(): void {
    this.freeze.thaw();
    this.tdb.close();
    this.roTdb?.close();
    this.roTdb = undefined;
  }
}
