import { describe, expect, it } from 'vitest';
import { Reader, Writer, writeAll } from './buffer.js';
import { CtdbError } from '../common/errors.js';
import { Opcode } from './opcodes.js';
import {
  payloadCodecs, controlCodecs, messageCodecs, type Codec, decodeSockAddr, decodeDbVacuum, decodeTraverseStartExt,
  decodeVarList, encodeVarList, splitLtdb, joinLtdb, encodeBackupFile, decodeBackupFile, BACKUP_FLUSH_SIZE,
  decodeRecData, decodeNodeMap, encodeIface, encodeTunableList, decodeCString, encodeAddrInfo, decodeAddrInfo,
  type RecData,
} from './payloads.js';
import { decodePacket, encodePacket } from './packets.js';
import { Operation } from './constants.js';

const all: Codec[] = Object.values(payloadCodecs);
const controlEntries = Object.values(controlCodecs).flatMap((c) => [
  ...(c.request ? [{ label: `${c.name} request`, codec: c.request }] : []),
  ...(c.reply ? [{ label: `${c.name} reply`, codec: c.reply }] : []),
]);
const messageEntries = [...messageCodecs.entries()].map(([srvid, codec]) => ({ label: `srvid 0x${srvid.toString(16)}`, codec }));

/** Decodes and insists every byte was used. */
function decodeExact(c: Codec, b: Buffer): unknown {
  const r = new Reader(b);
  const v = c.decode(r);
  if (r.remaining !== 0) throw new CtdbError('EINVAL', `${r.remaining} bytes left`);
  return v;
}

const codeOf = (f: () => unknown): string => {
  try { f(); } catch (e) {
    if (e instanceof CtdbError) return e.code;
    return `non-CtdbError: ${String(e)}`;
  }
  return 'ok';
};

describe('payload codecs', () => {
  it.each(all.map((c) => ({ name: c.name, c })))('$name round-trips with no bytes left', ({ c }) => {
    const b = writeAll(c.encode, c.sample);
    const r = new Reader(b);
    expect(c.decode(r)).toEqual(c.sample);
    expect(r.remaining).toBe(0);
  });

  it.each([...controlEntries, ...messageEntries])('$label round-trips', ({ codec }) => {
    expect(decodeExact(codec, writeAll(codec.encode, codec.sample))).toEqual(codec.sample);
  });

  it.each(all.map((c) => ({ name: c.name, c })))('$name: every truncation throws CtdbError', ({ c }) => {
    const b = writeAll(c.encode, c.sample);
    for (let n = 0; n < b.length; n++) {
      const code = codeOf(() => decodeExact(c, b.subarray(0, n)));
      // Open codecs (a string filling the payload) may accept a shorter input (e.g. '' for 0 bytes).
      if (c.open && code === 'ok') continue;
      expect(['EMSGSIZE', 'EINVAL'], `${c.name} cut to ${n}: ${code}`).toContain(code);
    }
  });

  it.each(all.map((c) => ({ name: c.name, c })))('$name: flipped bytes give a value or a CtdbError, never anything else', ({ c }) => {
    const b = writeAll(c.encode, c.sample);
    for (let i = 0; i < b.length; i++) {
      for (const x of [0xFF, 0x80, 0x01]) {
        const m = Buffer.from(b); m[i] = m[i]! ^ x;
        expect(codeOf(() => decodeExact(c, m))).not.toMatch(/^non-CtdbError/);
      }
    }
  });

  it('has an entry for every opcode, and answers-in-status for the six status controls', () => {
    for (const [name, op] of Object.entries(Opcode)) expect(controlCodecs[op]?.name).toBe(name);
    const inStatus = Object.values(controlCodecs).filter((c) => c.replyInStatus).map((c) => c.name).sort();
    expect(inStatus).toEqual(['CHECK_PID_SRVID', 'GET_PID', 'GET_PNN', 'GET_RECMODE', 'PING', 'PROCESS_EXISTS']);
  });

  it.each([
    ['sockAddr', 28], ['sockAddr6', 28], ['ltdbHeader', 24], ['electionMessage', 32], ['srvidMessage', 16],
    ['disableMessage', 24], ['uptime', 64], ['tunableList', 248], ['statistics', 488], ['pidSrvid', 12],
    ['dbVacuum', 5], ['traverseStart', 16], ['traverseStartExt', 24], ['traverseAll', 24], ['traverseAllExt', 32],
    ['latencyCounter', 32], ['connection', 56], ['transdb', 8], ['pulldbExt', 16], ['publicIp', 32], ['iface', 24],
    ['banState', 8], ['nodeFlagChange', 12], ['timeval', 16], ['keyData', 36 + 2], ['dbStatistics', 464 + 4],
    ['nodeMap', 4 + 2 * 36], ['publicIpInfo', 40 + 24], ['tickleList', 32 + 56], ['statHistory', 8 + 2 * 488],
  ] as const)('%s is %i bytes', (name, size) => {
    const c = payloadCodecs[name] as Codec;
    expect(writeAll(c.encode, c.sample).length).toBe(size);
  });
});

