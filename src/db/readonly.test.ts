import { describe, expect, it } from 'vitest';
import { RecordFlag } from '../protocol/constants.js';
import {
  RO_FLAGS, addDelegate, afterRevokeHeader, delegateHeader, delegatesOf, needsRevoke, readableDelegation, revokedHeader,
} from './readonly.js';

describe('delegate bitmap (byte pnn/8, bit pnn%8)', () => {
  it.each([
    [[0], '01'], [[1], '02'], [[7], '80'], [[8], '0001'], [[1, 2], '06'], [[3, 9, 17], '080202'], [[2, 2], '04'],
  ])('pnns %j -> %s', (pnns, hex) => {
    let b: Buffer | undefined;
    for (const p of pnns) b = addDelegate(b, p);
    expect(b!.toString('hex')).toBe(hex);
    expect(delegatesOf(b)).toEqual([...new Set(pnns)].sort((x, y) => x - y));
  });
  it('keeps the bytes it was given and grows only when needed', () => {
    const a = addDelegate(undefined, 12);
    const b = addDelegate(a, 0);
    expect(a.toString('hex')).toBe('0010');
    expect(b.toString('hex')).toBe('0110');
    expect(delegatesOf(undefined)).toEqual([]);
    expect(() => addDelegate(undefined, -1)).toThrow(RangeError);
  });
});

describe('read-only headers', () => {
  const h = { rsn: 7n, dmaster: 2, flags: RecordFlag.MIGRATED_WITH_DATA | RecordFlag.RO_HAVE_DELEGATIONS };
  it('a delegate copy names the dmaster, keeps the rsn and only RO_HAVE_READONLY of the RO flags', () => {
    expect(delegateHeader(h, 2)).toEqual({ rsn: 7n, dmaster: 2, flags: RecordFlag.MIGRATED_WITH_DATA | RecordFlag.RO_HAVE_READONLY });
  });
  it('only a delegation not being revoked is readable locally', () => {
    expect(readableDelegation({ rsn: 1n, dmaster: 0, flags: RecordFlag.RO_HAVE_READONLY })).toBe(true);
    expect(readableDelegation({ rsn: 1n, dmaster: 0, flags: RecordFlag.RO_HAVE_READONLY | RecordFlag.RO_REVOKING_READONLY })).toBe(false);
    expect(readableDelegation({ rsn: 1n, dmaster: 0, flags: 0 })).toBe(false);
  });
  it('a dmaster revokes while delegations are out or a revoke runs', () => {
    expect(needsRevoke(h)).toBe(true);
    expect(needsRevoke({ rsn: 1n, dmaster: 0, flags: RecordFlag.RO_REVOKING_READONLY })).toBe(true);
    expect(needsRevoke({ rsn: 1n, dmaster: 0, flags: RecordFlag.MIGRATED_WITH_DATA })).toBe(false);
  });
  it('revoke sends the record without RO flags and ends with rsn + 1', () => {
    expect(revokedHeader(h, 2)).toEqual({ rsn: 7n, dmaster: 2, flags: RecordFlag.MIGRATED_WITH_DATA });
    const done = afterRevokeHeader({ ...h, flags: h.flags | RecordFlag.RO_REVOKING_READONLY });
    expect(done).toEqual({ rsn: 8n, dmaster: 2, flags: RecordFlag.MIGRATED_WITH_DATA });
    expect(done.flags & RO_FLAGS).toBe(0);
  });
});
