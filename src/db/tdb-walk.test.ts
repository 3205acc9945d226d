import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TdbFile } from './tdb.js';

describe('TdbFile key walk (firstKey / nextKey)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdb-walk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('visits every key once, can pause between keys, and ends with undefined', async () => {
    const t = TdbFile.open(join(dir, 'a.tdb'), { hashSize: 7 });
    try {
      expect(t.firstKey()).toBeUndefined();
      const want = new Set(Array.from({ length: 500 }, (_, i) => `k${i}`));
      for (const k of want) t.store(Buffer.from(k), Buffer.from('v'));
      expect(t.fetch(Buffer.from('absent'))).toBeUndefined(); // leaves NOEXIST behind: the walk must not mind
      const seen: string[] = [];
      for (let k = t.firstKey(); k; k = t.nextKey(k)) {
        seen.push(k.toString());
        if (seen.length % 100 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(seen.length).toBe(500);
      expect(new Set(seen)).toEqual(want);
    } finally { t.close(); }
  });
});

describe('TdbFile chain walk (walkChains)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdb-chains-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('visits every record once with its key and data, in resumable chain slices', () => {
    const t = TdbFile.open(join(dir, 'c.tdb'), { hashSize: 13 });
    try {
      const want = new Map(Array.from({ length: 300 }, (_, i) => [`key-${i}`, 'x'.repeat(i % 7) + `value-${i}`]));
      want.set('', 'empty key');
      want.set('empty value', '');
      for (const [k, v] of want) t.store(Buffer.from(k), Buffer.from(v));
      t.delete(Buffer.from('key-5')); want.delete('key-5');
      const seen = new Map<string, string>();
      let slices = 0;
      for (let chain = 0; chain < t.hashSize; slices++) {
        let budget = 3;
        chain = t.walkChains(chain, (kv, klen) => {
          const s = Buffer.from(kv).toString();
          expect(seen.has(s.slice(0, klen))).toBe(false);
          seen.set(s.slice(0, klen), s.slice(klen));
        }, () => budget-- > 0);
      }
      expect(slices).toBe(5);
      expect(seen).toEqual(want);
      expect(t.walkChains(t.hashSize, () => {}, () => true)).toBe(13);
    } finally { t.close(); }
  });

  it('rethrows an exception from the callback and stops the walk', () => {
    const t = TdbFile.open(join(dir, 'd.tdb'), { hashSize: 3 });
    try {
      for (let i = 0; i < 20; i++) t.store(Buffer.from(`k${i}`), Buffer.from('v'));
      let calls = 0;
      expect(() => t.walkChains(0, () => { calls++; throw new Error('stop here'); }, () => true)).toThrow('stop here');
      expect(calls).toBe(1);
      expect(t.fetch(Buffer.from('k1'))?.toString()).toBe('v'); // chain lock released
    } finally { t.close(); }
  });
});

describe('TdbFile chain copy (copyChains)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdb-copy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every chosen record\'s key and data where asked, in resumable slices', () => {
    const t = TdbFile.open(join(dir, 'e.tdb'), { hashSize: 11 });
    try {
      const want = new Map(Array.from({ length: 200 }, (_, i) => [`key-${i}`, 'v'.repeat(i % 9) + `-${i}`]));
      want.set('skip-me-please', 'x');
      for (const [k, v] of want) t.store(Buffer.from(k), Buffer.from(v));
      want.delete('skip-me-please');
      const out = Buffer.alloc(20_000);
      let off = 0;
      const spans: Array<[number, number, number]> = [];
      for (let chain = 0; chain < t.hashSize;) {
        let budget = 4;
        chain = t.copyChains(chain, (klen, dlen) => {
          if (klen === 14) return undefined; // 'skip-me-please'
          spans.push([off, klen, dlen]);
          const dst = out.subarray(off, off + klen + dlen);
          off += klen + dlen;
          return dst;
        }, () => budget-- > 0);
      }
      const seen = new Map(spans.map(([o, kl, dl]) => [out.toString('utf8', o, o + kl), out.toString('utf8', o + kl, o + kl + dl)]));
      expect(seen).toEqual(want);
    } finally { t.close(); }
  });

  it('refuses a target too small for the record', () => {
    const t = TdbFile.open(join(dir, 'f.tdb'), { hashSize: 3 });
    try {
      t.store(Buffer.from('key'), Buffer.from('value'));
      expect(() => t.copyChains(0, () => Buffer.alloc(4), () => true)).toThrow(/4-byte target for a 8-byte record/);
    } finally { t.close(); }
  });
});

describe('TdbFile.storeFrom', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdb-storefrom-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores spans of one buffer as key and data, and refuses spans outside it', () => {
    const t = TdbFile.open(join(dir, 'g.tdb'), { hashSize: 7 });
    try {
      const big = Buffer.from('..alpha:one..beta:two-longer..');
      t.storeFrom(big, 2, 5, 8, 3);
      t.storeFrom(big.subarray(13), 0, 4, 5, 10);
      t.storeFrom(big, 2, 5, 8, 0);
      expect(t.fetch(Buffer.from('alpha'))?.length).toBe(0);
      expect(t.fetch(Buffer.from('beta'))?.toString()).toBe('two-longer');
      expect(() => t.storeFrom(big, 25, 10, 0, 1)).toThrow(/outside the 30-byte buffer/);
      expect(t.keys().length).toBe(2);
    } finally { t.close(); }
  });
});
