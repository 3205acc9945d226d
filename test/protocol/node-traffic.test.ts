/**
 * Golden node-to-node packets: tcpdump of three real ctdbd 4.17 daemons
 * (test/protocol/record-golden.ts). Every request and reply must re-encode to
 * the captured bytes, and every payload with a known layout must decode fully
 * and re-encode exactly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type Packet } from '../../src/protocol/packets.js';
import { Reader, writeAll } from '../../src/protocol/buffer.js';
import { Operation, Srvid } from '../../src/protocol/constants.js';
import { Opcode } from '../../src/protocol/opcodes.js';
import {
  controlCodecs, messageCodec, jenkinsHash, splitLtdb, type Codec, type RecBuffer, type RecData, type TraverseAll, type VnnMap,
} from '../../src/protocol/payloads.js';

interface Exchange { kind: string; flow: string; request: string; replyFlow?: string; reply?: string }
const file = path.resolve(__dirname, '../fixtures/golden/node-traffic.json');
const { exchanges } = JSON.parse(fs.readFileSync(file, 'utf8')) as { exchanges: Exchange[] };

function exact(codec: Codec, data: Buffer, what: string): unknown {
  const r = new Reader(data);
  const v = codec.decode(r);
  expect(r.remaining, `${what}: bytes left`).toBe(0);
  expect(writeAll(codec.encode, v).toString('hex'), `${what}: re-encoding`).toBe(data.toString('hex'));
  return v;
}

interface Seen { e: Exchange; req: Packet; rep?: Packet; reqValue?: unknown; repValue?: unknown }
const seen: Seen[] = exchanges.map((e) => {
  const req = decodePacket(Buffer.from(e.request, 'hex'));
  expect(encodePacket(req).toString('hex'), `${e.kind} request bytes`).toBe(e.request);
  const s: Seen = { e, req };
  if (req.operation === Operation.REQ_CONTROL) {
    const c = controlCodecs[req.opcode]!;
    expect(c, `opcode ${req.opcode}`).toBeDefined();
    if (c.request) s.reqValue = exact(c.request, req.data, `${c.name} request`);
    else expect(req.data.length, `${c.name} request data`).toBe(0);
    if (e.reply) {
      const rep = decodePacket(Buffer.from(e.reply, 'hex'));
      expect(encodePacket(rep).toString('hex'), `${c.name} reply bytes`).toBe(e.reply);
      expect(rep).toMatchObject({ operation: Operation.REPLY_CONTROL, reqid: req.reqid, srcnode: req.destnode, destnode: req.srcnode });
      s.rep = rep;
      if (rep.operation === Operation.REPLY_CONTROL && rep.data.length > 0) {
        expect(c.reply, `${c.name} reply codec`).toBeDefined();
        s.repValue = exact(c.reply!, rep.data, `${c.name} reply`);
      }
    }
  } else if (req.operation === Operation.REQ_MESSAGE) {
    const c = messageCodec(req.srvid);
    if (c) s.reqValue = exact(c, req.data, `message 0x${req.srvid.toString(16)}`);
  }
  return s;
});
const byOpcode = (op: number): Seen[] => seen.filter((s) => s.req.operation === Operation.REQ_CONTROL && s.req.opcode === op);

describe('golden node-to-node traffic from real ctdbd 4.17', () => {
  it('covers recovery, traverse, vacuum, migration and keepalive traffic', () => {
    const kinds = new Set(exchanges.map((e) => e.kind));
    for (const op of [Opcode.GETVNNMAP, Opcode.SETVNNMAP, Opcode.GET_DBMAP, Opcode.SET_RECMODE, Opcode.DB_PULL,
      Opcode.DB_PUSH_START, Opcode.DB_PUSH_CONFIRM, Opcode.DB_TRANSACTION_START, Opcode.DB_TRANSACTION_COMMIT,
      Opcode.WIPE_DATABASE, Opcode.DB_FREEZE, Opcode.DB_THAW, Opcode.TRAVERSE_ALL, Opcode.TRAVERSE_DATA,
      Opcode.VACUUM_FETCH, Opcode.UPDATE_RECORD, Opcode.MODIFY_FLAGS, Opcode.GET_CAPABILITIES, Opcode.RELEASE_IP,
      Opcode.TAKEOVER_IP, Opcode.GET_PUBLIC_IPS, Opcode.GET_NODEMAP]) {
      expect(kinds, `control ${op}`).toContain(`control ${op}`);
    }
    for (const k of ['operation 0', 'operation 2', 'operation 3', 'operation 9', 'message 0xf001', 'message 0xf101']) {
      expect(kinds).toContain(k);
    }
    expect(seen.filter((s) => s.rep).length).toBeGreaterThan(30);
  });

  it('SETVNNMAP carries the new generation as in the header of later traffic', () => {
    const v = byOpcode(Opcode.SETVNNMAP)[0]!.reqValue as VnnMap;
    expect(v.map.length).toBe(3);
    expect(v.generation).not.toBe(1);
  });

  it('TRAVERSE_ALL and TRAVERSE_DATA payloads', () => {
    const t = byOpcode(Opcode.TRAVERSE_ALL)[0]!.reqValue as TraverseAll;
    expect(t.srvid & 0xFF00000000000000n).toBe(Srvid.CLIENT_RANGE);
    const data = byOpcode(Opcode.TRAVERSE_DATA).map((s) => s.reqValue as RecData);
    expect(data.length).toBeGreaterThan(0);
    for (const d of data) if (d.data.length > 0) expect(splitLtdb(d.data).header.rsn).toBeGreaterThan(0n);
  });

  it('recovery streams rec_buffers to RECOVERY+n srvids', () => {
    const msgs = seen.filter((s) => s.req.operation === Operation.REQ_MESSAGE && (s.req.srvid >> 48n) === 0xF001n);
    expect(msgs.length).toBeGreaterThan(0);
    for (const m of msgs) expect((m.reqValue as RecBuffer).records).toBeInstanceOf(Array);
  });

  it('REQ_CALL / REQ_DMASTER / REPLY_DMASTER key their database and record', () => {
    for (const s of seen.filter((x) => [Operation.REQ_CALL, Operation.REQ_DMASTER, Operation.REPLY_DMASTER].includes(x.req.operation as 0))) {
      const p = s.req as Packet & { key: Buffer; dbId: number };
      expect(p.key.length).toBeGreaterThan(0);
      expect(jenkinsHash(p.key)).toBeTypeOf('number');
    }
    const call = seen.find((x) => x.req.operation === Operation.REQ_CALL)!.req as Packet & { flags: number; callId: number };
    expect(call.callId).toBe(0xFF000001);
  });

  it('VACUUM_FETCH sends keys without data', () => {
    const v = byOpcode(Opcode.VACUUM_FETCH)[0]!.reqValue as RecBuffer;
    expect(v.records.length).toBeGreaterThan(0);
    for (const r of v.records) expect(r.key.length).toBeGreaterThan(0);
  });
});
