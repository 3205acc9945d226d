/** Byte-level tests from the captured test vectors in spec/wire-protocol.md §9. */
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type Packet } from '../../src/protocol/packets.js';
import { Reader, writeAll } from '../../src/protocol/buffer.js';
import { Operation, Srvid } from '../../src/protocol/constants.js';
import {
  decodeNodeMap, decodeVnnMap, decodeElectionMessage, decodeSrvidMessage, encodeNodeMap, encodeVnnMap,
  encodeElectionMessage, encodeSrvidMessage, jenkinsHash, dbIdForName, controlCodecs, splitLtdb,
} from '../../src/protocol/payloads.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const V = {
  getPnnReq: hex('40000000 42445443 01000000 00000000 07000000 010000f0 ffffffff 38ffff7f | 23000000 00000000 00000000 00000000 00000000 00000000 00000000 | 00000000'),
  getPnnRep: hex('30000000 42445443 01000000 2285776b 08000000 00000000 00000000 38ffff7f | 00000000 00000000 00000000 | 00000000'),
  getNodemapReq: hex('40000000 42445443 01000000 00000000 07000000 00000000 00000000 3affff7f | 5b000000 00000000 00000000 00000000 00000000 00000000 00000000 | 00000000'),
  getNodemapRep: hex('a0000000 42445443 01000000 2285776b 08000000 00000000 00000000 3affff7f | 00000000 70000000 00000000 | 03000000 | 00000000 00000000 0200111b 7f000051 00000000 00000000 00000000 00000000 00000000 | 01000000 00000000 0200111b 7f000052 00000000 00000000 00000000 00000000 00000000 | 02000000 00000000 0200111b 7f000053 00000000 00000000 00000000 00000000 00000000 | 00000000'),
  getVnnmapRep: hex('40000000 42445443 01000000 2285776b 08000000 00000000 00000000 3cffff7f | 00000000 14000000 00000000 | 2285776b 03000000 00000000 01000000 02000000'),
  getRecmodeReq: hex('40000000 42445443 01000000 00000000 07000000 00000000 00000000 3dffff7f | 0f000000 00000000 00000000 00000000 00000000 00000000 00000000 | 00000000'),
  getRecmodeRep: hex('30000000 42445443 01000000 2285776b 08000000 00000000 00000000 3dffff7f | 00000000 00000000 00000000 | 00000000'),
  getTunableReq: hex('50000000 42445443 01000000 00000000 07000000 00000000 00000000 3bffff7f | 31000000 00000000 00000000 00000000 00000000 00000000 13000000 | 0f000000 | 5265636f 76657254 696d656f 757400 | 00'),
  getTunableRep: hex('30000000 42445443 01000000 2285776b 08000000 00000000 00000000 3bffff7f | 00000000 04000000 00000000 | 1e000000'),
  getCapsRep: hex('30000000 42445443 01000000 2285776b 08000000 00000000 00000000 3affff7f | 00000000 04000000 00000000 | 03000300'),
  dbAttachReq: hex('48000000 42445443 01000000 00000000 07000000 00000000 00000000 3affff7f | 12000000 00000000 00000000 00000000 00000000 00000000 0c000000 | 74657374 766f6c2e 74646200'),
  dbAttachRep: hex('30000000 42445443 01000000 2285776b 08000000 00000000 00000000 3affff7f | 00000000 04000000 00000000 | 15001210'),
  reqCall: hex('40000000 42445443 01000000 00000000 00000000 010000f0 00000000 42ffff7f | 01000000 15001210 010000ff 00000000 02000000 00000000 | 6b31 | 00000000 0000'),
  replyCall: hex('30000000 42445443 01000000 2285776b 01000000 00000000 00000000 42ffff7f | 00000000 00000000 | 00000000 00000000'),
  replyDmaster: hex('40000000 42445443 01000000 2285776b 03000000 01000000 00000000 a6030000 | 15001210 00000000 02000000 00000000 02000000 02000000 | 6b31 | 7631 | 00000100'),
  reqDmaster: hex('60000000 42445443 01000000 2285776b 02000000 02000000 00000000 29020000 | 2b432a4d 00000000 03000000 00000000 02000000 1a000000 00000000 | 7472616e 73616374 696f6e5f 64625f30 78393364 34646264 6300 | 00000000 | 00000000 0000'),
  keepalive: hex('28000000 42445443 01000000 01000000 09000000 01000000 00000000 00000000 | 11000400 05000000'),
  election: hex('50000000 42445443 01000000 01000000 05000000 00000000 01000000 00000000 | 00000000 000000f1 20000000 | 03000000 00000000 8af3026b 00000000 8f160600 00000000 01000000 02000000 | 00000000'),
  leader: hex('30000000 42445443 01000000 2285776b 05000000 00000000 00000000 00000000 | 00000000 000001f1 04000000 | 00000000'),
  takeoverRun: hex('40000000 42445443 01000000 00000000 05000000 040000f0 00000000 3fffff7f | 00000000 000000fb 10000000 | 00000000 00000000 01007369 000001ce | 00000000'),
  replyError: hex('58000000 42445443 01000000 879da031 04000000 02000000 00000000 92100000 | ffffffff 2f000000 | 556e6b6e 6f776e20 64617461 62617365 20696e20 72657175 6573742e 2064625f 69643d3d 30786465 61646265 656600 | 00'),
  replyControlErr: hex('50000000 42445443 01000000 ae2ec33b 08000000 00000000 00000000 65000000 | ffffffff 00000000 21000000 | 63746462 5f636f6e 74726f6c 20746f20 64697363 6f6e6e65 63746564 206e6f64 65 | 000000'),
};

