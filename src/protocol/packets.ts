import { CtdbError } from '../common/errors.js';
import { Reader, Writer } from './buffer.js';
import { CTDB_DS_ALIGNMENT, CTDB_MAGIC, CTDB_PROTOCOL, HEADER_SIZE, Operation } from './constants.js';

/** Fields every packet carries in its 32-byte header (length/magic/version are implied). */
export interface Header {
  generation: number;
  destnode: number;
  srcnode: number;
  reqid: number;
}

export interface ReqCall extends Header {
  operation: typeof Operation.REQ_CALL;
  flags: number; dbId: number; callId: number; hopcount: number;
  key: Buffer; callData: Buffer;
}
export interface ReplyCall extends Header {
  operation: typeof Operation.REPLY_CALL;
  status: number; data: Buffer;
}
export interface ReqDmaster extends Header {
  operation: typeof Operation.REQ_DMASTER;
  dbId: number; rsn: bigint; dmaster: number; key: Buffer; data: Buffer;
  /** Record flags appended after the data (0 when the sender left them out). */
  recordFlags: number;
}
export interface ReplyDmaster extends Header {
  operation: typeof Operation.REPLY_DMASTER;
  dbId: number; rsn: bigint; key: Buffer; data: Buffer; recordFlags: number;
}
export interface ReplyError extends Header {
  operation: typeof Operation.REPLY_ERROR;
  status: number; msg: string;
}
export interface ReqMessage extends Header {
  operation: typeof Operation.REQ_MESSAGE;
  srvid: bigint; data: Buffer;
}
export interface ReqControl extends Header {
  operation: typeof Operation.REQ_CONTROL;
  opcode: number; srvid: bigint; clientId: number; flags: number; data: Buffer;
}
export interface ReplyControl extends Header {
  operation: typeof Operation.REPLY_CONTROL;
  status: number; data: Buffer;
  /** Error text; encoded without a NUL as CTDB 4.17 sends it; a trailing NUL is accepted. */
  errmsg: string;
}
export interface ReqKeepalive extends Header {
  operation: typeof Operation.REQ_KEEPALIVE;
  /** Sender's version word, or undefined for an old-style header-only keepalive. */
  version?: number; uptime?: number;
}
export interface ReqTunnel extends Header {
  operation: typeof Operation.REQ_TUNNEL;
  tunnelId: bigint; flags: number; data: Buffer;
}

/** Any CTDB packet. */
export type Packet =
  | ReqCall | ReplyCall | ReqDmaster | ReplyDmaster | ReplyError
  | ReqMessage | ReqControl | ReplyControl | ReqKeepalive | ReqTunnel;

/** Rounds up to the packet alignment. */
export const alignPacket = (n: number): number =>
  Math.ceil(n / CTDB_DS_ALIGNMENT) * CTDB_DS_ALIGNMENT;

function encodeBody(w: Writer, p: Packet): void {
  switch (p.operation) {
    case Operation.REQ_CALL:
      if (p.key.length === 0) throw new CtdbError('EINVAL', 'REQ_CALL with an empty key');
      w.u32(p.flags).u32(p.dbId).u32(p.callId).u32(p.hopcount)
        .u32(p.key.length).u32(p.callData.length).bytes(p.key).bytes(p.callData);
      return;
    case Operation.REPLY_CALL:
      // CTDB 4.17 sizes REPLY_CALL as its C struct (a 1-byte data array rounded
      // to 4) plus datalen, so 4 zero bytes follow the data before padding.
      w.i32(p.status).u32(p.data.length).bytes(p.data).zeros(4);
      return;
    case Operation.REQ_DMASTER:
      w.u32(p.dbId).zeros(4).u64(p.rsn).u32(p.dmaster).u32(p.key.length).u32(p.data.length)
        .bytes(p.key).bytes(p.data).u32(p.recordFlags);
      return;
    case Operation.REPLY_DMASTER:
      w.u32(p.dbId).zeros(4).u64(p.rsn).u32(p.key.length).u32(p.data.length)
        .bytes(p.key).bytes(p.data).u32(p.recordFlags);
      return;
    case Operation.REPLY_ERROR: {
      const m = Buffer.from(p.msg, 'utf8');
      w.i32(p.status).u32(m.length + 1).bytes(m).u8(0);
      return;
    }
    case Operation.REQ_MESSAGE:
      w.u64(p.srvid).u32(p.data.length).bytes(p.data);
      return;
    case Operation.REQ_CONTROL:
      w.u32(p.opcode).u32(0).u64(p.srvid).u32(p.clientId).u32(p.flags).u32(p.data.length).bytes(p.data);
      return;
    case Operation.REPLY_CONTROL: {
      const e = Buffer.from(p.errmsg, 'utf8');
      w.i32(p.status).u32(p.data.length).u32(e.length).bytes(p.data).bytes(e);
      return;
    }
    case Operation.REQ_KEEPALIVE:
      if (p.version !== undefined) w.u32(p.version).u32(p.uptime ?? 0);
      return;
    case Operation.REQ_TUNNEL:
      w.u64(p.tunnelId).u32(p.flags).u32(p.data.length).bytes(p.data);
      return;
  }
}

