import { describe, expect, it } from 'vitest';
import { PacketFramer } from '../../src/protocol/framer.js';
import { encodePacket, type Packet } from '../../src/protocol/packets.js';
import { Operation } from '../../src/protocol/constants.js';
import { CtdbError } from '../../src/common/errors.js';

const hdr = { generation: 7, destnode: 1, srcnode: 0 };
const packets: Packet[] = [
  { operation: Operation.REQ_CONTROL, ...hdr, reqid: 1, opcode: 35, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) },
  { operation: Operation.REQ_MESSAGE, ...hdr, reqid: 2, srvid: 0xF101000000000000n, data: Buffer.from([0, 0, 0, 0]) },
  { operation: Operation.REPLY_CONTROL, ...hdr, reqid: 3, status: -1, data: Buffer.alloc(0), errmsg: 'ctdb_control to disconnected node' },
  { operation: Operation.REQ_KEEPALIVE, ...hdr, reqid: 0, version: 0x40011, uptime: 5 },
  { operation: Operation.REQ_CALL, ...hdr, reqid: 4, flags: 1, dbId: 0x10120015, callId: 0xFF000001, hopcount: 0, key: Buffer.from('k1'), callData: Buffer.alloc(300, 7) },
];
const bufs = packets.map(encodePacket);
const stream = Buffer.concat(bufs);

describe('PacketFramer', () => {
  it('splits a whole stream into its packets', () => {
    const f = new PacketFramer();
    expect(f.push(stream)).toEqual(bufs);
    expect(f.pending).toBe(0);
  });

  it('reassembles packets fed byte by byte', () => {
    const f = new PacketFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...f.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(bufs);
    expect(f.pending).toBe(0);
  });

  it('gives the same packets for a split at every offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const f = new PacketFramer();
      const out = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(out, `cut at ${cut}`).toEqual(bufs);
    }
  });

  it('holds an incomplete packet until the rest arrives', () => {
    const f = new PacketFramer();
    expect(f.push(bufs[0]!.subarray(0, 10))).toEqual([]);
    expect(f.pending).toBe(10);
    expect(f.push(bufs[0]!.subarray(10))).toEqual([bufs[0]]);
  });

  it.each([0, 4, 31, 0x7FFFFFFF])('rejects length %i with CtdbError EPROTO', (len) => {
    const b = Buffer.alloc(32);
    b.writeUInt32LE(len, 0);
    const f = new PacketFramer();
    expect(() => f.push(b)).toThrow(CtdbError);
    try { new PacketFramer().push(b); } catch (e) { expect((e as CtdbError).code).toBe('EPROTO'); }
  });
});
