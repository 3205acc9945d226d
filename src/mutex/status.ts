/**
 * The one-character stdout protocol every cluster-lock helper speaks, and
 * the argument parsing of the bundled helpers (pure, no I/O).
 */
import { CtdbError } from '../common/errors.js';

/** Status characters a cluster-lock helper prints (exactly one, no newline). */
export const MutexStatus = {
  HELD: '0',
  CONTENDED: '1',
  TIMEOUT: '2',
  ERROR: '3',
} as const;
export type MutexStatusChar = (typeof MutexStatus)[keyof typeof MutexStatus];

/** What the daemon makes of a helper's first character. */
export type TakeResult = 'held' | 'contended' | 'timeout' | 'error';

/** Maps one status character to a result; anything unknown is 'error'. */
export function decodeMutexStatus(ch: string): TakeResult {
  switch (ch) {
    case MutexStatus.HELD: return 'held';
    case MutexStatus.CONTENDED: return 'contended';
    case MutexStatus.TIMEOUT: return 'timeout';
    default: return 'error';
  }
}

/** Arguments of `ctdb_mutex_fcntl_helper FILE [RECHECK_INTERVAL [PING_TIMEOUT]]`. */
export interface FcntlHelperArgs {
  file: string;
  /** Seconds between checks that the lock file is still ours; 0 disables. */
  recheckSec: number;
  /** Seconds the file system may take to grant the byte-1 probe lock; 0 = no limit. */
  pingTimeoutSec: number;
}

export const FCNTL_HELPER_USAGE = 'Usage: ctdb_mutex_fcntl_helper FILE [RECHECK_INTERVAL [PING_TIMEOUT]]';

function parseSeconds(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new CtdbError('EINVAL', `invalid ${what} '${text}' (whole seconds expected)`);
  const n = Number(text);
  if (n > 86_400) throw new CtdbError('EINVAL', `${what} '${text}' is too large (at most 86400)`);
  return n;
}

/** Parses the fcntl helper's positional arguments; throws CtdbError('EINVAL') with the reason. */
export function parseFcntlHelperArgs(argv: readonly string[]): FcntlHelperArgs {
  if (argv.length < 1 || argv.length > 3) throw new CtdbError('EINVAL', `wrong number of arguments. ${FCNTL_HELPER_USAGE}`);
  const [file, recheck, ping] = argv as [string, string?, string?];
  if (file === '') throw new CtdbError('EINVAL', 'empty lock file name');
  return {
    file,
    recheckSec: recheck === undefined ? 5 : parseSeconds(recheck, 'recheck interval'),
    pingTimeoutSec: ping === undefined ? 0 : parseSeconds(ping, 'ping timeout'),
  };
}
