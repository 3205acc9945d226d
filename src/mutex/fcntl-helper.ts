/**
 * The work of ctdb_mutex_fcntl_helper: take a POSIX write lock on byte 0 of
 * a file on shared storage, report it with one status character, then hold
 * it until told to stop, until the parent dies, or until the lock can no
 * longer be trusted (file removed or replaced, file system unresponsive).
 */
import { closeSync, constants, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { CtdbError, oneLine } from '../common/errors.js';
import { logger } from '../common/log.js';
import { conflictingLockPid, tryWriteLockByte, unlockByte, writeLockByteWait } from './fcntl.js';
import { watchParent } from './parent-watch.js';
import { MutexStatus, type FcntlHelperArgs, type MutexStatusChar } from './status.js';

const NAME = 'ctdb_mutex_fcntl_helper';
const log = logger(NAME);

/** Writes the one status character to stdout (fd 1) synchronously. */
function reportStatus(ch: MutexStatusChar): void {
  try {
    writeSync(1, ch);
  } catch (err) {
    log.debug({ err }, 'cannot write status');
  }
}

function say(line: string): void {
  process.stderr.write(`${NAME}: ${line}\n`);
}

/** Why a held lock must be given up, or undefined when it is still ours. */
export function checkLockFile(file: string, fd: number): string | undefined {
  // stat by path only: opening and closing the file again would drop the lock.
  let byPath;
  try {
    byPath = statSync(file);
  } catch (err) {
    return `lock file "${file}" cannot be checked (${(err as NodeJS.ErrnoException).code ?? oneLine(err)})`;
  }
  const ours = fstatSync(fd);
  if (byPath.ino !== ours.ino || byPath.dev !== ours.dev) return `lock file "${file}" was replaced`;
  return undefined;
}

/** Options that tests may shorten. */
export interface FcntlHelperTiming {
  parentCheckMs?: number;
}

/**
 * Runs the helper. Resolves with the exit code once the lock was not
 * obtained; when it was, resolves only when the lock is given up.
 */
export async function runFcntlHelper(args: FcntlHelperArgs, timing: FcntlHelperTiming = {}): Promise<number> {
  if (process.ppid === 1) {
    say('parent is already gone (ppid 1), not taking the lock');
    return 1;
  }
  let fd: number;
  try {
    fd = openSync(args.file, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (err) {
    reportStatus(MutexStatus.ERROR);
    say(`cannot open lock file "${args.file}": ${oneLine(err)}`);
    return 0;
  }
  let got;
  try {
    got = tryWriteLockByte(fd, 0);
  } catch (err) {
    reportStatus(MutexStatus.ERROR);
    say(`cannot lock "${args.file}": ${oneLine(err)}`);
    closeSync(fd);
    return 0;
  }
  if (got === 'contended') {
    log.info({ file: args.file, holder: conflictingLockPid(fd, 0) }, 'lock held by another process');
    closeSync(fd);
    reportStatus(MutexStatus.CONTENDED);
    return 0;
  }
  reportStatus(MutexStatus.HELD);
  log.info({ file: args.file }, 'lock taken');
  return holdLock(args, fd, timing);
}

function holdLock(args: FcntlHelperArgs, fd: number, timing: FcntlHelperTiming): Promise<number> {
  return new Promise((resolve) => {
    let finished = false;
    let checking = false;
    const stops: Array<() => void> = [];
    const finish = (code: number, why: string): void => {
      if (finished) return;
      finished = true;
      for (const stop of stops) stop();
      log.info({ file: args.file, why }, 'giving up lock');
      // Closing the descriptor releases the lock.
      try { closeSync(fd); } catch { /* already closed */ }
      resolve(code);
    };
    const onTerm = (): void => finish(0, 'SIGTERM');
    process.once('SIGTERM', onTerm);
    stops.push(() => process.off('SIGTERM', onTerm));
    stops.push(watchParent((ppid) => finish(1, `parent ${ppid} died`), timing.parentCheckMs));

    const recheck = async (): Promise<void> => {
      if (checking || finished) return;
      checking = true;
      try {
        const bad = checkLockFile(args.file, fd);
        if (bad) {
          say(`lock lost - ${bad}`);
          finish(1, bad);
          return;
        }
        await probeFileSystem(fd, args.pingTimeoutSec);
      } catch (err) {
        say(`lock lost - file system check on "${args.file}" failed: ${oneLine(err)}`);
        finish(1, 'file system check failed');
      } finally {
        checking = false;
      }
    };
    if (args.recheckSec > 0) {
      const timer = setInterval(() => { void recheck(); }, args.recheckSec * 1000);
      stops.push(() => clearInterval(timer));
    }
  });
}

/**
 * Proves the file system still answers lock requests: a waiting write lock
 * on byte 1 through the locked descriptor, bounded by the ping timeout.
 */
async function probeFileSystem(fd: number, pingTimeoutSec: number): Promise<void> {
  const wait = writeLockByteWait(fd, 1);
  if (pingTimeoutSec > 0) {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CtdbError('ETIMEDOUT', `no answer within ${pingTimeoutSec}s`)), pingTimeoutSec * 1000);
    });
    try {
      await Promise.race([wait, deadline]);
    } finally {
      clearTimeout(timer);
    }
  } else {
    await wait;
  }
  unlockByte(fd, 1);
}
