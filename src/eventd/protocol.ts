import { CtdbError } from '../common/errors.js';
import { Reader, Writer } from '../protocol/buffer.js';

/**
 * Codecs for the event daemon protocol spoken on `eventd.socket`
 * (wire-protocol.md §8). Every packet starts with a 12-byte header
 * `u32 length, u32 version, u32 reqid`; `length` covers the whole packet.
 */

/**
 * Value sent in the header's second word. The spec (read from newer source)
 * names it "version = 1"; CTDB 4.17 sends 0 in both directions and ignores it
 * on receipt, so we send 0 and accept anything.
 */
export const EVENT_PROTOCOL_VERSION = 0;
/** Size of the packet header in bytes. */
export const EVENT_HEADER_SIZE = 12;
/** Largest packet accepted (status replies carry capped script output). */
export const EVENT_MAX_PACKET = 16 * 1024 * 1024;

/** Request commands. */
export const EventCmd = { RUN: 1, STATUS: 2, SCRIPT: 3 } as const;
export type EventCmdValue = (typeof EventCmd)[keyof typeof EventCmd];

/** RUN flags. */
export const RunFlag = { RUN_ALL: 0x1 } as const;

/** SCRIPT actions. */
export const ScriptAction = { DISABLE: 0, ENABLE: 1 } as const;

/** A point in time as CTDB sends it: seconds and microseconds. */
export interface TimeVal { sec: number; usec: number }

/** One script's last result within an event. */
export interface ScriptStatus {
  name: string;
  begin: TimeVal;
  end: TimeVal;
  /** 0 ok, >0 exit code, negative errno (-ETIMEDOUT, -ENOEXEC, -ECANCELED, -ENOMSG, -EINTR). */
  result: number;
  output: string;
}

export interface RunRequest { cmd: 1; component: string; event: string; args: string; timeout: number; flags: number }
export interface StatusRequest { cmd: 2; component: string; event: string }
export interface ScriptRequest { cmd: 3; component: string; script: string; action: number }
export type EventRequest = RunRequest | StatusRequest | ScriptRequest;

export interface EventReply {
  cmd: EventCmdValue;
  /**
   * 0 or a POSITIVE errno, as CTDB 4.17 sends it: RUN gives ENOEXEC when a
   * script failed, ETIMEDOUT, ECANCELED, ENOENT (no component); STATUS gives
   * EINVAL (never run) or ENOENT; SCRIPT gives ENOENT or EINVAL.
   */
  result: number;
  /** Present on a successful STATUS reply. */
  status?: { summary: number; scripts: ScriptStatus[] };
}

/** Converts milliseconds since the epoch to a TimeVal. */
export const timeValFromMs = (ms: number): TimeVal =>
  ({ sec: Math.floor(ms / 1000), usec: Math.round((ms % 1000) * 1000) });

/** Converts a TimeVal to (fractional) milliseconds since the epoch. */
export const msFromTimeVal = (t: TimeVal): number => t.sec * 1000 + t.usec / 1000;

// stringn where an empty string travels as a NULL (length 0), as CTDB does.
const writeStr = (w: Writer, s: string): void => { if (s === '') w.u32(0); else w.stringn(s); };

const encodeTimeVal = (w: Writer, t: TimeVal): void => { w.i64(t.sec); w.i64(t.usec); };
const decodeTimeVal = (r: Reader): TimeVal => ({ sec: r.i64n(), usec: r.i64n() });

/** Encodes one script status entry. */
export const encodeScriptStatus = (w: Writer, s: ScriptStatus): void => {
  writeStr(w, s.name); encodeTimeVal(w, s.begin); encodeTimeVal(w, s.end);
  w.i32(s.result); writeStr(w, s.output);
};
/** Decodes one script status entry. */
export const decodeScriptStatus = (r: Reader): ScriptStatus => ({
  name: r.stringn(), begin: decodeTimeVal(r), end: decodeTimeVal(r), result: r.i32(), output: r.stringn(),
});

