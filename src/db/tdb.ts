/**
 * A local TDB file through Debian's libtdb (`libtdb.so.1`, package libtdb1),
 * bound with koffi. Every buffer libtdb allocates for us is copied into a
 * Node Buffer and released with libc `free` before the call returns.
 *
 * Threads: the `*Async` methods run the libtdb call on libuv's thread pool
 * (koffi queues napi async work; the pool has UV_THREADPOOL_SIZE threads,
 * 4 by default, shared with fs, dns and crypto: measured, four blocked calls
 * hold up an fs.readFile until one ends). A call blocked on a lock
 * held by another process occupies one pool thread until the lock is free, so
 * a daemon that waits on many locks at once should raise UV_THREADPOOL_SIZE
 * before the pool starts, or keep such waits in a helper process. A tdb
 * context is not thread-safe: each TdbFile runs at most one async call at a
 * time (queued in call order) and its sync methods throw EBUSY while one is
 * in flight.
 * Robust-mutex databases (TDB_MUTEX_LOCKING) tie a lock to the thread that
 * took it, so on them `chainLockAsync` waits on a pool thread for the chain
 * to be free and then takes it on the main thread without blocking, and
 * `transactionStartAsync` retries the non-blocking start with back-off.
 */
import type { LibraryHandle } from 'koffi';
import koffi from '../common/koffi-lazy.js';
import { closeSync, constants as fsConstants, openSync, readSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { CtdbError } from '../common/errors.js';
import { TdbErrorCode, TdbFlag, TdbStoreFlag, errnoNameForTdbError, type TdbStoreMode } from './tdb-flags.js';

/** Options of {@link TdbFile.open}. */
export interface TdbOpenOptions {
  /** Hash chains for a new file (0 = libtdb's default, 131). CTDB uses 100001. */
  hashSize?: number;
  /** `TdbFlag` bits. Default 0. */
  tdbFlags?: number;
  /** open(2) flags. Default O_RDWR | O_CREAT. */
  openFlags?: number;
  /** File mode for a new file. Default 0o600. */
  mode?: number;
  /** Run tdb_check after opening and refuse the file if it fails. Default false. */
  check?: boolean;
}

/** Options of the blocking async calls. */
export interface TdbWaitOptions {
  /** Gives up waiting (rejects with ETIMEDOUT, or ECANCELED for other reasons) when aborted. */
  signal?: AbortSignal;
}

type Ptr = unknown;
interface TdbData { dptr: Ptr | null; dsize: number | bigint }
type NativeFn = ((...args: unknown[]) => any) & { async: (...args: unknown[]) => void };

interface Native {
  openEx: NativeFn; close: NativeFn; error: NativeFn; errorstr: NativeFn; fetch: NativeFn;
  store: NativeFn; traverseChainAddr: NativeFn | undefined; memcpyFrom: NativeFn | undefined; addressOf: NativeFn | undefined; storeAddr: NativeFn | undefined; del: NativeFn; exists: NativeFn; traverse: NativeFn; traverseRead: NativeFn; traverseChain: NativeFn; firstkey: NativeFn; nextkey: NativeFn;
  transactionStart: NativeFn; transactionStartNonblock: NativeFn; transactionCommit: NativeFn;
  transactionCancel: NativeFn; chainlock: NativeFn; chainlockNonblock: NativeFn; chainunlock: NativeFn;
  lockall: NativeFn; lockallNonblock: NativeFn; unlockall: NativeFn;
  wipeAll: NativeFn; repack: NativeFn; getFlags: NativeFn; hashSize: NativeFn; freelistSize: NativeFn;
  check: NativeFn; enableSeqnum: NativeFn; getSeqnum: NativeFn; transactionActive: NativeFn; robust: NativeFn; jenkins: NativeFn; free: NativeFn; mallocTrim: NativeFn;
}

let native: Native | undefined;
let traverseFuncType: unknown;
let chainFuncType: unknown;
let chainAddrFuncType: unknown;
/** Addresses of the bytes of Buffers given to storeFrom (a Buffer's bytes do not move while it lives). */
const bufferBase = new WeakMap<Buffer, number>();

/** Loads libtdb once; throws ENOENT naming the package when it is missing. */
function lib(): Native {
  if (native) return native;
  let tdb: LibraryHandle; let libc: LibraryHandle;
  try {
    tdb = koffi.load('libtdb.so.1');
    libc = koffi.load('libc.so.6');
  } catch (err) {
    throw new CtdbError('ENOENT', 'cannot load libtdb.so.1 (install the libtdb1 package)', { cause: err });
  }
  koffi.struct('TDB_DATA', { dptr: 'void *', dsize: 'size_t' });
  koffi.opaque('tdb_context');
  traverseFuncType = koffi.proto('int tdb_traverse_func(tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *priv)');
  const f = (decl: string): NativeFn => tdb.func(decl) as NativeFn;
  // On x86-64 (System V) and arm64 (AAPCS64) a 16-byte struct of two
  // integer-class fields goes in two consecutive integer registers, exactly
  // like two separate arguments: binding TDB_DATA as (pointer, size) pairs
  // skips koffi's struct marshalling, the biggest cost of a small store.
  const flat = process.arch === 'x64' || process.arch === 'arm64';
  if (flat) {
    chainFuncType = koffi.proto('int tdb_chain_flat_func(void *tdb, void *kptr, size_t ksize, void *dptr, size_t dsize, void *priv)');
    // The same with addresses as plain integers: no pointer object per record, the bytes copied by memcpy.
    chainAddrFuncType = koffi.proto('int tdb_chain_addr_func(void *tdb, uintptr_t kptr, size_t ksize, uintptr_t dptr, size_t dsize, void *priv)');
  }
  native = {
    openEx: f('tdb_context *tdb_open_ex(const char *name, int hash_size, int tdb_flags, int open_flags, uint32_t mode, void *log_ctx, void *hash_fn)'),
    close: f('int tdb_close(tdb_context *tdb)'),
    error: f('int tdb_error(tdb_context *tdb)'),
    errorstr: f('const char *tdb_errorstr(tdb_context *tdb)'),
    fetch: f('TDB_DATA tdb_fetch(tdb_context *tdb, TDB_DATA key)'),
    store: f('int tdb_store(tdb_context *tdb, TDB_DATA key, TDB_DATA dbuf, int flag)'),
    traverseChainAddr: flat ? tdb.func('tdb_traverse_chain', 'int', ['tdb_context *', 'unsigned int', koffi.pointer(chainAddrFuncType as never), 'void *']) as NativeFn : undefined,
    memcpyFrom: flat ? libc.func('memcpy', 'void *', ['void *', 'uintptr_t', 'size_t']) as NativeFn : undefined,
    // memcpy(dst, dst, 0) returns dst: the address of a Buffer's bytes.
    addressOf: flat ? libc.func('memcpy', 'uintptr_t', ['void *', 'void *', 'size_t']) as NativeFn : undefined,
    storeAddr: flat ? tdb.func('tdb_store', 'int', ['tdb_context *', 'uintptr_t', 'size_t', 'uintptr_t', 'size_t', 'int']) as NativeFn : undefined,
    del: f('int tdb_delete(tdb_context *tdb, TDB_DATA key)'),
    exists: f('int tdb_exists(tdb_context *tdb, TDB_DATA key)'),
    traverse: f('int tdb_traverse(tdb_context *tdb, tdb_traverse_func *fn, void *priv)'),
    traverseRead: f('int tdb_traverse_read(tdb_context *tdb, tdb_traverse_func *fn, void *priv)'),
    traverseChain: flat
      ? tdb.func('tdb_traverse_chain', 'int', ['tdb_context *', 'unsigned int', koffi.pointer(chainFuncType as never), 'void *']) as NativeFn
      : f('int tdb_traverse_chain(tdb_context *tdb, unsigned int chain, tdb_traverse_func *fn, void *priv)'),
    firstkey: f('TDB_DATA tdb_firstkey(tdb_context *tdb)'),
    nextkey: f('TDB_DATA tdb_nextkey(tdb_context *tdb, TDB_DATA oldkey)'),
    transactionStart: f('int tdb_transaction_start(tdb_context *tdb)'),
    transactionStartNonblock: f('int tdb_transaction_start_nonblock(tdb_context *tdb)'),
    transactionCommit: f('int tdb_transaction_commit(tdb_context *tdb)'),
    transactionCancel: f('int tdb_transaction_cancel(tdb_context *tdb)'),
    chainlock: f('int tdb_chainlock(tdb_context *tdb, TDB_DATA key)'),
    chainlockNonblock: f('int tdb_chainlock_nonblock(tdb_context *tdb, TDB_DATA key)'),
    chainunlock: f('int tdb_chainunlock(tdb_context *tdb, TDB_DATA key)'),
    lockall: f('int tdb_lockall(tdb_context *tdb)'),
    lockallNonblock: f('int tdb_lockall_nonblock(tdb_context *tdb)'),
    unlockall: f('int tdb_unlockall(tdb_context *tdb)'),
    wipeAll: f('int tdb_wipe_all(tdb_context *tdb)'),
    repack: f('int tdb_repack(tdb_context *tdb)'),
    getFlags: f('int tdb_get_flags(tdb_context *tdb)'),
    hashSize: f('int tdb_hash_size(tdb_context *tdb)'),
    freelistSize: f('int tdb_freelist_size(tdb_context *tdb)'),
    check: f('int tdb_check(tdb_context *tdb, void *check_fn, void *priv)'),
    enableSeqnum: f('void tdb_enable_seqnum(tdb_context *tdb)'),
    getSeqnum: f('int tdb_get_seqnum(tdb_context *tdb)'),
    transactionActive: f('bool tdb_transaction_active(tdb_context *tdb)'),
    robust: f('bool tdb_runtime_check_for_robust_mutexes(void)'),
    jenkins: f('uint32_t tdb_jenkins_hash(TDB_DATA *key)'),
    free: libc.func('void free(void *ptr)') as NativeFn,
    mallocTrim: libc.func('int malloc_trim(size_t pad)') as NativeFn,
  };
  return native;
}

/** True when libtdb can use robust mutexes on this host (decides TDB_MUTEX_LOCKING). */
export function robustMutexesSupported(): boolean {
  return Boolean(lib().robust());
}

/**
 * Hands memory libc's malloc holds free back to the kernel (glibc malloc_trim):
 * a big TDB transaction leaves megabytes of freed blocks in the process heap
 * that would otherwise stay resident. Returns true when memory was released.
 */
export function releaseFreeMemory(): boolean {
  return lib().mallocTrim(0) === 1;
}

/** TDB's jenkins lookup3 hash of `key` (hashlittle, initval 0), as libtdb computes it. */
export function tdbJenkinsHash(key: Buffer): number {
  return lib().jenkins(datum(key)) >>> 0;
}

const datum = (b: Buffer): TdbData => ({ dptr: b, dsize: b.length });

/** Copies `dsize` bytes at `dptr` into a new Buffer. */
function copyOut(d: TdbData): Buffer {
  const n = Number(d.dsize);
  if (n === 0 || d.dptr === null) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(d.dptr, n)));
}

