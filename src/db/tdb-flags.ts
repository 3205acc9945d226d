/**
 * TDB open flags and store modes, with the values libtdb 1.4 uses (tdb.h), and
 * the flag sets CTDB opens its local databases with (wire-protocol.md §7).
 * Pure: no native code here, so anything may import it.
 */

/** `tdb_flags` bits passed to tdb_open_ex and returned by tdb_get_flags. */
export const TdbFlag = {
  DEFAULT: 0,
  CLEAR_IF_FIRST: 1,
  INTERNAL: 2,
  NOLOCK: 4,
  NOMMAP: 8,
  CONVERT: 16,
  BIGENDIAN: 32,
  NOSYNC: 64,
  SEQNUM: 128,
  VOLATILE: 256,
  ALLOW_NESTING: 512,
  DISALLOW_NESTING: 1024,
  INCOMPATIBLE_HASH: 2048,
  MUTEX_LOCKING: 4096,
} as const;
export type TdbFlagName = keyof typeof TdbFlag;

/** The `flag` argument of tdb_store. */
export const TdbStoreFlag = { replace: 1, insert: 2, modify: 3 } as const;
export type TdbStoreMode = keyof typeof TdbStoreFlag;

/** libtdb's error codes (enum TDB_ERROR) with the errno name this project reports them as. */
export const TdbErrorCode = {
  SUCCESS: 0, CORRUPT: 1, IO: 2, LOCK: 3, OOM: 4, EXISTS: 5, NOLOCK: 6,
  LOCK_TIMEOUT: 7, NOEXIST: 8, EINVAL: 9, RDONLY: 10, NESTING: 11,
} as const;

const errnoForTdbError: Record<number, string> = {
  1: 'EIO', 2: 'EIO', 3: 'EAGAIN', 4: 'ENOMEM', 5: 'EEXIST', 6: 'ENOLCK',
  7: 'ETIMEDOUT', 8: 'ENOENT', 9: 'EINVAL', 10: 'EROFS', 11: 'EBUSY',
};

/** The errno name for a libtdb error code (`EIO` for anything unknown). */
export function errnoNameForTdbError(code: number): string {
  return errnoForTdbError[code] ?? 'EIO';
}

/**
 * Flags for a volatile database: CLEAR_IF_FIRST | NOSYNC | DISALLOW_NESTING |
 * INCOMPATIBLE_HASH, plus MUTEX_LOCKING when robust mutexes work on this host
 * (0x1c41 with mutexes, 0x0c41 without).
 */
export function volatileOpenFlags(mutexes: boolean): number {
  const base = TdbFlag.CLEAR_IF_FIRST | TdbFlag.NOSYNC | TdbFlag.DISALLOW_NESTING | TdbFlag.INCOMPATIBLE_HASH;
  return mutexes ? base | TdbFlag.MUTEX_LOCKING : base;
}

/** Flags for a persistent or replicated database: DISALLOW_NESTING (0x400). */
export function persistentOpenFlags(): number {
  return TdbFlag.DISALLOW_NESTING;
}

/** Names of the bits set in `flags`, `|`-joined in bit order (`DEFAULT` for 0, unknown bits as hex). */
export function tdbFlagNames(flags: number): string {
  if (flags === 0) return 'DEFAULT';
  const names: string[] = [];
  let rest = flags >>> 0;
  for (const [name, bit] of Object.entries(TdbFlag)) {
    if (bit !== 0 && (rest & bit) === bit) { names.push(name); rest &= ~bit; }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}
