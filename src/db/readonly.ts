/**
 * Read-only delegations (record-model.md §5), the pure parts: the delegate
 * bitmap kept per record in the tracking database `<name>.RO`, and the
 * headers a dmaster hands out, keeps and sends when it revokes.
 *
 * Bitmap: byte `pnn / 8`, bit `pnn % 8` set for every node holding a
 * read-only copy. The dmaster's copy carries RO_HAVE_DELEGATIONS while
 * delegations are out; a delegate's copy carries RO_HAVE_READONLY and names
 * the dmaster, so it redirects like any other non-dmaster copy and local
 * readers may use it without migration until a revoke replaces it.
 */
import { RecordFlag } from '../protocol/constants.js';
import type { LtdbHeader } from '../protocol/records.js';

/** Every read-only flag of a record header. */
export const RO_FLAGS = RecordFlag.RO_HAVE_DELEGATIONS | RecordFlag.RO_HAVE_READONLY
  | RecordFlag.RO_REVOKING_READONLY | RecordFlag.RO_REVOKE_COMPLETE;

/** `bitmap` with `pnn` added (a new buffer, grown as needed). Throws RangeError for a negative pnn. */
export function addDelegate(bitmap: Buffer | undefined, pnn: number): Buffer {
  if (!Number.isInteger(pnn) || pnn < 0) throw new RangeError(`bad pnn ${pnn}`);
  const byte = pnn >>> 3;
  const out = Buffer.alloc(Math.max(bitmap?.length ?? 0, byte + 1));
  bitmap?.copy(out);
  out[byte]! |= 1 << (pnn & 7);
  return out;
}

/** The pnns set in `bitmap`, ascending. */
export function delegatesOf(bitmap: Buffer | undefined): number[] {
  const out: number[] = [];
  if (!bitmap) return out;
  for (let i = 0; i < bitmap.length; i++) {
    for (let b = 0; b < 8; b++) if ((bitmap[i]! & (1 << b)) !== 0) out.push(i * 8 + b);
  }
  return out;
}

/** The header of the read-only copy dmaster `dmaster` hands out for its record `header`. */
export function delegateHeader(header: LtdbHeader, dmaster: number): LtdbHeader {
  return { rsn: header.rsn, dmaster, flags: (header.flags & ~RO_FLAGS) | RecordFlag.RO_HAVE_READONLY };
}

/** True when a node other than the dmaster may read its local copy (`header`) without asking. */
export function readableDelegation(header: LtdbHeader): boolean {
  return (header.flags & RecordFlag.RO_HAVE_READONLY) !== 0
    && (header.flags & (RecordFlag.RO_REVOKING_READONLY | RecordFlag.RO_REVOKE_COMPLETE)) === 0;
}

/** True when the dmaster must revoke before it hands its record (`header`) out for writing. */
export function needsRevoke(header: LtdbHeader): boolean {
  return (header.flags & (RecordFlag.RO_HAVE_DELEGATIONS | RecordFlag.RO_REVOKING_READONLY)) !== 0;
}

/** The header a revoke sends to every delegate: the record as the dmaster has it, no read-only flags. */
export function revokedHeader(header: LtdbHeader, dmaster: number): LtdbHeader {
  return { rsn: header.rsn, dmaster, flags: header.flags & ~RO_FLAGS };
}

/** The dmaster's header once a revoke completed: rsn + 1, read-only flags cleared. */
export function afterRevokeHeader(header: LtdbHeader): LtdbHeader {
  return { rsn: header.rsn + 1n, dmaster: header.dmaster, flags: header.flags & ~RO_FLAGS };
}
