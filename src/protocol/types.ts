/**
 * Node, database, tunable and message payloads (spec/wire-protocol.md §4).
 * Contract for every pair here: `encodeX(w, v)` appends X's exact wire layout
 * (little-endian, 64-bit padding written as zeros); `decodeX(r)` reads it,
 * ignores padding contents, and throws CtdbError EMSGSIZE when the input is
 * short or EINVAL when a field is invalid (bad bool, family, count or length).
 */
import { CtdbError } from '../common/errors.js';
import type { Reader, Writer } from './buffer.js';
import { decodeSockAddr, decodeTimeval, encodeSockAddr, encodeTimeval, type SockAddr, type Timeval } from './sock-addr.js';

/** Reads a u32 element count and rejects counts the remaining bytes cannot hold. */
export function readCount(r: Reader, elemSize: number, what: string): number {
  const n = r.u32();
  if (elemSize > 0 && n * elemSize > r.remaining) {
    throw new CtdbError('EMSGSIZE', `${what}: count ${n} needs ${n * elemSize} bytes, have ${r.remaining}`);
  }
  return n;
}

/** Decodes `n` elements in order. */
export function readArray<T>(r: Reader, n: number, dec: (r: Reader) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(dec(r));
  return out;
}

/** One node of a node map: PNN, node flags, node address (port 4379). 36 bytes. */
export interface NodeAndFlags { pnn: number; flags: number; addr: SockAddr }
export const encodeNodeAndFlags = (w: Writer, v: NodeAndFlags): void => {
  w.u32(v.pnn).u32(v.flags); encodeSockAddr(w, v.addr);
};
export const decodeNodeAndFlags = (r: Reader): NodeAndFlags =>
  ({ pnn: r.u32(), flags: r.u32(), addr: decodeSockAddr(r) });

/** GET_NODEMAP / GET_NODES_FILE reply: u32 count then nodes. */
export interface NodeMap { nodes: NodeAndFlags[] }
export const encodeNodeMap = (w: Writer, v: NodeMap): void => {
  w.u32(v.nodes.length); v.nodes.forEach((n) => encodeNodeAndFlags(w, n));
};
export const decodeNodeMap = (r: Reader): NodeMap =>
  ({ nodes: readArray(r, readCount(r, 36, 'node map'), decodeNodeAndFlags) });

/** The VNN map: generation and the PNNs of active lmasters. */
export interface VnnMap { generation: number; map: number[] }
export const encodeVnnMap = (w: Writer, v: VnnMap): void => {
  w.u32(v.generation).u32(v.map.length); v.map.forEach((p) => w.u32(p));
};
export const decodeVnnMap = (r: Reader): VnnMap => {
  const generation = r.u32();
  return { generation, map: readArray(r, readCount(r, 4, 'vnn map'), (x) => x.u32()) };
};

/** A database id and its DB flags (u8 + pad3). 8 bytes. */
export interface DbidEntry { dbId: number; flags: number }
export const encodeDbidEntry = (w: Writer, v: DbidEntry): void => { w.u32(v.dbId).u8(v.flags).zeros(3); };
export const decodeDbidEntry = (r: Reader): DbidEntry => {
  const dbId = r.u32(); const flags = r.u8(); r.skip(3);
  return { dbId, flags };
};
/** GET_DBMAP reply. */
export interface DbidMap { dbs: DbidEntry[] }
export const encodeDbidMap = (w: Writer, v: DbidMap): void => {
  w.u32(v.dbs.length); v.dbs.forEach((d) => encodeDbidEntry(w, d));
};
export const decodeDbidMap = (r: Reader): DbidMap =>
  ({ dbs: readArray(r, readCount(r, 8, 'dbid map'), decodeDbidEntry) });

/** UPTIME reply: four timevals. */
export interface Uptime {
  currentTime: Timeval; ctdbdStartTime: Timeval; lastRecoveryStarted: Timeval; lastRecoveryFinished: Timeval;
}
export const encodeUptime = (w: Writer, v: Uptime): void => {
  encodeTimeval(w, v.currentTime); encodeTimeval(w, v.ctdbdStartTime);
  encodeTimeval(w, v.lastRecoveryStarted); encodeTimeval(w, v.lastRecoveryFinished);
};
export const decodeUptime = (r: Reader): Uptime => ({
  currentTime: decodeTimeval(r), ctdbdStartTime: decodeTimeval(r),
  lastRecoveryStarted: decodeTimeval(r), lastRecoveryFinished: decodeTimeval(r),
});

/** Number of u32 values in GET_ALL_TUNABLES. */
export const TUNABLE_LIST_SIZE = 62;
/** GET_ALL_TUNABLES reply: 62 u32 in wire (idx) order. */
export interface TunableList { values: number[] }
export const encodeTunableList = (w: Writer, v: TunableList): void => {
  if (v.values.length !== TUNABLE_LIST_SIZE) {
    throw new CtdbError('EINVAL', `tunable list needs ${TUNABLE_LIST_SIZE} values, got ${v.values.length}`);
  }
  v.values.forEach((x) => w.u32(x));
};
export const decodeTunableList = (r: Reader): TunableList =>
  ({ values: readArray(r, TUNABLE_LIST_SIZE, (x) => x.u32()) });

