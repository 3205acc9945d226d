/**
 * Fuzzing of every wire codec, the packet decoder and the stream framer with
 * random bytes, truncations and bit flips of valid encodings: only CtdbError
 * may be thrown, and every input is consumed in bounded time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader, writeAll } from '../../src/protocol/buffer.js';
import { PacketFramer } from '../../src/protocol/framer.js';
import { decodePacket, encodePacket, type Packet } from '../../src/protocol/packets.js';
import { controlCodecs, messageCodecs, payloadCodecs, type Codec } from '../../src/protocol/payloads.js';
import { Operation } from '../../src/protocol/constants.js';
import { expectClean, RUNS } from './expect-clean.js';

/** Every distinct codec reachable from the codec tables. */
function allCodecs(): Codec[] {
  const seen = new Map<string, Codec>();
  const add = (c: Codec | undefined): void => { if (c && !seen.has(c.name)) seen.set(c.name, c); };
  for (const c of Object.values(payloadCodecs)) add(c as Codec);
  for (const c of Object.values(controlCodecs)) { add(c.request); add(c.reply); }
  for (const c of messageCodecs.values()) add(c);
  return [...seen.values()];
}

const codecs = allCodecs();

const decodeAll = (c: Codec, b: Buffer): unknown => {
  const r = new Reader(b);
  return c.decode(r);
};

/** Sample packets of every operation, for mutation. */
const samplePackets: Packet[] = [
  { operation: Operation.REQ_CALL, generation: 7, destnode: 1, srcnode: 0, reqid: 9, flags: 1, dbId: 0x10120015, callId: 0, hopcount: 2, key: Buffer.from('key'), callData: Buffer.from('data') },
  { operation: Operation.REPLY_CALL, generation: 7, destnode: 0, srcnode: 1, reqid: 9, status: 0, data: Buffer.from('reply') },
  { operation: Operation.REQ_DMASTER, generation: 7, destnode: 2, srcnode: 1, reqid: 9, dbId: 1, rsn: 5n, dmaster: 0, key: Buffer.from('k'), data: Buffer.from('v'), recordFlags: 0 },
  { operation: Operation.REPLY_DMASTER, generation: 7, destnode: 0, srcnode: 2, reqid: 9, dbId: 1, rsn: 5n, key: Buffer.from('k'), data: Buffer.from('v'), recordFlags: 0 },
  { operation: Operation.REPLY_ERROR, generation: 7, destnode: 0, srcnode: 2, reqid: 9, status: -1, msg: 'no such db' },
  { operation: Operation.REQ_MESSAGE, generation: 7, destnode: 0, srcnode: 2, reqid: 0, srvid: 0xF100000000000000n, data: Buffer.from([1, 0, 0, 0]) },
  { operation: Operation.REQ_CONTROL, generation: 7, destnode: 0, srcnode: 2, reqid: 3, opcode: 7, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) },
  { operation: Operation.REPLY_CONTROL, generation: 7, destnode: 2, srcnode: 0, reqid: 3, status: 0, data: Buffer.from([1, 2, 3, 4]), errmsg: '' },
  { operation: Operation.REQ_KEEPALIVE, generation: 7, destnode: 1, srcnode: 0, reqid: 0, version: 1, uptime: 5 },
  { operation: Operation.REQ_TUNNEL, generation: 7, destnode: 1, srcnode: 0, reqid: 0, tunnelId: 5n, flags: 1, data: Buffer.from('t') },
] as Packet[];
const packets = samplePackets.map((p) => encodePacket(p));

/** A buffer with one bit flipped. */
const flip = (b: Buffer, bit: number): Buffer => { const c = Buffer.from(b); c[bit >> 3]! ^= 1 << (bit & 7); return c; };