/** Encodes a packet with its header and zero padding to 8 bytes. */
export function encodePacket(p: Packet): Buffer {
  const w = new Writer(64);
  w.u32(0).u32(CTDB_MAGIC).u32(CTDB_PROTOCOL).u32(p.generation).u32(p.operation)
    .u32(p.destnode).u32(p.srcnode).u32(p.reqid);
  encodeBody(w, p);
  const len = alignPacket(w.length);
  w.zeros(len - w.length);
  w.patchU32(0, len);
  return w.finish();
}

/** Decodes just the header fields; throws EPROTO on bad magic/version/length. */
export function decodeHeader(buf: Buffer): Header & { length: number; operation: number } {
  if (buf.length < HEADER_SIZE) throw new CtdbError('EMSGSIZE', `packet of ${buf.length} bytes is shorter than the header`);
  const r = new Reader(buf);
  const length = r.u32();
  const magic = r.u32();
  const version = r.u32();
  if (magic !== CTDB_MAGIC) throw new CtdbError('EPROTO', `bad packet magic 0x${magic.toString(16)}`);
  if (version !== CTDB_PROTOCOL) throw new CtdbError('EPROTO', `unsupported protocol version ${version}`);
  if (length < HEADER_SIZE) throw new CtdbError('EPROTO', `bad packet length ${length}`);
  return { length, generation: r.u32(), operation: r.u32(), destnode: r.u32(), srcnode: r.u32(), reqid: r.u32() };
}

/** Decodes one whole packet (as delivered by the framer). Throws CtdbError on malformed input. */
export function decodePacket(buf: Buffer): Packet {
  const h = decodeHeader(buf);
  if (h.length > buf.length) throw new CtdbError('EMSGSIZE', `packet says ${h.length} bytes, got ${buf.length}`);
  const r = new Reader(buf, HEADER_SIZE, h.length);
  const hdr: Header = { generation: h.generation, destnode: h.destnode, srcnode: h.srcnode, reqid: h.reqid };
  switch (h.operation) {
    case Operation.REQ_CALL: {
      const flags = r.u32(), dbId = r.u32(), callId = r.u32(), hopcount = r.u32();
      const keylen = r.u32(), datalen = r.u32();
      if (keylen === 0) throw new CtdbError('EINVAL', 'REQ_CALL with an empty key');
      return { operation: Operation.REQ_CALL, ...hdr, flags, dbId, callId, hopcount, key: r.bytes(keylen), callData: r.bytes(datalen) };
    }
    case Operation.REPLY_CALL: {
      const status = r.i32();
      return { operation: Operation.REPLY_CALL, ...hdr, status, data: r.bytes(r.u32()) };
    }
    case Operation.REQ_DMASTER: {
      const dbId = r.u32(); r.skip(4);
      const rsn = r.u64(), dmaster = r.u32(), keylen = r.u32(), datalen = r.u32();
      const key = r.bytes(keylen), data = r.bytes(datalen);
      const recordFlags = r.remaining >= 4 ? r.u32() : 0;
      return { operation: Operation.REQ_DMASTER, ...hdr, dbId, rsn, dmaster, key, data, recordFlags };
    }
    case Operation.REPLY_DMASTER: {
      const dbId = r.u32(); r.skip(4);
      const rsn = r.u64(), keylen = r.u32(), datalen = r.u32();
      const key = r.bytes(keylen), data = r.bytes(datalen);
      const recordFlags = r.remaining >= 4 ? r.u32() : 0;
      return { operation: Operation.REPLY_DMASTER, ...hdr, dbId, rsn, key, data, recordFlags };
    }
    case Operation.REPLY_ERROR: {
      const status = r.i32();
      const msg = r.fixedString(r.u32());
      return { operation: Operation.REPLY_ERROR, ...hdr, status, msg };
    }
    case Operation.REQ_MESSAGE: {
      const srvid = r.u64();
      return { operation: Operation.REQ_MESSAGE, ...hdr, srvid, data: r.bytes(r.u32()) };
    }
    case Operation.REQ_CONTROL: {
      const opcode = r.u32(); r.skip(4);
      const srvid = r.u64(), clientId = r.u32(), flags = r.u32();
      return { operation: Operation.REQ_CONTROL, ...hdr, opcode, srvid, clientId, flags, data: r.bytes(r.u32()) };
    }
    case Operation.REPLY_CONTROL: {
      const status = r.i32(), datalen = r.u32(), errorlen = r.u32();
      const data = r.bytes(datalen);
      const errmsg = r.fixedString(errorlen);
      return { operation: Operation.REPLY_CONTROL, ...hdr, status, data, errmsg };
    }
    case Operation.REQ_KEEPALIVE:
      if (r.remaining >= 8) return { operation: Operation.REQ_KEEPALIVE, ...hdr, version: r.u32(), uptime: r.u32() };
      return { operation: Operation.REQ_KEEPALIVE, ...hdr };
    case Operation.REQ_TUNNEL: {
      const tunnelId = r.u64(), flags = r.u32();
      return { operation: Operation.REQ_TUNNEL, ...hdr, tunnelId, flags, data: r.bytes(r.u32()) };
    }
    default:
      throw new CtdbError('EPROTO', `unknown packet operation ${h.operation}`);
  }
}