/**
 * LIST_TUNABLES reply: u32 length then ':'-joined names with a NUL. Encodes
 * the 4.17 daemon's form (a leading ':'); decodes with or without it.
 */
export interface VarList { names: string[] }
export const encodeVarList = (w: Writer, v: VarList): void => {
  const text = v.names.length === 0 ? '' : `:${v.names.join(':')}`;
  const b = Buffer.from(text, 'utf8');
  w.u32(b.length + 1).bytes(b).u8(0);
};
export const decodeVarList = (r: Reader): VarList => {
  const len = r.u32();
  const text = r.fixedString(len);
  return { names: text.split(':').filter((s) => s !== '') };
};

/** SET_TUNABLE request: u32 value then stringn name. */
export interface Tunable { name: string; value: number }
export const encodeTunable = (w: Writer, v: Tunable): void => { w.u32(v.value).stringn(v.name); };
export const decodeTunable = (r: Reader): Tunable => { const value = r.u32(); return { name: r.stringn(), value }; };

/** SET/GET_BAN_STATE: PNN and ban time in seconds (0 = unban). */
export interface BanState { pnn: number; time: number }
export const encodeBanState = (w: Writer, v: BanState): void => { w.u32(v.pnn).u32(v.time); };
export const decodeBanState = (r: Reader): BanState => ({ pnn: r.u32(), time: r.u32() });

/** MODIFY_FLAGS / PUSH_NODE_FLAGS: u32 pnn, new_flags, old_flags. */
export interface NodeFlagChange { pnn: number; newFlags: number; oldFlags: number }
export const encodeNodeFlagChange = (w: Writer, v: NodeFlagChange): void => { w.u32(v.pnn).u32(v.newFlags).u32(v.oldFlags); };
export const decodeNodeFlagChange = (r: Reader): NodeFlagChange => ({ pnn: r.u32(), newFlags: r.u32(), oldFlags: r.u32() });

/** SRVID_ELECTION payload (32 bytes). */
export interface ElectionMessage { numConnected: number; priorityTime: Timeval; pnn: number; nodeFlags: number }
export const encodeElectionMessage = (w: Writer, v: ElectionMessage): void => {
  w.u32(v.numConnected).zeros(4); encodeTimeval(w, v.priorityTime); w.u32(v.pnn).u32(v.nodeFlags);
};
export const decodeElectionMessage = (r: Reader): ElectionMessage => {
  const numConnected = r.u32(); r.skip(4);
  const priorityTime = decodeTimeval(r);
  return { numConnected, priorityTime, pnn: r.u32(), nodeFlags: r.u32() };
};

/** A reply address: PNN and srvid (TAKEOVER_RUN, MEM_DUMP). 16 bytes. */
export interface SrvidMessage { pnn: number; srvid: bigint }
export const encodeSrvidMessage = (w: Writer, v: SrvidMessage): void => { w.u32(v.pnn).zeros(4).u64(v.srvid); };
export const decodeSrvidMessage = (r: Reader): SrvidMessage => {
  const pnn = r.u32(); r.skip(4); return { pnn, srvid: r.u64() };
};

/** DISABLE_TAKEOVER_RUNS / DISABLE_RECOVERIES payload; timeout in seconds. 24 bytes. */
export interface DisableMessage { pnn: number; srvid: bigint; timeout: number }
export const encodeDisableMessage = (w: Writer, v: DisableMessage): void => {
  w.u32(v.pnn).zeros(4).u64(v.srvid).u32(v.timeout).zeros(4);
};
export const decodeDisableMessage = (r: Reader): DisableMessage => {
  const pnn = r.u32(); r.skip(4);
  const srvid = r.u64(); const timeout = r.u32(); r.skip(4);
  return { pnn, srvid, timeout };
};

/** CHECK_PID_SRVID request: i32 pid, u64 srvid, no padding. */
export interface PidSrvid { pid: number; srvid: bigint }
export const encodePidSrvid = (w: Writer, v: PidSrvid): void => { w.i32(v.pid).u64(v.srvid); };
export const decodePidSrvid = (r: Reader): PidSrvid => ({ pid: r.i32(), srvid: r.u64() });

/** ECHO_DATA: u32 timeout (ms of delay), counted blob. */
export interface EchoData { timeout: number; buf: Buffer }
export const encodeEchoData = (w: Writer, v: EchoData): void => { w.u32(v.timeout).datan(v.buf); };
export const decodeEchoData = (r: Reader): EchoData => ({ timeout: r.u32(), buf: r.datan() });

/** REGISTER_NOTIFY: srvid and a counted blob sent when the client disconnects. */
export interface NotifyData { srvid: bigint; data: Buffer }
export const encodeNotifyData = (w: Writer, v: NotifyData): void => { w.u64(v.srvid).datan(v.data); };
export const decodeNotifyData = (r: Reader): NotifyData => ({ srvid: r.u64(), data: r.datan() });

/** DB_VACUUM request: u32 db_id, bool (5 bytes). */
export interface DbVacuum { dbId: number; fullVacuumRun: boolean }
export const encodeDbVacuum = (w: Writer, v: DbVacuum): void => { w.u32(v.dbId).bool(v.fullVacuumRun); };
export const decodeDbVacuum = (r: Reader): DbVacuum => ({ dbId: r.u32(), fullVacuumRun: r.bool() });
