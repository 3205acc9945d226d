import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipToBytes } from '../common/address.js';
import {
  buildSegment, internetChecksum, isOwnSegment, parseCaptured, tcpChecksum, TcpFlags, TICKLE_WINDOW,
  type Endpoint, type SegmentSpec,
} from './packet.js';

const v4 = (address: string, port: number): Endpoint => ({ address, port, family: 'inet' });
const v6 = (address: string, port: number): Endpoint => ({ address, port, family: 'inet6' });

/** Independent reference: sum 16-bit words of the concatenated pseudo-header and segment. */
function referenceTcpSum(pkt: Buffer, ipLen: number, src: string, dst: string): number {
  const s = Buffer.from(ipToBytes(src));
  const d = Buffer.from(ipToBytes(dst));
  const seg = pkt.subarray(ipLen);
  const pseudo = s.length === 4
    ? Buffer.concat([s, d, Buffer.from([0, 6, seg.length >> 8, seg.length & 0xff])])
    : Buffer.concat([s, d, Buffer.from([0, 0, seg.length >> 8, seg.length & 0xff, 0, 0, 0, 6])]);
  const all = Buffer.concat([pseudo, seg, Buffer.alloc(seg.length % 2)]);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += all.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum; // 0xffff when the stored checksum is right
}

describe('internetChecksum', () => {
  it('matches the RFC 1071 worked example', () => {
    // Words 0001 f203 f4f5 f6f7 sum to 0x2ddf0 -> folded 0xddf2 -> complement 0x220d.
    expect(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex'))).toBe(0x220d);
  });
  it('pads an odd tail with zero', () => {
    expect(internetChecksum(Buffer.from([0x01]))).toBe(0xfeff);
  });
});

describe('buildSegment', () => {
  it('builds an IPv4 tickle ACK with valid checksums and the window marker', () => {
    const spec: SegmentSpec = { src: v4('10.99.0.1', 40000), dst: v4('10.99.0.2', 445), seq: 0, ack: 0, rst: false };
    const p = buildSegment(spec);
    expect(p.length).toBe(40);
    expect(p[0]).toBe(0x45);
    expect(p.readUInt16BE(2)).toBe(40);
    expect(p[8]).toBe(255);
    expect(p[9]).toBe(6);
    expect([...p.subarray(12, 16)]).toEqual([10, 99, 0, 1]);
    expect([...p.subarray(16, 20)]).toEqual([10, 99, 0, 2]);
    expect(internetChecksum(p, 0, 20)).toBe(0);
    expect(p.readUInt16BE(20)).toBe(40000);
    expect(p.readUInt16BE(22)).toBe(445);
    expect(p[32]).toBe(0x50);
    expect(p[33]).toBe(TcpFlags.ACK);
    expect(p.readUInt16BE(34)).toBe(TICKLE_WINDOW);
    expect(referenceTcpSum(p, 20, '10.99.0.1', '10.99.0.2')).toBe(0xffff);
  });

  it('builds an IPv6 RST|ACK with the given numbers and a valid checksum', () => {
    const spec: SegmentSpec = { src: v6('fd99::1', 5000), dst: v6('fd99::2', 80), seq: 0xfffffffe, ack: 12345, rst: true };
    const p = buildSegment(spec);
    expect(p.length).toBe(60);
    expect(p[0]! >> 4).toBe(6);
    expect(p.readUInt16BE(4)).toBe(20);
    expect(p[6]).toBe(6);
    expect(p[7]).toBe(64);
    expect(p.readUInt32BE(44)).toBe(0xfffffffe);
    expect(p.readUInt32BE(48)).toBe(12345);
    expect(p[53]).toBe(TcpFlags.ACK | TcpFlags.RST);
    expect(referenceTcpSum(p, 40, 'fd99::1', 'fd99::2')).toBe(0xffff);
  });

  it('refuses mixed families', () => {
    expect(() => buildSegment({ src: v4('1.2.3.4', 1), dst: v6('::1', 2), seq: 0, ack: 0, rst: false }))
      .toThrow(/families differ/);
  });

  const endpoint4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => v4(a, p));
  const endpoint6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 65535 }))
    .map(([b, p]) => v6(parseCaptured(Buffer.concat([Buffer.from([0x60, 0, 0, 0, 0, 20, 6, 64]), Buffer.from(b), Buffer.from(b), Buffer.alloc(20)]))!.src.address, p));
  const pair = fc.oneof(fc.tuple(endpoint4, endpoint4), fc.tuple(endpoint6, endpoint6));

  it('parses back what it builds, with checksums that verify', () => {
    fc.assert(fc.property(pair, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.boolean(),
      ([src, dst], seq, ack, rst) => {
        const p = buildSegment({ src, dst, seq, ack, rst });
        const ipLen = src.family === 'inet' ? 20 : 40;
        expect(tcpChecksum(p, ipLen, p.length, ipToBytes(src.address), ipToBytes(dst.address))).toBe(0);
        expect(referenceTcpSum(p, ipLen, src.address, dst.address)).toBe(0xffff);
        const s = parseCaptured(p)!;
        expect(s).toEqual({ src, dst, seq, ack, flags: TcpFlags.ACK | (rst ? TcpFlags.RST : 0), window: TICKLE_WINDOW });
        expect(isOwnSegment(s)).toBe(rst || seq === 0);
      }), { numRuns: 300 });
  });
});

