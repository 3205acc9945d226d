/**
 * POSIX fcntl byte-range locks through koffi (x86_64 / aarch64 Linux layout).
 *
 * These are classic per-process POSIX locks, so they interoperate with any
 * other program that locks the same file with fcntl (CTDB's C helper
 * included). Caveat the callers must respect: closing ANY descriptor of the
 * locked file in this process drops every lock the process holds on it.
 */
import koffi from 'koffi';
import { CtdbError } from '../common/errors.js';

const F_GETLK = 5;
const F_SETLK = 6;
const F_SETLKW = 7;
const F_WRLCK = 1;
const F_UNLCK = 2;
const SEEK_SET = 0;

/** `struct flock` on 64-bit Linux: short, short, off_t, off_t, pid_t (32 bytes). */
const Flock = koffi.struct('ctdb_ts_flock', {
  l_type: 'short',
  l_whence: 'short',
  l_start: 'int64_t',
  l_len: 'int64_t',
  l_pid: 'int32_t',
});

interface FlockValue { l_type: number; l_whence: number; l_start: number; l_len: number; l_pid: number }

type Binding = {
  fcntl: ReturnType<ReturnType<typeof koffi.load>['func']>;
  strerror: ReturnType<ReturnType<typeof koffi.load>['func']>;
  exit: ReturnType<ReturnType<typeof koffi.load>['func']>;
};

let binding: Binding | undefined;

function lib(): Binding {
  if (binding) return binding;
  if (Flock.size !== 32) throw new CtdbError('EOPNOTSUPP', `unexpected struct flock size ${Flock.size}`);
  const libc = koffi.load('libc.so.6');
  // fcntl is variadic, but with only integer/pointer arguments the fixed
  // prototype is call-compatible on the SysV ABI, and koffi only runs fixed
  // prototypes on a worker thread (needed for the blocking F_SETLKW).
  binding = {
    fcntl: libc.func('int fcntl(int fd, int cmd, _Inout_ ctdb_ts_flock *lk)'),
    strerror: libc.func('const char *strerror(int errnum)'),
    exit: libc.func('void _exit(int status)'),
  };
  return binding;
}

function errnoName(errno: number): string {
  const hit = Object.entries(koffi.os.errno).find(([, v]) => v === errno);
  return hit ? hit[0] : `E${errno}`;
}

const lockRequest = (type: number, offset: number): FlockValue =>
  ({ l_type: type, l_whence: SEEK_SET, l_start: offset, l_len: 1, l_pid: 0 });

/** Outcome of a non-blocking lock attempt. */
export type TryLockResult = 'locked' | 'contended';

/**
 * Tries to take a write lock on one byte at `offset` without waiting.
 * Returns 'contended' when another process holds a conflicting lock
 * (EACCES/EAGAIN); throws CtdbError (code = errno name) on any other failure.
 */
export function tryWriteLockByte(fd: number, offset: number): TryLockResult {
  const { fcntl } = lib();
  const lk = lockRequest(F_WRLCK, offset);
  const ret = fcntl(fd, F_SETLK, lk) as number;
  if (ret === 0) return 'locked';
  const errno = koffi.errno();
  const name = errnoName(errno);
  if (name === 'EACCES' || name === 'EAGAIN') return 'contended';
  throw new CtdbError(name, `fcntl(F_SETLK) on fd ${fd} failed: ${String(lib().strerror(errno))}`);
}

/**
 * Takes a write lock on one byte at `offset`, waiting (F_SETLKW) on a koffi
 * worker thread so the event loop keeps running. Resolves when locked;
 * rejects with CtdbError('EIO') when the call fails. The caller bounds the
 * wait (a wedged file system may never answer).
 */
export function writeLockByteWait(fd: number, offset: number): Promise<void> {
  const { fcntl } = lib();
  return new Promise((resolve, reject) => {
    fcntl.async(fd, F_SETLKW, lockRequest(F_WRLCK, offset), (err: unknown, ret: number) => {
      if (err) reject(new CtdbError('EIO', `fcntl(F_SETLKW) on fd ${fd} failed`, { cause: err }));
      else if (ret !== 0) reject(new CtdbError('EIO', `fcntl(F_SETLKW) on fd ${fd} failed (ret=${ret})`));
      else resolve();
    });
  });
}

/** Releases this process's lock on one byte at `offset`; throws CtdbError on failure. */
export function unlockByte(fd: number, offset: number): void {
  const { fcntl } = lib();
  const ret = fcntl(fd, F_SETLK, lockRequest(F_UNLCK, offset)) as number;
  if (ret !== 0) {
    const errno = koffi.errno();
    throw new CtdbError(errnoName(errno), `fcntl(F_UNLCK) on fd ${fd} failed: ${String(lib().strerror(errno))}`);
  }
}

/**
 * The PID of a process holding a lock that conflicts with a write lock on
 * byte `offset`, or undefined when none does (F_GETLK). For diagnostics only:
 * the answer may be stale by the time it is read.
 */
export function conflictingLockPid(fd: number, offset: number): number | undefined {
  const { fcntl } = lib();
  const lk = lockRequest(F_WRLCK, offset);
  const ret = fcntl(fd, F_GETLK, lk) as number;
  if (ret !== 0) return undefined;
  return lk.l_type === F_UNLCK ? undefined : lk.l_pid;
}

/**
 * Ends the process at once with `code` (_exit(2)). Used instead of
 * process.exit() because Node waits for koffi's worker threads at exit, and
 * one may be stuck in F_SETLKW on a wedged file system for ever. Only call
 * it once stdout/stderr writes are done (they are synchronous for pipes and
 * files on Linux).
 */
export function exitImmediately(code: number): never {
  lib().exit(code);
  throw new Error('unreachable');
}