/** Copies a libtdb-allocated datum and frees it; undefined for a null datum. */
function takeOwned(d: TdbData): Buffer | undefined {
  if (d.dptr === null) return undefined;
  try { return copyOut(d); } finally { lib().free(d.dptr); }
}

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

const TDB_MAGIC = Buffer.from('TDB file\n');
const TDB_HEADER_SIZE = 168;
const TDB_VERSION = 0x26011967 + 6;

/**
 * Refuses an existing non-empty file that is not a TDB: with O_CREAT libtdb
 * would otherwise write a fresh database over it.
 */
function assertLooksLikeTdb(path: string): void {
  let size: number;
  try { size = statSync(path).size; } catch { return; }
  if (size === 0) return;
  const head = Buffer.alloc(TDB_HEADER_SIZE);
  let got: number;
  try {
    const fd = openSync(path, 'r');
    try { got = readSync(fd, head, 0, TDB_HEADER_SIZE, 0); } finally { closeSync(fd); }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new CtdbError(code, `cannot read TDB header of ${path}: ${code}`, { cause: err });
  }
  const corrupt = (why: string): CtdbError =>
    new CtdbError('EIO', `refusing to open ${path}: not a valid TDB file (${why}); it was left untouched`);
  if (got < TDB_HEADER_SIZE) throw corrupt(`only ${got} bytes, shorter than the ${TDB_HEADER_SIZE}-byte header`);
  if (!head.subarray(0, TDB_MAGIC.length).equals(TDB_MAGIC)) throw corrupt('bad magic');
  const le = head.readUInt32LE(32) === TDB_VERSION;
  if (!le && head.readUInt32BE(32) !== TDB_VERSION) throw corrupt('unknown version');
  const hashSize = le ? head.readUInt32LE(36) : head.readUInt32BE(36);
  const need = TDB_HEADER_SIZE + 4 * (hashSize + 1);
  if (size < need) throw corrupt(`${size} bytes, shorter than its ${hashSize}-chain hash table`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function abortError(signal: AbortSignal, what: string): CtdbError {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof Error && reason.name === 'TimeoutError';
  return new CtdbError(timeout ? 'ETIMEDOUT' : 'ECANCELED', `${what}: ${timeout ? 'timed out' : 'cancelled'}`, { cause: reason });
}

/** One open TDB file. Not thread-safe; one instance per file per process (libtdb refuses a second). */
export class TdbFile {
  private handle: Ptr | null;
  private asyncPending = 0;
  private queue: Promise<void> = Promise.resolve();

  private constructor(handle: Ptr, readonly path: string, private readonly mutexes: boolean) {
    this.handle = handle;
  }

  /**
   * Opens (or creates) a TDB file. Throws CtdbError with the errno of the
   * failed open (EBUSY when this process already has it open) naming `path`,
   * and EIO, without touching the file, when an existing file is not a TDB or
   * (with `check`) fails tdb_check.
   */
  static open(path: string, opts: TdbOpenOptions = {}): TdbFile {
    const n = lib();
    const tdbFlags = opts.tdbFlags ?? 0;
    const openFlags = opts.openFlags ?? (fsConstants.O_RDWR | fsConstants.O_CREAT);
    if ((tdbFlags & TdbFlag.INTERNAL) === 0) assertLooksLikeTdb(path);
    const h: Ptr | null = n.openEx(path, opts.hashSize ?? 0, tdbFlags, openFlags, opts.mode ?? 0o600, null, null);
    if (h === null) {
      const errno = koffi.errno();
      const code = errnoNames.get(errno) ?? 'EIO';
      const hint = code === 'EBUSY' ? ' (already open in this process)' : '';
      throw new CtdbError(code, `cannot open TDB ${path}: ${code}${hint}`);
    }
    const file = new TdbFile(h, path, (n.getFlags(h) & TdbFlag.MUTEX_LOCKING) !== 0);
    if (opts.check && !file.check()) {
      file.close();
      throw new CtdbError('EIO', `refusing to use ${path}: tdb_check found corruption; it was left untouched`);
    }
    return file;
  }

  /** The tdb_flags libtdb is using for this file (may differ from those requested). */
  get flags(): number { return lib().getFlags(this.live('get_flags')); }

  /** Number of hash chains. */
  get hashSize(): number { return lib().hashSize(this.live('hash_size')); }

  /** libtdb's change counter (bumped on every store/delete once seqnum is enabled; 0 before). */
  get seqnum(): number { return lib().getSeqnum(this.live('get_seqnum')); }

  /** True while a transaction is open on this handle. */
  get inTransaction(): boolean { return Boolean(lib().transactionActive(this.live('transaction_active'))); }

  /** Turns on TDB_SEQNUM (CTDB's ENABLE_SEQNUM control). */
  enableSeqnum(): void { lib().enableSeqnum(this.idle('enable_seqnum')); }

  /** True until {@link close}. */
  get isOpen(): boolean { return this.handle !== null; }

  /** The record for `key`, or undefined when absent. Throws on I/O or lock errors. */
  fetch(key: Buffer): Buffer | undefined {
    const d: TdbData = lib().fetch(this.idle('fetch'), datum(key));
    return this.fetchResult(d, 'fetch');
  }

  /** Stores `data` under `key`. `insert` throws EEXIST if present, `modify` ENOENT if absent. */
  store(key: Buffer, data: Buffer, flag: TdbStoreMode = 'replace'): void {
    this.ok(lib().store(this.idle('store'), datum(key), datum(data), TdbStoreFlag[flag]), 'store');
  }

  /**
   * `store(buf[keyOff, keyOff+keyLen), buf[dataOff, dataOff+dataLen))`
   * (replace) without making a Buffer for key or data: for storing many
   * records out of one big buffer (the recovery commit). Throws ERANGE when
   * a span runs outside `buf`.
   */
  storeFrom(buf: Buffer, keyOff: number, keyLen: number, dataOff: number, dataLen: number): void {
    if (keyOff < 0 || dataOff < 0 || keyOff + keyLen > buf.length || dataOff + dataLen > buf.length) {
      throw new CtdbError('ERANGE', `storeFrom: span outside the ${buf.length}-byte buffer`);
    }
    const n = lib();
    if (!n.storeAddr || !n.addressOf) { this.store(buf.subarray(keyOff, keyOff + keyLen), buf.subarray(dataOff, dataOff + dataLen)); return; }
    let base = bufferBase.get(buf);
    if (base === undefined) { base = Number(n.addressOf(buf, buf, 0)); bufferBase.set(buf, base); }
    this.ok(n.storeAddr(this.idle('store'), base + keyOff, keyLen, base + dataOff, dataLen, TdbStoreFlag.replace), 'store');
  }

  /** Deletes `key`; false when it was absent. */
  delete(key: Buffer): boolean {
    const n = lib();
    const h = this.idle('delete');
    if (n.del(h, datum(key)) === 0) return true;
    if (n.error(h) === TdbErrorCode.NOEXIST) return false;
    throw this.failure('delete');
  }

  /** True when `key` has a record. */
  exists(key: Buffer): boolean {
    return lib().exists(this.idle('exists'), datum(key)) === 1;
  }

  /**
   * Calls `fn` for every record (copies of key and data); returning `false`
   * stops the walk. The callback may delete or store records (write traverse)
   * unless `readOnly`. Exceptions from `fn` stop the walk and are rethrown.
   * Returns the number of records visited.
   */
  traverse(fn: (key: Buffer, data: Buffer) => boolean | void, opts: { readOnly?: boolean } = {}): number {
    const n = lib();
    const h = this.idle('traverse');
    let thrown: { err: unknown } | undefined;
    const cb = (_t: Ptr, k: TdbData, d: TdbData): number => {
      try { return fn(copyOut(k), copyOut(d)) === false ? 1 : 0; } catch (err) { thrown = { err }; return 1; }
    };
    const count: number = (opts.readOnly ? n.traverseRead : n.traverse)(h, cb, null);
    if (thrown) throw thrown.err;
    if (count < 0) throw this.failure('traverse');
    return count;
  }

  /**
   * Key-by-key walk (tdb_firstkey / tdb_nextkey): the first key, or
   * undefined for an empty file. Unlike {@link traverse} the caller may stop
   * between keys and go on later (e.g. to yield to the event loop); records
   * changed meanwhile may be missed or seen twice, as with any unlocked walk.
   */
  firstKey(): Buffer | undefined {
    return this.walkResult(lib().firstkey(this.idle('firstkey')), 'firstkey');
  }

  /** The key after `key` in the walk started by {@link firstKey}; undefined at the end. */
  nextKey(key: Buffer): Buffer | undefined {
    return this.walkResult(lib().nextkey(this.idle('nextkey'), datum(key)), 'nextkey');
  }

  /**
   * {@link walkChains} that copies instead of lending views: for each live
   * record `place(keyLen, dataLen)` returns where its key bytes followed by
   * its data bytes go (a Buffer of at least keyLen + dataLen bytes, EINVAL
   * otherwise), or undefined to skip it. Where the platform allows, the
   * bytes go by one memcpy without any object made per record.
   */
  copyChains(from: number, place: (keyLen: number, dataLen: number) => Buffer | undefined, more: () => boolean): number {
    const n = lib();
    const put = (dst: Buffer | undefined, total: number): void => {
      if (dst && dst.length < total) throw new CtdbError('EINVAL', `copyChains: ${dst.length}-byte target for a ${total}-byte record`);
    };
    if (!n.traverseChainAddr || !n.memcpyFrom) {
      return this.walkChains(from, (kv, keyLen) => {
        const dst = place(keyLen, kv.length - keyLen);
        put(dst, kv.length);
        dst?.set(kv);
      }, more);
    }
    const memcpy = n.memcpyFrom;
    const h = this.idle('traverse_chain');
    let thrown: { err: unknown } | undefined;
    const cb = koffi.register((_t: Ptr, kp: number | bigint, kl: number | bigint, dp: number | bigint, dl: number | bigint): number => {
      try {
        const keyLen = Number(kl); const dataLen = Number(dl);
        const dst = place(keyLen, dataLen);
        put(dst, keyLen + dataLen);
        if (!dst) return 0;
        // libtdb hands key and data as one run (data right after the key): one copy; two otherwise.
        const contiguous = typeof kp === 'number' ? dp === kp + keyLen : dp === kp + BigInt(keyLen);
        if (contiguous) { if (keyLen + dataLen > 0) memcpy(dst, kp, keyLen + dataLen); return 0; }
        if (keyLen > 0) memcpy(dst, kp, keyLen);
        if (dataLen > 0) memcpy(dst.subarray(keyLen), dp, dataLen);
        return 0;
      } catch (err) { thrown = { err }; return 1; }
    }, koffi.pointer(chainAddrFuncType as never));
    return this.eachChain(n.traverseChainAddr, h, cb, from, more, () => thrown);
  }

  /** All keys (read-only traverse). */
  keys(): Buffer[] {
    const out: Buffer[] = [];
    this.traverse((k) => { out.push(k); }, { readOnly: true });
    return out;
  }

  /**
   * Walks whole hash chains (tdb_traverse_chain), `from` first, for as long
   * as `more()` (asked before each chain) says so. `fn` gets each live
   * record as one view of its key bytes followed by its data bytes (libtdb
   * keeps them contiguous) and the key length: the view is valid only during
   * the call, so copy what you keep. No Buffer is made per record, which makes
   * this the cheap way to read a big database in slices: resume with the
   * returned chain, which is {@link hashSize} once every chain was walked.
   * Each chain is read under its chain lock (free when the database is
   * locked with {@link lockAll}). Exceptions from `fn` stop the walk and are
   * rethrown.
   */
  walkChains(from: number, fn: (keyAndData: Uint8Array, keyLen: number) => void, more: () => boolean): number {
    const n = lib();
    const h = this.idle('traverse_chain');
    let thrown: { err: unknown } | undefined;
    const visit = (kptr: Ptr | null, klen: number, dptr: Ptr | null, dlen: number): number => {
      try {
        const total = klen + dlen;
        fn(total === 0 ? new Uint8Array(0) : new Uint8Array(koffi.view(kptr ?? dptr, total)), klen);
        return 0;
      } catch (err) { thrown = { err }; return 1; }
    };
    const cb = chainFuncType
      ? koffi.register((_t: Ptr, kp: Ptr | null, kl: number | bigint, dp: Ptr | null, dl: number | bigint): number => visit(kp, Number(kl), dp, Number(dl)), koffi.pointer(chainFuncType as never))
      : koffi.register((_t: Ptr, k: TdbData, d: TdbData): number => visit(k.dptr, Number(k.dsize), d.dptr, Number(d.dsize)), koffi.pointer(traverseFuncType as never));
    return this.eachChain(n.traverseChain, h, cb, from, more, () => thrown);
  }

  /**
   * Runs `traverse` (a tdb_traverse_chain binding) with registered callback
   * `cb` over chains `from`.. while `more()`; unregisters `cb` at the end.
   * Rethrows what the callback caught (`thrown()`); returns the next chain.
   */
  private eachChain(traverse: NativeFn, h: unknown, cb: unknown, from: number, more: () => boolean, thrown: () => { err: unknown } | undefined): number {
    const chains = this.hashSize;
    let chain = from;
    try {
      for (; chain < chains && more(); chain++) {
        const rc: number = traverse(h, chain, cb, null);
        const t = thrown();
        if (t) throw t.err;
        if (rc < 0) throw this.failure('traverse_chain');
      }
    } finally { koffi.unregister(cb as never); }
    return chain;
  }

  /**
   * Runs synchronous `fn` inside a transaction: commits when it returns,
   * cancels and rethrows when it throws. `fn` must not return a promise
   * (EINVAL; use transactionStartAsync for async bodies).
   */
  transaction<T>(fn: () => T): T {
    this.transactionStart();
    let result: T;
    try {
      result = fn();
      if (result instanceof Promise || (typeof result === 'object' && result !== null && 'then' in result)) {
        throw new CtdbError('EINVAL', `transaction body on ${this.path} returned a promise; use transactionStartAsync`);
      }
    } catch (err) {
      this.transactionCancel();
      throw err;
    }
    this.transactionCommit();
    return result;
  }

  /** Starts a transaction, blocking while another process holds the transaction lock. */
  transactionStart(): void { this.ok(lib().transactionStart(this.idle('transaction_start')), 'transaction_start'); }
  /** Commits the transaction (throws and leaves nothing applied on failure). */
  transactionCommit(): void { this.ok(lib().transactionCommit(this.idle('transaction_commit')), 'transaction_commit'); }
  /** Cancels the transaction. */
  transactionCancel(): void { this.ok(lib().transactionCancel(this.idle('transaction_cancel')), 'transaction_cancel'); }

  /**
   * Locks the hash chain of `key`. Blocking unless `nonblock`; with `nonblock`
   * returns false when another process holds it. Throws on other errors.
   */
  chainLock(key: Buffer, opts: { nonblock?: boolean } = {}): boolean {
    const n = lib();
    const h = this.idle('chainlock');
    if (!opts.nonblock) { this.ok(n.chainlock(h, datum(key)), 'chainlock'); return true; }
    return this.nonblockResult(n.chainlockNonblock(h, datum(key)), 'chainlock_nonblock');
  }

  /** Unlocks a chain locked with chainLock/chainLockAsync. */
  chainUnlock(key: Buffer): void { this.ok(lib().chainunlock(this.idle('chainunlock'), datum(key)), 'chainunlock'); }

  /** Locks the whole database (all chains); with `nonblock` returns false when busy. */
  lockAll(opts: { nonblock?: boolean } = {}): boolean {
    const n = lib();
    const h = this.idle('lockall');
    if (!opts.nonblock) { this.ok(n.lockall(h), 'lockall'); return true; }
    return this.nonblockResult(n.lockallNonblock(h), 'lockall_nonblock');
  }

  /** Releases lockAll. */
  unlockAll(): void { this.ok(lib().unlockall(this.idle('unlockall')), 'unlockall'); }

  /** Deletes every record. */
  wipeAll(): void { this.ok(lib().wipeAll(this.idle('wipe_all')), 'wipe_all'); }

  /** Rewrites the file without free space fragments. */
  repack(): void { this.ok(lib().repack(this.idle('repack')), 'repack'); }

  /** Number of entries on the free list. */
  freelistSize(): number {
    const v: number = lib().freelistSize(this.idle('freelist_size'));
    if (v < 0) throw this.failure('freelist_size');
    return v;
  }

  /** Runs libtdb's consistency check; false when the file is corrupt. */
  check(): boolean { return lib().check(this.idle('check'), null, null) === 0; }

  /** Closes the file (throws EBUSY while an async call is in flight). Idempotent. */
  close(): void {
    if (this.handle === null) return;
    const h = this.idle('close');
    this.handle = null;
    if (lib().close(h) !== 0) throw new CtdbError('EIO', `tdb close failed on ${this.path}`);
  }

  /** fetch on a pool thread. */
  fetchAsync(key: Buffer, opts: TdbWaitOptions = {}): Promise<Buffer | undefined> {
    return this.enqueue('fetch', opts, async (h, wait) => {
      const d: TdbData = await wait(lib().fetch, [h, datum(key)], (r: TdbData) => { if (r.dptr !== null) lib().free(r.dptr); });
      return this.fetchResult(d, 'fetch');
    });
  }

  /** store on a pool thread. */
  storeAsync(key: Buffer, data: Buffer, flag: TdbStoreMode = 'replace', opts: TdbWaitOptions = {}): Promise<void> {
    return this.enqueue('store', opts, async (h, wait) => {
      this.ok(await wait(lib().store, [h, datum(key), datum(data), TdbStoreFlag[flag]]), 'store');
    });
  }

  /** Blocking chain lock that waits without blocking the event loop; resolves true once held. */
  chainLockAsync(key: Buffer, opts: TdbWaitOptions = {}): Promise<boolean> {
    return this.enqueue('chainlock', opts, async (h, wait) => {
      const n = lib();
      if (!this.mutexes) {
        this.ok(await wait(n.chainlock, [h, datum(key)], (r: number) => { if (r === 0) n.chainunlock(h, datum(key)); }), 'chainlock');
        return true;
      }
      // tdb_exists takes and drops the chain lock inside one pool-thread call: it returns once the chain is free.
      for (let attempt = 0; attempt < 100_000; attempt++) {
        if (this.nonblockResult(n.chainlockNonblock(h, datum(key)), 'chainlock_nonblock')) return true;
        await wait(n.exists, [h, datum(key)]);
      }
      throw new CtdbError('EAGAIN', `chain lock on ${this.path} stayed contended`);
    });
  }

  /** Transaction start that waits without blocking the event loop. */
  transactionStartAsync(opts: TdbWaitOptions = {}): Promise<void> {
    return this.enqueue('transaction_start', opts, async (h, wait) => {
      const n = lib();
      if (!this.mutexes) {
        this.ok(await wait(n.transactionStart, [h], (r: number) => { if (r === 0) n.transactionCancel(h); }), 'transaction_start');
        return;
      }
      for (let attempt = 0, delay = 1; attempt < 100_000; attempt++, delay = Math.min(delay * 2, 100)) {
        if (this.nonblockResult(n.transactionStartNonblock(h), 'transaction_start_nonblock')) return;
        if (opts.signal?.aborted) throw abortError(opts.signal, `tdb transaction_start on ${this.path}`);
        await sleep(delay);
      }
      throw new CtdbError('EAGAIN', `transaction lock on ${this.path} stayed contended`);
    });
  }

  private enqueue<T>(op: string, opts: TdbWaitOptions,
    body: (h: Ptr, wait: <R>(fn: NativeFn, args: unknown[], undo?: (r: R) => void) => Promise<R>) => Promise<T>): Promise<T> {
    const h = this.live(op);
    const { signal } = opts;
    const what = `tdb ${op} on ${this.path}`;
    // Runs one native call on the pool; if the caller gave up meanwhile, `undo` releases what it acquired.
    const wait = <R>(fn: NativeFn, args: unknown[], undo?: (r: R) => void): Promise<R> => new Promise<R>((resolve, reject) => {
      let abandoned = false;
      const onAbort = (): void => { abandoned = true; reject(abortError(signal!, what)); };
      if (signal?.aborted) { reject(abortError(signal, what)); return; }
      signal?.addEventListener('abort', onAbort, { once: true });
      fn.async(...args, (err: unknown, r: R) => {
        signal?.removeEventListener('abort', onAbort);
        if (abandoned) { if (!err && undo) undo(r); return; }
        if (err) reject(new CtdbError('EIO', `${what} failed`, { cause: err })); else resolve(r);
      });
    });
    this.asyncPending++;
    const run = this.queue.then(() => {
      if (signal?.aborted) throw abortError(signal, what);
      return body(h, wait);
    });
    const done = (): void => { this.asyncPending--; };
    this.queue = run.then(done, done);
    return run;
  }

  private fetchResult(d: TdbData, op: string): Buffer | undefined {
    if (d.dptr !== null) return takeOwned(d);
    if (lib().error(this.live(op)) === TdbErrorCode.NOEXIST) return undefined;
    throw this.failure(op);
  }

  /**
   * firstkey/nextkey: a null datum ends the walk. libtdb does not reset its
   * error code there, so only a corrupt file, an I/O error or no memory
   * count as failures (a stale NOEXIST or LOCK from an earlier call does not).
   */
  private walkResult(d: TdbData, op: string): Buffer | undefined {
    if (d.dptr !== null) return takeOwned(d);
    const e: number = lib().error(this.live(op));
    if (e === TdbErrorCode.CORRUPT || e === TdbErrorCode.IO || e === TdbErrorCode.OOM) throw this.failure(op);
    return undefined;
  }

  private nonblockResult(rc: number, op: string): boolean {
    if (rc === 0) return true;
    const e: number = lib().error(this.live(op));
    if (e === TdbErrorCode.LOCK || e === TdbErrorCode.NOLOCK) return false;
    throw this.failure(op);
  }

  private ok(rc: number, op: string): void {
    if (rc !== 0) throw this.failure(op);
  }

  private failure(op: string): CtdbError {
    const n = lib();
    const h = this.live(op);
    const e: number = n.error(h);
    return new CtdbError(errnoNameForTdbError(e), `tdb ${op} failed on ${this.path}: ${n.errorstr(h) as string}`);
  }

  private live(op: string): Ptr {
    if (this.handle === null) throw new CtdbError('EBADF', `tdb ${op} on closed file ${this.path}`);
    return this.handle;
  }

  private idle(op: string): Ptr {
    const h = this.live(op);
    if (this.asyncPending > 0) {
      throw new CtdbError('EBUSY', `tdb ${op} on ${this.path} while an async call is in flight; await it first`);
    }
    return h;
  }
}
