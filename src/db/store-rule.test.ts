import { describe, expect, it } from 'vitest';
import { RecordFlag as F } from '../protocol/constants.js';
import { decideStore } from './store-rule.js';

const h = (dmaster: number, flags = 0) => ({ rsn: 3n, dmaster, flags });

describe('decideStore (me = 1)', () => {
  it.each([
    { why: 'has data', hdr: h(2), len: 4, lm: 0, exp: 'keep' },
    { why: 'read-only flag', hdr: h(2, F.RO_HAVE_READONLY), len: 0, lm: 0, exp: 'keep' },
    { why: 'automatic (initial record on the lmaster)', hdr: h(1, F.AUTOMATIC), len: 0, lm: 1, exp: 'keep-and-schedule' },
    { why: 'migrated with data, moved away', hdr: h(2, F.MIGRATED_WITH_DATA), len: 0, lm: 0, exp: 'keep' },
    { why: 'migrated with data, ours', hdr: h(1, F.MIGRATED_WITH_DATA), len: 0, lm: 0, exp: 'keep-and-schedule' },
    { why: 'lmaster, someone else dmaster', hdr: h(2), len: 0, lm: 1, exp: 'keep' },
    { why: 'lmaster, vacuum-migrated here, never had data', hdr: h(1, F.VACUUM_MIGRATED), len: 0, lm: 1, exp: 'delete' },
    { why: 'lmaster and dmaster, plain delete', hdr: h(1), len: 0, lm: 1, exp: 'keep-and-schedule' },
    { why: 'not lmaster, dmaster', hdr: h(1), len: 0, lm: 0, exp: 'keep-and-schedule' },
    { why: 'not lmaster, moved away empty, never had data', hdr: h(2), len: 0, lm: 0, exp: 'delete' },
  ])('$why -> $exp', ({ hdr, len, lm, exp }) => {
    expect(decideStore(hdr, len, 1, lm)).toBe(exp);
  });
});