describe('parseCaptured', () => {
  const good = (): Buffer => buildSegment({ src: v4('1.2.3.4', 1), dst: v4('5.6.7.8', 2), seq: 7, ack: 9, rst: false });

  it.each([
    ['empty', (): Buffer => Buffer.alloc(0)],
    ['not IP (ARP-like)', (): Buffer => Buffer.from('0001080006040001', 'hex')],
    ['UDP', (): Buffer => { const p = good(); p[9] = 17; return p; }],
    ['a later fragment', (): Buffer => { const p = good(); p.writeUInt16BE(0x0010, 6); return p; }],
    ['a first fragment with more to come', (): Buffer => { const p = good(); p.writeUInt16BE(0x2000, 6); return p; }],
    ['truncated TCP header', (): Buffer => good().subarray(0, 30)],
    ['IPv6 with an extension header', (): Buffer => {
      const p = buildSegment({ src: v6('::1', 1), dst: v6('::2', 2), seq: 1, ack: 1, rst: false }); p[6] = 0; return p;
    }],
  ])('ignores %s', (_name, make) => {
    expect(parseCaptured(make())).toBeUndefined();
  });

  it('accepts a whole packet with Don\'t Fragment set and honours IHL options', () => {
    const base = good();
    base.writeUInt16BE(0x4000, 6);
    expect(parseCaptured(base)?.seq).toBe(7);
    // Same packet with 4 bytes of IP options.
    const opt = Buffer.concat([base.subarray(0, 20), Buffer.from([1, 1, 1, 0]), base.subarray(20)]);
    opt[0] = 0x46;
    expect(parseCaptured(opt)).toMatchObject({ seq: 7, ack: 9, src: { port: 1 }, dst: { port: 2 } });
  });

  it('uses only the given length of a reused buffer', () => {
    const p = good();
    const big = Buffer.concat([p, Buffer.alloc(100, 0xff)]);
    expect(parseCaptured(big, 30)).toBeUndefined();
    expect(parseCaptured(big, p.length)?.ack).toBe(9);
  });

  it('tells our own packets from the server\'s answers', () => {
    const answer = { src: v4('5.6.7.8', 2), dst: v4('1.2.3.4', 1), seq: 0, ack: 0, flags: TcpFlags.ACK, window: TICKLE_WINDOW };
    expect(isOwnSegment(answer)).toBe(true);
    expect(isOwnSegment({ ...answer, seq: 5 })).toBe(false);
    expect(isOwnSegment({ ...answer, seq: 5, flags: TcpFlags.RST | TcpFlags.ACK })).toBe(true);
    expect(isOwnSegment({ ...answer, window: 64240 })).toBe(false);
  });
});