/** Encodes a request body (after the header). */
export const encodeEventRequest = (w: Writer, v: EventRequest): void => {
  w.u32(v.cmd);
  switch (v.cmd) {
    case EventCmd.RUN:
      writeStr(w, v.component); writeStr(w, v.event); writeStr(w, v.args); w.u32(v.timeout); w.u32(v.flags);
      return;
    case EventCmd.STATUS:
      writeStr(w, v.component); writeStr(w, v.event);
      return;
    case EventCmd.SCRIPT:
      writeStr(w, v.component); writeStr(w, v.script); w.u32(v.action);
      return;
  }
};

/** Decodes a request body; throws CtdbError('EPROTO') on an unknown command. */
export const decodeEventRequest = (r: Reader): EventRequest => {
  const cmd = r.u32();
  switch (cmd) {
    case EventCmd.RUN:
      return { cmd, component: r.stringn(), event: r.stringn(), args: r.stringn(), timeout: r.u32(), flags: r.u32() };
    case EventCmd.STATUS:
      return { cmd, component: r.stringn(), event: r.stringn() };
    case EventCmd.SCRIPT:
      return { cmd, component: r.stringn(), script: r.stringn(), action: r.u32() };
    default:
      throw new CtdbError('EPROTO', `unknown event daemon command ${cmd}`);
  }
};

/** Encodes a reply body (after the header). */
export const encodeEventReply = (w: Writer, v: EventReply): void => {
  w.u32(v.cmd); w.i32(v.result);
  if (v.cmd === EventCmd.STATUS && v.result === 0 && v.status) {
    w.i32(v.status.summary); w.i32(v.status.scripts.length);
    for (const s of v.status.scripts) encodeScriptStatus(w, s);
  }
};

/** Decodes a reply body. */
export const decodeEventReply = (r: Reader): EventReply => {
  const cmd = r.u32() as EventCmdValue;
  const result = r.i32();
  if (cmd === EventCmd.STATUS && result === 0) {
    const summary = r.i32();
    const num = r.i32();
    if (num < 0 || num > 10000) throw new CtdbError('EPROTO', `bad script count ${num}`);
    const scripts: ScriptStatus[] = [];
    for (let i = 0; i < num; i++) scripts.push(decodeScriptStatus(r));
    return { cmd, result, status: { summary, scripts } };
  }
  return { cmd, result };
};

/** Wraps a body in a header and returns the whole packet. */
export function framePacket<T>(reqid: number, encode: (w: Writer, v: T) => void, v: T): Buffer {
  const w = new Writer();
  w.u32(0); w.u32(EVENT_PROTOCOL_VERSION); w.u32(reqid);
  encode(w, v);
  w.patchU32(0, w.length);
  return Buffer.from(w.finish());
}

/** A parsed packet header plus a reader positioned on the body. */
export interface EventPacket { reqid: number; version: number; body: Reader }

/** Parses one whole packet's header; the body is left to the caller. */
export function openPacket(pkt: Buffer): EventPacket {
  const r = new Reader(pkt);
  const length = r.u32();
  const version = r.u32();
  const reqid = r.u32();
  return { reqid, version, body: new Reader(pkt, EVENT_HEADER_SIZE, Math.min(length, pkt.length)) };
}

/**
 * Splits a stream into whole packets by the leading u32 length. Throws
 * CtdbError('EPROTO') on an impossible length; the caller then drops the peer.
 */
export class EventFramer {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len < EVENT_HEADER_SIZE + 4 || len > EVENT_MAX_PACKET) {
        throw new CtdbError('EPROTO', `invalid event packet length ${len}`);
      }
      if (this.buf.length < len) break;
      out.push(this.buf.subarray(0, len));
      this.buf = this.buf.subarray(len);
    }
    return out;
  }
}
