/**
 * The store/delete decision of a volatile record on its local daemon
 * (record-model.md §2): whether a record being stored is kept in the local
 * TDB or deleted from it, and whether a kept one goes on the delete queue.
 * Pure; `header.flags` still carries the transfer-only flags (AUTOMATIC,
 * VACUUM_MIGRATED) that are cleared before writing.
 */
import { RecordFlag } from '../protocol/constants.js';
import type { LtdbHeader } from '../protocol/records.js';

const RO_FLAGS = RecordFlag.RO_HAVE_DELEGATIONS | RecordFlag.RO_HAVE_READONLY | RecordFlag.RO_REVOKING_READONLY | RecordFlag.RO_REVOKE_COMPLETE;

/** What happens to a record being stored on node `me`. */
export type StoreDecision = 'keep' | 'keep-and-schedule' | 'delete';

/**
 * Kept when it has data, read-only flags, AUTOMATIC or MIGRATED_WITH_DATA;
 * else on its lmaster unless it arrived there by a vacuum migration; else
 * when this node is its dmaster. A kept empty record this node is dmaster
 * of (and an AUTOMATIC one) is scheduled for deletion; anything else is deleted.
 */
export function decideStore(header: LtdbHeader, dataLength: number, me: number, lmaster: number): StoreDecision {
  const f = header.flags;
  let keep: boolean;
  if (dataLength > 0 || (f & RO_FLAGS) !== 0) return 'keep';
  if (f & RecordFlag.AUTOMATIC) return 'keep-and-schedule';
  if (f & RecordFlag.MIGRATED_WITH_DATA) keep = true;
  else if (lmaster === me) keep = !((f & RecordFlag.VACUUM_MIGRATED) !== 0 && header.dmaster === me);
  else keep = header.dmaster === me;
  if (!keep) return 'delete';
  return header.dmaster === me ? 'keep-and-schedule' : 'keep';
}