describe('malformed input', () => {
  it('rejects a bool other than 0/1', () => {
    const b = Buffer.from([0x15, 0, 0x12, 0x10, 2]);
    expect(codeOf(() => decodeDbVacuum(new Reader(b)))).toBe('EINVAL');
    const t = writeAll(payloadCodecs.traverseStartExt.encode, payloadCodecs.traverseStartExt.sample);
    t[16] = 7;
    expect(codeOf(() => decodeTraverseStartExt(new Reader(t)))).toBe('EINVAL');
  });

  it('rejects an unknown socket address family', () => {
    const b = Buffer.alloc(28); b.writeUInt16LE(1, 0);
    expect(codeOf(() => decodeSockAddr(new Reader(b)))).toBe('EINVAL');
  });

  it('rejects counts larger than the data', () => {
    const b = Buffer.alloc(8); b.writeUInt32LE(1000, 0);
    expect(codeOf(() => decodeNodeMap(new Reader(b)))).toBe('EMSGSIZE');
  });

  it('rejects a rec_data whose length word is too small', () => {
    const b = writeAll(payloadCodecs.recData.encode, payloadCodecs.recData.sample);
    b.writeUInt32LE(16, 0);
    expect(codeOf(() => decodeRecData(new Reader(b)))).toBe('EINVAL');
  });

  it('rejects a string payload without NUL', () => {
    expect(codeOf(() => decodeCString(new Reader(Buffer.from('abc'))))).toBe('EINVAL');
  });

  it('refuses to encode values that do not fit', () => {
    expect(codeOf(() => writeAll(encodeIface, { name: 'x'.repeat(18), linkState: 1, references: 0 }))).toBe('EINVAL');
    expect(codeOf(() => writeAll(encodeTunableList, { values: [1, 2] }))).toBe('EINVAL');
    expect(codeOf(() => writeAll(payloadCodecs.sockAddr.encode, { family: 'inet', address: 'fe80::1', port: 1 }))).toBe('EINVAL');
    expect(codeOf(() => writeAll(payloadCodecs.sockAddr.encode, { family: 'inet', address: '1.2.3.4', port: 70000 }))).toBe('EINVAL');
  });

  it('rejects a packet with bad magic as EPROTO', () => {
    const p = encodePacket({ operation: Operation.REQ_CONTROL, generation: 0, destnode: 0, srcnode: 0, reqid: 1, opcode: 35, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) });
    p.writeUInt32LE(0x12345678, 4);
    expect(codeOf(() => decodePacket(p))).toBe('EPROTO');
  });
});

