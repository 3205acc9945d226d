import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Reader, writeAll } from './buffer.js';
import { parseIp } from '../common/address.js';
import { decodeSockAddr, encodeSockAddr, SOCK_ADDR_SIZE, type SockAddr } from './sock-addr.js';
import { decodeRecBuffer, encodeRecBuffer, type RecBuffer } from './records.js';

describe('sock_addr', () => {
  it('matches the spec example 127.0.0.81:4379', () => {
    const b = writeAll(encodeSockAddr, { family: 'inet', address: '127.0.0.81', port: 4379 });
    expect(b.toString('hex')).toBe('0200111b7f000051' + '00'.repeat(20));
  });

  it('lays out IPv6 as family, port, flowinfo, address, scope id', () => {
    const b = writeAll(encodeSockAddr, { family: 'inet6', address: 'fe80::1', port: 445, flowinfo: 5, scopeId: 3 });
    expect(b.toString('hex')).toBe('0a00' + '01bd' + '05000000' + 'fe800000000000000000000000000001' + '03000000');
  });

  const port = fc.integer({ min: 0, max: 65535 });
  const addr: fc.Arbitrary<SockAddr> = fc.oneof(
    fc.record({ family: fc.constant('inet' as const), address: fc.ipV4(), port }),
    fc.record({ family: fc.constant('inet6' as const), address: fc.ipV6(), port }),
  );

  it('property: any address round-trips through 28 bytes to its canonical text', () => {
    fc.assert(fc.property(addr, (a) => {
      const b = writeAll(encodeSockAddr, a);
      expect(b.length).toBe(SOCK_ADDR_SIZE);
      const r = new Reader(b);
      expect(decodeSockAddr(r)).toEqual({ ...a, address: parseIp(a.address) });
      expect(r.remaining).toBe(0);
    }), { numRuns: 300 });
  });
});

describe('rec_buffer', () => {
  const rec = fc.record({
    reqid: fc.integer({ min: 0, max: 0xFFFFFFFF }),
    key: fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    data: fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
  });
  const buf: fc.Arbitrary<RecBuffer> = fc.record({
    dbId: fc.integer({ min: 0, max: 0xFFFFFFFF }),
    records: fc.array(rec, { maxLength: 20 }),
  });

  it('property: round-trips, size is 8 + Σ(16 + key + data), and every truncation throws', () => {
    fc.assert(fc.property(buf, (v) => {
      const b = writeAll(encodeRecBuffer, v);
      expect(b.length).toBe(8 + v.records.reduce((a, r) => a + 16 + r.key.length + r.data.length, 0));
      const r = new Reader(b);
      expect(decodeRecBuffer(r)).toEqual(v);
      expect(r.remaining).toBe(0);
      if (v.records.length > 0) {
        const cut = b.length - 1;
        expect(() => decodeRecBuffer(new Reader(b.subarray(0, cut)))).toThrow(/truncated|exceeds|too small/);
      }
    }), { numRuns: 200 });
  });
});
