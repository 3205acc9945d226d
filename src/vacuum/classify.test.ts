import { describe, expect, it } from 'vitest';
import { RecordFlag } from '../protocol/constants.js';
import { classifyCandidate, mayDeleteRemoteCopy } from './classify.js';

const rec = (rsn: number, dmaster: number, flags = 0, dataLength = 0) => ({ header: { rsn: BigInt(rsn), dmaster, flags }, dataLength });
const M = RecordFlag.MIGRATED_WITH_DATA;

describe('classifyCandidate (me = 1)', () => {
  it.each([
    { why: 'gone', r: undefined, exp: undefined, lm: 1, act: 'skip' },
    { why: 'has data again', r: rec(3, 1, 0, 5), exp: undefined, lm: 1, act: 'skip' },
    { why: 'migrated away', r: rec(3, 2), exp: undefined, lm: 1, act: 'skip' },
    { why: 'rsn changed since scheduled', r: rec(4, 1), exp: 3n, lm: 1, act: 'skip' },
    { why: 'read-only delegations', r: rec(3, 1, RecordFlag.RO_HAVE_DELEGATIONS), exp: undefined, lm: 1, act: 'skip' },
    { why: 'lmaster, never left with data', r: rec(3, 1), exp: 3n, lm: 1, act: 'delete-local' },
    { why: 'lmaster, migrated with data', r: rec(3, 1, M), exp: undefined, lm: 1, act: 'delete-list' },
    { why: 'not lmaster', r: rec(3, 1, M), exp: 3n, lm: 0, act: 'fetch' },
  ])('$why -> $act', ({ r, exp, lm, act }) => {
    expect(classifyCandidate(r, exp, 1, lm)).toBe(act);
  });
});

describe('mayDeleteRemoteCopy (me = 2)', () => {
  const given = { rsn: 5n, dmaster: 0, flags: M };
  it.each([
    { why: 'already gone', local: undefined, lm: 0, ok: true },
    { why: 'stale copy', local: rec(4, 0, 0, 3), lm: 0, ok: true },
    { why: 'same rsn', local: rec(5, 0), lm: 0, ok: true },
    { why: 'newer local rsn', local: rec(6, 0), lm: 0, ok: false },
    { why: 'we are lmaster', local: rec(4, 0), lm: 2, ok: false },
    { why: 'we are dmaster', local: rec(4, 2), lm: 0, ok: false },
    { why: 'read-only copy', local: rec(4, 0, RecordFlag.RO_HAVE_READONLY), lm: 0, ok: false },
  ])('$why -> $ok', ({ local, lm, ok }) => {
    expect(mayDeleteRemoteCopy(local, given, 2, lm)).toBe(ok);
  });
});