describe('codec fuzzing', () => {
  it('finds a codec table to fuzz', () => {
    expect(codecs.length).toBeGreaterThan(40);
    expect(packets.length).toBe(samplePackets.length);
  });

  it.each(codecs.map((c) => [c.name, c] as const))('%s: random bytes decode or throw CtdbError', (_name, c) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      expectClean(`decode ${c.name}`, Buffer.from(bytes), () => decodeAll(c, Buffer.from(bytes)));
    }), { numRuns: RUNS });
  });

  it.each(codecs.map((c) => [c.name, c] as const))('%s: every truncation and bit flip of the sample decodes or throws CtdbError', (_name, c) => {
    const good = writeAll(c.encode, c.sample);
    for (let n = 0; n < good.length; n++) expectClean(`decode ${c.name} truncated`, good.subarray(0, n), () => decodeAll(c, good.subarray(0, n)));
    const bits = Math.min(good.length * 8, 4096);
    for (let bit = 0; bit < bits; bit++) expectClean(`decode ${c.name} flipped`, flip(good, bit), () => decodeAll(c, flip(good, bit)));
  });

  it('decodePacket: random bytes decode or throw CtdbError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expectClean('decodePacket', Buffer.from(bytes), () => decodePacket(Buffer.from(bytes)));
    }), { numRuns: RUNS * 10 });
  });

  it('decodePacket: valid headers with random bodies and operations', () => {
    const header = packets[0]!.subarray(0, 16);
    fc.assert(fc.property(fc.integer({ min: 0, max: 12 }), fc.uint8Array({ maxLength: 200 }), (op, body) => {
      const b = Buffer.concat([header, Buffer.alloc(16), Buffer.from(body)]);
      b.writeUInt32LE(b.length, 0);
      b.writeUInt32LE(op, 16);
      expectClean('decodePacket', b, () => decodePacket(b));
    }), { numRuns: RUNS * 10 });
  });

  it.each(packets.map((b, i) => [samplePackets[i]!.operation, b] as const))('decodePacket op %i: every truncation and bit flip decodes or throws CtdbError', (_op, good) => {
    expect(decodePacket(good)).toBeTruthy();
    for (let n = 0; n < good.length; n++) expectClean('decodePacket truncated', good.subarray(0, n), () => decodePacket(good.subarray(0, n)));
    for (let bit = 0; bit < good.length * 8; bit++) expectClean('decodePacket flipped', flip(good, bit), () => decodePacket(flip(good, bit)));
  });

  it('PacketFramer: valid packets split at random points come out whole and in order', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: packets.length - 1 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }), (idx, cuts) => {
      const stream = Buffer.concat(idx.map((i) => packets[i]!));
      const f = new PacketFramer();
      const out: Buffer[] = [];
      let off = 0; let k = 0;
      while (off < stream.length) {
        const n = cuts[k++ % cuts.length]!;
        out.push(...f.push(stream.subarray(off, off + n)));
        off += n;
      }
      expect(out.map((b) => b.toString('hex'))).toEqual(idx.map((i) => packets[i]!.toString('hex')));
      expect(f.pending).toBe(0);
    }), { numRuns: RUNS });
  });

  it('PacketFramer: random byte streams only give packets or throw CtdbError, with bounded buffering', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const f = new PacketFramer();
      let total = 0;
      for (const c of chunks) {
        total += c.length;
        const r = expectClean('PacketFramer.push', Buffer.from(c), () => f.push(Buffer.from(c)));
        if (!r.ok) return; // the caller drops the connection on EPROTO
        for (const p of r.value as Buffer[]) expectClean('decodePacket(framed)', p, () => decodePacket(p));
        expect(f.pending).toBeLessThanOrEqual(total);
      }
    }), { numRuns: RUNS * 3 });
  });

  it('PacketFramer: a stream of valid packets with one bit flipped never crashes', () => {
    const stream = Buffer.concat(packets);
    for (let bit = 0; bit < stream.length * 8; bit += 3) {
      const f = new PacketFramer();
      const r = expectClean('PacketFramer.push flipped', null, () => f.push(flip(stream, bit)));
      if (r.ok) for (const p of r.value as Buffer[]) expectClean('decodePacket(framed flipped)', p, () => decodePacket(p));
    }
  });
});
