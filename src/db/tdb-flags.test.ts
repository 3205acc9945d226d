import { describe, expect, it } from 'vitest';
import { TdbFlag, errnoNameForTdbError, persistentOpenFlags, tdbFlagNames, volatileOpenFlags } from './tdb-flags.js';

describe('TDB flags', () => {
  it('has tdb.h values (one bit each, in order)', () => {
    const bits = Object.entries(TdbFlag).filter(([n]) => n !== 'DEFAULT').map(([, v]) => v);
    expect(bits).toEqual(bits.map((_, i) => 1 << i));
    expect(TdbFlag.MUTEX_LOCKING).toBe(4096);
    expect(TdbFlag.INCOMPATIBLE_HASH).toBe(2048);
  });

  it.each([
    [true, 0x1c41],
    [false, 0x0c41],
  ])('volatileOpenFlags(mutexes=%s) = %s', (mutexes, want) => {
    expect(volatileOpenFlags(mutexes)).toBe(want);
  });

  it('persistentOpenFlags() = 0x400', () => {
    expect(persistentOpenFlags()).toBe(0x400);
  });

  it.each([
    [0, 'DEFAULT'],
    [0x1c41, 'CLEAR_IF_FIRST|NOSYNC|DISALLOW_NESTING|INCOMPATIBLE_HASH|MUTEX_LOCKING'],
    [0x400, 'DISALLOW_NESTING'],
    [0x10003, 'CLEAR_IF_FIRST|INTERNAL|0x10000'],
  ])('tdbFlagNames(%s) = %s', (flags, want) => {
    expect(tdbFlagNames(flags)).toBe(want);
  });

  it.each([
    [1, 'EIO'], [3, 'EAGAIN'], [5, 'EEXIST'], [8, 'ENOENT'], [11, 'EBUSY'], [99, 'EIO'],
  ])('tdb error %s reports as %s', (code, name) => {
    expect(errnoNameForTdbError(code)).toBe(name);
  });
});