/** Decodes, checks the operation, and checks that re-encoding gives the same bytes. */
function roundTrip<O extends Packet['operation']>(b: Buffer, op: O): Extract<Packet, { operation: O }> {
  const p = decodePacket(b);
  expect(p.operation).toBe(op);
  expect(encodePacket(p).toString('hex')).toBe(b.toString('hex'));
  return p as Extract<Packet, { operation: O }>;
}
const payload = <T>(dec: (r: Reader) => T, data: Buffer): T => {
  const r = new Reader(data);
  const v = dec(r);
  expect(r.remaining).toBe(0);
  return v;
};

describe('spec §9 test vectors', () => {
  it('every vector re-encodes to identical bytes', () => {
    for (const [name, b] of Object.entries(V)) {
      expect(encodePacket(decodePacket(b)).toString('hex'), name).toBe(b.toString('hex'));
    }
  });

  it('GET_PNN request and reply', () => {
    const q = roundTrip(V.getPnnReq, Operation.REQ_CONTROL);
    expect(q).toMatchObject({ opcode: 35, destnode: 0xF0000001, srcnode: 0xFFFFFFFF, reqid: 0x7FFFFF38, generation: 0 });
    expect(controlCodecs[q.opcode]!.name).toBe('GET_PNN');
    expect(controlCodecs[q.opcode]!.replyInStatus).toBe(true);
    const a = roundTrip(V.getPnnRep, Operation.REPLY_CONTROL);
    expect(a).toMatchObject({ status: 0, generation: 0x6b778522, reqid: 0x7FFFFF38, errmsg: '' });
  });

  it('GET_NODEMAP reply decodes to 3 nodes at 127.0.0.81-83:4379', () => {
    expect(roundTrip(V.getNodemapReq, Operation.REQ_CONTROL).opcode).toBe(91);
    const a = roundTrip(V.getNodemapRep, Operation.REPLY_CONTROL);
    const m = payload(controlCodecs[91]!.reply!.decode, a.data);
    expect(m).toEqual({
      nodes: [0, 1, 2].map((pnn) => ({ pnn, flags: 0, addr: { family: 'inet', address: `127.0.0.${81 + pnn}`, port: 4379 } })),
    });
    expect(writeAll(encodeNodeMap, m)).toEqual(a.data);
    expect(payload(decodeNodeMap, a.data)).toEqual(m);
  });

  it('GETVNNMAP reply', () => {
    const a = roundTrip(V.getVnnmapRep, Operation.REPLY_CONTROL);
    const m = payload(decodeVnnMap, a.data);
    expect(m).toEqual({ generation: 0x6b778522, map: [0, 1, 2] });
    expect(writeAll(encodeVnnMap, m)).toEqual(a.data);
  });

  it('GET_RECMODE answers in status', () => {
    expect(roundTrip(V.getRecmodeReq, Operation.REQ_CONTROL).opcode).toBe(15);
    expect(roundTrip(V.getRecmodeRep, Operation.REPLY_CONTROL)).toMatchObject({ status: 0, data: Buffer.alloc(0) });
  });

  it('GET_TUNABLE request (stringn) and reply (u32)', () => {
    const q = roundTrip(V.getTunableReq, Operation.REQ_CONTROL);
    const c = controlCodecs[q.opcode]!;
    expect(c.name).toBe('GET_TUNABLE');
    expect(payload(c.request!.decode, q.data)).toBe('RecoverTimeout');
    expect(writeAll(c.request!.encode, 'RecoverTimeout')).toEqual(q.data);
    const a = roundTrip(V.getTunableRep, Operation.REPLY_CONTROL);
    expect(payload(c.reply!.decode, a.data)).toBe(30);
  });

  it('GET_CAPABILITIES reply is 0x30003', () => {
    const a = roundTrip(V.getCapsRep, Operation.REPLY_CONTROL);
    expect(payload(controlCodecs[80]!.reply!.decode, a.data)).toBe(0x30003);
  });

  it('DB_ATTACH request name and reply db id match the hash', () => {
    const q = roundTrip(V.dbAttachReq, Operation.REQ_CONTROL);
    const c = controlCodecs[18]!;
    expect(payload(c.request!.decode, q.data)).toBe('testvol.tdb');
    expect(writeAll(c.request!.encode, 'testvol.tdb')).toEqual(q.data);
    const a = roundTrip(V.dbAttachRep, Operation.REPLY_CONTROL);
    expect(payload(c.reply!.decode, a.data)).toBe(0x10120015);
    expect(dbIdForName('testvol.tdb')).toBe(0x10120015);
  });

  it('REQ_CALL and REPLY_CALL', () => {
    const q = roundTrip(V.reqCall, Operation.REQ_CALL);
    expect(q).toMatchObject({ flags: 1, dbId: 0x10120015, callId: 0xFF000001, hopcount: 0, key: Buffer.from('k1'), destnode: 0xF0000001 });
    expect(jenkinsHash(q.key)).toBe(0xeb04426d);
    expect(roundTrip(V.replyCall, Operation.REPLY_CALL)).toMatchObject({ status: 0, data: Buffer.alloc(0) });
  });

  it('REQ_DMASTER and REPLY_DMASTER with appended record flags', () => {
    const r = roundTrip(V.replyDmaster, Operation.REPLY_DMASTER);
    expect(r).toMatchObject({ dbId: 0x10120015, rsn: 2n, key: Buffer.from('k1'), data: Buffer.from('v1'), recordFlags: 0x10000 });
    const q = roundTrip(V.reqDmaster, Operation.REQ_DMASTER);
    expect(q).toMatchObject({ dbId: dbIdForName('g_lock.tdb'), rsn: 3n, dmaster: 2, recordFlags: 0 });
    expect(q.key.toString()).toBe('transaction_db_0x93d4dbdc\0');
  });

  it('REQ_KEEPALIVE', () => {
    expect(roundTrip(V.keepalive, Operation.REQ_KEEPALIVE)).toMatchObject({ version: 0x40011, uptime: 5, generation: 1 });
  });

  it('ELECTION message payload', () => {
    const m = roundTrip(V.election, Operation.REQ_MESSAGE);
    expect(m.srvid).toBe(Srvid.ELECTION);
    const e = payload(decodeElectionMessage, m.data);
    expect(e).toEqual({ numConnected: 3, priorityTime: { sec: 0x6b02f38a, usec: 0x6168f }, pnn: 1, nodeFlags: 2 });
    expect(writeAll(encodeElectionMessage, e)).toEqual(m.data);
  });

  it('LEADER message carries u32 pnn', () => {
    const m = roundTrip(V.leader, Operation.REQ_MESSAGE);
    expect(m).toMatchObject({ srvid: Srvid.LEADER, reqid: 0 });
    expect(m.data.readUInt32LE(0)).toBe(0);
  });

  it('TAKEOVER_RUN message carries srvid_message', () => {
    const m = roundTrip(V.takeoverRun, Operation.REQ_MESSAGE);
    expect(m).toMatchObject({ srvid: Srvid.TAKEOVER_RUN, destnode: 0xF0000004 });
    const s = payload(decodeSrvidMessage, m.data);
    expect(s).toEqual({ pnn: 0, srvid: 0xCE01000069730001n });
    expect(writeAll(encodeSrvidMessage, s)).toEqual(m.data);
  });

  it('REPLY_ERROR and REPLY_CONTROL error text', () => {
    expect(roundTrip(V.replyError, Operation.REPLY_ERROR)).toMatchObject({ status: -1, msg: 'Unknown database in request. db_id==0xdeadbeef' });
    expect(roundTrip(V.replyControlErr, Operation.REPLY_CONTROL)).toMatchObject({ status: -1, errmsg: 'ctdb_control to disconnected node' });
  });

  it('spec §7 ltdb header example', () => {
    const v = hex('07000000 00000000 | 00000000 | 00000000 | 00000100 | 00000000 | 7631');
    expect(splitLtdb(v)).toEqual({ header: { rsn: 7n, dmaster: 0, flags: 0x10000 }, data: Buffer.from('v1') });
  });
});
