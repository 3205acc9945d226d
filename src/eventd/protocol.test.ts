import { describe, expect, it } from 'vitest';
import { Reader } from '../protocol/buffer.js';
import {
  EventFramer, decodeEventReply, decodeEventRequest, encodeEventReply, encodeEventRequest, framePacket, openPacket,
  type EventReply, type EventRequest,
} from './protocol.js';

const requests: EventRequest[] = [
  { cmd: 1, component: 'legacy', event: 'takeip', args: 'eth0 1.2.3.4 24', timeout: 7, flags: 0 },
  { cmd: 1, component: 'legacy', event: 'monitor', args: '', timeout: 30, flags: 1 },
  { cmd: 2, component: 'legacy', event: 'monitor' },
  { cmd: 3, component: 'legacy', script: '10.interface', action: 1 },
];
const replies: EventReply[] = [
  { cmd: 1, result: 0 }, { cmd: 1, result: 8 }, { cmd: 2, result: 22 }, { cmd: 3, result: 2 },
  { cmd: 2, result: 0, status: { summary: 3, scripts: [
    { name: '01.ok', begin: { sec: 1795455826, usec: 559708 }, end: { sec: 1795455826, usec: 561292 }, result: 0, output: 'hello monitor\n' },
    { name: '02.fail', begin: { sec: 1, usec: 2 }, end: { sec: 3, usec: 4 }, result: -110, output: '' },
  ] } },
];

describe('eventd protocol', () => {
  it.each(requests)('request $cmd round-trips', (req) => {
    const pkt = framePacket(42, encodeEventRequest, req);
    expect(pkt.readUInt32LE(0)).toBe(pkt.length);
    const p = openPacket(pkt);
    expect(p.reqid).toBe(42);
    expect(decodeEventRequest(p.body)).toEqual(req);
    expect(p.body.remaining).toBe(0);
  });

  it.each(replies)('reply $cmd/$result round-trips', (rep) => {
    const p = openPacket(framePacket(9, encodeEventReply, rep));
    expect(decodeEventReply(p.body)).toEqual(rep);
    expect(p.body.remaining).toBe(0);
  });

  // Bytes Debian's ctdb-event 4.17 sent for `ctdb-event run 7 legacy takeip eth0 1.2.3.4 24` (captured).
  const golden = Buffer.from(('42000000 00000000 38ffff7f 01000000 07000000 6c656761 63790007 00000074 616b6569 70001000'
    + ' 00006574 68302031 2e322e33 2e342032 34000700 00000000 0000').replace(/ /g, ''), 'hex');

  it('decodes the captured 4.17 RUN request and re-encodes it byte for byte', () => {
    const p = openPacket(golden);
    const req = decodeEventRequest(p.body);
    expect(req).toEqual(requests[0]);
    expect(framePacket(p.reqid, encodeEventRequest, req).equals(golden)).toBe(true);
  });

  it('decodes the captured 4.17 STATUS reply', () => {
    const hex = '9e000000 00000000 07000000 02000000 00000000 03000000 02000000 06000000 30312e6f 6b00657b 046b0000 00005c8a 08000000 0000657b 046b0000 00008c90 08000000 00000000 00000f00 00006865 6c6c6f20 6d6f6e69 746f720a 00080000 0030322e 6661696c 00657b04 6b000000 00c09008 00000000 00657b04 6b000000 00d59508 00000000 00030000 000d0000 006c696e 65310a6c 696e6532 0a00';
    const r = decodeEventReply(openPacket(Buffer.from(hex.replace(/ /g, ''), 'hex')).body);
    expect(r.status?.summary).toBe(3);
    expect(r.status?.scripts.map((s) => [s.name, s.result, s.output])).toEqual([['01.ok', 0, 'hello monitor\n'], ['02.fail', 3, 'line1\nline2\n']]);
  });

  it('framer splits whole, byte-by-byte and at every offset', () => {
    const stream = Buffer.concat([golden, framePacket(1, encodeEventReply, replies[4]!), golden]);
    const whole = new EventFramer().push(stream);
    expect(whole.map((b) => b.length)).toEqual([golden.length, stream.length - 2 * golden.length, golden.length]);
    const f = new EventFramer();
    const bytes: Buffer[] = [];
    for (const b of stream) bytes.push(...f.push(Buffer.from([b])));
    expect(Buffer.concat(bytes).equals(stream)).toBe(true);
    for (let cut = 0; cut <= stream.length; cut++) {
      const g = new EventFramer();
      const got = [...g.push(stream.subarray(0, cut)), ...g.push(stream.subarray(cut))];
      expect(got).toHaveLength(3);
    }
  });

  it('rejects impossible lengths and unknown commands', () => {
    expect(() => new EventFramer().push(Buffer.from([3, 0, 0, 0]))).toThrow(/length/);
    const bad = Buffer.alloc(16); bad.writeUInt32LE(16, 0); bad.writeUInt32LE(77, 12);
    expect(() => decodeEventRequest(openPacket(bad).body)).toThrow(/unknown/);
    expect(() => decodeEventRequest(new Reader(Buffer.from([1, 0, 0, 0, 200, 0, 0, 0])))).toThrow();
  });
});