describe('var_list', () => {
  it('encodes the 4.17 leading-colon form', () => {
    const b = writeAll(encodeVarList, { names: ['A', 'Bc'] });
    expect(b.toString('hex')).toBe('06000000' + Buffer.from(':A:Bc\0').toString('hex'));
  });
  it('decodes both forms', () => {
    for (const text of [':A:Bc\0', 'A:Bc\0']) {
      const w = new Writer(); w.u32(text.length).bytes(Buffer.from(text));
      expect(decodeVarList(new Reader(w.finish()))).toEqual({ names: ['A', 'Bc'] });
    }
  });
});

describe('addr_info', () => {
  it('sends an empty interface as a NULL stringn and reads it back as empty', () => {
    const v = { addr: { family: 'inet' as const, address: '10.254.91.3', port: 0 }, mask: 0, iface: '' };
    const b = writeAll(encodeAddrInfo, v);
    expect(b.length).toBe(36);
    expect(decodeAddrInfo(new Reader(b))).toEqual(v);
  });
});

describe('ltdb header helpers', () => {
  it('join then split gives back header and data', () => {
    const h = { rsn: 0xFFFF_FFFF_FFFFn, dmaster: 2, flags: 0x01000000 };
    const j = joinLtdb(h, Buffer.from('value'));
    expect(j.length).toBe(29);
    expect(splitLtdb(j)).toEqual({ header: h, data: Buffer.from('value') });
  });
  it('rejects a value shorter than the header', () => {
    expect(codeOf(() => splitLtdb(Buffer.alloc(23)))).toBe('EINVAL');
  });
});

describe('backup file', () => {
  const rec = (i: number, size: number): RecData => ({ reqid: 0, key: Buffer.from(`key${i}`), data: joinLtdb({ rsn: BigInt(i), dmaster: 0, flags: 0 }, Buffer.alloc(size, i & 0xff)) });

  it('flushes a block once it reaches 100,000 bytes', () => {
    const records = Array.from({ length: 250 }, (_, i) => rec(i, 1000));
    const b = writeAll(encodeBackupFile, { version: 3, timestamp: 1, dbFlags: 1, dbName: 'x.tdb', records });
    expect(b.readBigUInt64LE(24)).toBe(3n); // nbuf
    expect(b.readBigUInt64LE(32)).toBe(250n); // nrec
    // Walk the blocks: each but the last reaches the flush size, and was below it before its last record.
    let off = 104;
    let next = 0;
    const recBytes = (r: RecData): number => 16 + r.key.length + r.data.length;
    for (let i = 0; i < 3; i++) {
      const count = b.readUInt32LE(off + 4);
      const len = Number(b.readBigUInt64LE(off + 8));
      const mine = records.slice(next, next + count);
      expect(len).toBe(mine.reduce((a, r) => a + recBytes(r), 0));
      if (i < 2) {
        expect(len).toBeGreaterThanOrEqual(BACKUP_FLUSH_SIZE);
        expect(len - recBytes(mine[mine.length - 1]!)).toBeLessThan(BACKUP_FLUSH_SIZE);
      } else {
        expect(len).toBeLessThan(BACKUP_FLUSH_SIZE);
      }
      next += count; off += 16 + len;
    }
    expect(next).toBe(250);
    expect(off).toBe(b.length);
    const back = decodeBackupFile(new Reader(b));
    expect(back.records).toEqual(records);
  });

  it('writes no blocks for an empty database', () => {
    const b = writeAll(encodeBackupFile, { version: 3, timestamp: 1, dbFlags: 0, dbName: 'e.tdb', records: [] });
    expect(b.length).toBe(104);
    expect(decodeBackupFile(new Reader(b))).toEqual({ version: 3, timestamp: 1, dbFlags: 0, dbName: 'e.tdb', records: [] });
  });

  it('rejects a header record count that disagrees with the blocks', () => {
    const b = writeAll(encodeBackupFile, { version: 3, timestamp: 1, dbFlags: 0, dbName: 'e.tdb', records: [rec(1, 3)] });
    b.writeBigUInt64LE(2n, 32);
    expect(codeOf(() => decodeBackupFile(new Reader(b)))).toBe('EINVAL');
  });
});
