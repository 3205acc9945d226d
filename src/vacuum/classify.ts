/**
 * Pure vacuum decisions (record-model.md §7): what to do with a record
 * scheduled for deletion, and whether a remote copy may be deleted on a
 * TRY_DELETE_RECORDS request.
 */
import { RecordFlag } from '../protocol/constants.js';
import type { LtdbHeader } from '../protocol/records.js';

/** What the vacuuming node does with one candidate. */
export type VacuumAction = 'skip' | 'delete-local' | 'delete-list' | 'fetch';

const RO_FLAGS = RecordFlag.RO_HAVE_DELEGATIONS | RecordFlag.RO_HAVE_READONLY | RecordFlag.RO_REVOKING_READONLY | RecordFlag.RO_REVOKE_COMPLETE;

/** A local record as the vacuum sees it. */
export interface LocalRecord { header: LtdbHeader; dataLength: number }

/**
 * Classifies a delete-queue (or traverse) candidate. Skipped when the record
 * is gone, has data again, moved away, has read-only delegations, or its RSN
 * is no longer the one scheduled (`expectedRsn`, undefined = any). Otherwise:
 * on its lmaster, deleted at once when it never left with data, else via the
 * delete list (other nodes first); elsewhere, fetched to its lmaster.
 */
export function classifyCandidate(rec: LocalRecord | undefined, expectedRsn: bigint | undefined, me: number, lmaster: number): VacuumAction {
  if (!rec || rec.dataLength > 0 || rec.header.dmaster !== me) return 'skip';
  if (expectedRsn !== undefined && rec.header.rsn !== expectedRsn) return 'skip';
  if (rec.header.flags & RO_FLAGS) return 'skip';
  if (lmaster !== me) return 'fetch';
  return rec.header.flags & RecordFlag.MIGRATED_WITH_DATA ? 'delete-list' : 'delete-local';
}

/**
 * TRY_DELETE_RECORDS on a remote node: may its copy go? Yes when it is
 * already gone; otherwise only when this node is neither lmaster nor dmaster,
 * its RSN is not newer than the lmaster's, and neither side has read-only
 * flags. (The caller also needs the record lock without waiting.)
 */
export function mayDeleteRemoteCopy(local: LocalRecord | undefined, given: LtdbHeader, me: number, lmaster: number): boolean {
  if (!local) return true;
  if (lmaster === me || local.header.dmaster === me) return false;
  if (local.header.rsn > given.rsn) return false;
  if ((local.header.flags | given.flags) & RO_FLAGS) return false;
  return true;
}
