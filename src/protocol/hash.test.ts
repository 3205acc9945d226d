import { describe, expect, it } from 'vitest';
import { dbIdForName, jenkinsHash } from './hash.js';

describe('jenkinsHash (lookup3 hashlittle, initval 0)', () => {
  it.each([
    ['k1', 0xeb04426d], ['k2', 0x5a4ac072], ['key1', 0x1de0df49],
  ])('key %s (spec §7)', (k, h) => { expect(jenkinsHash(Buffer.from(k))).toBe(h); });

  it('matches lookup3 published self-test values', () => {
    expect(jenkinsHash(new Uint8Array(0))).toBe(0xdeadbeef);
    expect(jenkinsHash(Buffer.from('Four score and seven years ago'))).toBe(0x17770551);
  });

  it('covers every tail length 0..12 over a block boundary without collisions in this set', () => {
    const seen = new Set<number>();
    const src = Buffer.from('abcdefghijklmnopqrstuvwxyz0');
    for (let n = 0; n <= 26; n++) {
      const h = jenkinsHash(src.subarray(0, n));
      expect(Number.isInteger(h) && h >= 0 && h <= 0xFFFFFFFF).toBe(true);
      seen.add(h);
    }
    expect(seen.size).toBe(27);
  });
});

describe('dbIdForName (hash over the name and its NUL)', () => {
  it.each([
    ['testvol.tdb', 0x10120015], ['testpers.tdb', 0x93d4dbdc], ['g_lock.tdb', 0x4d2a432b], ['', 0x8ba9414b],
  ])('%s', (name, id) => { expect(dbIdForName(name)).toBe(id); });
});
