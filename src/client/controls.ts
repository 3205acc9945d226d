import { CtdbError } from '../common/errors.js';
import { Reader, Writer, writeAll } from '../protocol/buffer.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import {
  decodeBanState, decodeNodeMap, decodeStatistics, decodeTunableList, decodeUptime, decodeVarList,
  decodeVnnMap, encodeBanState, encodePidSrvid, encodeTunable,
  type BanState, type NodeMap, type Statistics, type Uptime, type VnnMap,
} from '../protocol/payloads.js';
import type { CtdbClient, ControlOptions, ControlResult } from './client.js';

/** Error from a control that answered with a failure status. */
export class ControlError extends CtdbError {
  constructor(readonly opcode: number, readonly pnn: number, readonly status: number, readonly errmsg: string) {
    super('EIO', errmsg !== '' ? errmsg : `control ${opcodeName(opcode)} failed on node ${pnn}, ret=${status}`,
      { exitCode: status < 0 ? 1 : status || 1 });
  }
}

/** Sends a control and throws ControlError unless status is 0. */
export async function checked(c: CtdbClient, pnn: number, opcode: number, data?: Buffer, opts?: ControlOptions): Promise<ControlResult> {
  const r = await c.control(pnn, opcode, data, opts);
  if (r.status !== 0) throw new ControlError(opcode, pnn, r.status, r.errmsg);
  return r;
}

const u32 = (v: number): Buffer => writeAll((w: Writer, x: number) => { w.u32(x); }, v);
const readU32 = (b: Buffer): number => new Reader(b).u32();

/** A control that answers in `status` (PNN, pid, client count, mode); negative status throws. */
async function statusValue(c: CtdbClient, pnn: number, opcode: number, opts?: ControlOptions): Promise<number> {
  const r = await c.control(pnn, opcode, undefined, opts);
  if (r.status < 0) throw new ControlError(opcode, pnn, r.status, r.errmsg);
  return r.status;
}

/** GET_PNN: the PNN of `pnn` (use Pnn.CURRENT for the local daemon). */
export const getPnn = (c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> =>
  statusValue(c, pnn, Opcode.GET_PNN, opts);
export async function getNodemap(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<NodeMap> {
  return decodeNodeMap(new Reader((await checked(c, pnn, Opcode.GET_NODEMAP, undefined, opts)).data));
}
export async function getNodesFile(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<NodeMap> {
  return decodeNodeMap(new Reader((await checked(c, pnn, Opcode.GET_NODES_FILE, undefined, opts)).data));
}
export async function getVnnmap(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<VnnMap> {
  return decodeVnnMap(new Reader((await checked(c, pnn, Opcode.GETVNNMAP, undefined, opts)).data));
}
export const getRecmode = (c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> =>
  statusValue(c, pnn, Opcode.GET_RECMODE, opts);
export async function getCapabilities(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> {
  return readU32((await checked(c, pnn, Opcode.GET_CAPABILITIES, undefined, opts)).data);
}
export async function getRunstate(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> {
  return readU32((await checked(c, pnn, Opcode.GET_RUNSTATE, undefined, opts)).data);
}
export const getPid = (c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> =>
  statusValue(c, pnn, Opcode.GET_PID, opts);
/** PING: number of connected clients. */
export const ping = (c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> =>
  statusValue(c, pnn, Opcode.PING, opts);
export async function getUptime(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<Uptime> {
  return decodeUptime(new Reader((await checked(c, pnn, Opcode.UPTIME, undefined, opts)).data));
}
export async function getStatistics(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<Statistics> {
  return decodeStatistics(new Reader((await checked(c, pnn, Opcode.STATISTICS, undefined, opts)).data));
}
export async function resetStatistics(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.STATISTICS_RESET, undefined, opts);
}
export async function listTunables(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<string[]> {
  return decodeVarList(new Reader((await checked(c, pnn, Opcode.LIST_TUNABLES, undefined, opts)).data)).names;
}
/** GET_TUNABLE: the value, or undefined when the daemon does not know the name. */
export async function getTunable(c: CtdbClient, pnn: number, name: string, opts?: ControlOptions): Promise<number | undefined> {
  const w = new Writer(); w.stringn(name);
  const r = await c.control(pnn, Opcode.GET_TUNABLE, w.finish(), opts);
  if (r.status !== 0) return undefined;
  return readU32(r.data);
}
/** SET_TUNABLE: returns the status (0 ok, 1 obsolete, -1 unknown). */
export async function setTunable(c: CtdbClient, pnn: number, name: string, value: number, opts?: ControlOptions): Promise<number> {
  const r = await c.control(pnn, Opcode.SET_TUNABLE, writeAll(encodeTunable, { name, value }), opts);
  return r.status;
}
export async function getAllTunables(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number[]> {
  return decodeTunableList(new Reader((await checked(c, pnn, Opcode.GET_ALL_TUNABLES, undefined, opts)).data)).values;
}
export async function getDebug(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<number> {
  return new Reader((await checked(c, pnn, Opcode.GET_DEBUG, undefined, opts)).data).i32();
}
export async function setDebug(c: CtdbClient, pnn: number, level: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SET_DEBUG, u32(level), opts);
}
export async function setBanState(c: CtdbClient, pnn: number, state: BanState, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SET_BAN_STATE, writeAll(encodeBanState, state), opts);
}
export async function getBanState(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<BanState> {
  return decodeBanState(new Reader((await checked(c, pnn, Opcode.GET_BAN_STATE, undefined, opts)).data));
}
/** A control with no data and no reply data; throws on failure. */
export async function simple(c: CtdbClient, pnn: number, opcode: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, opcode, undefined, opts);
}
export async function setLeaderRole(c: CtdbClient, pnn: number, on: boolean, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SET_RECMASTERROLE, u32(on ? 1 : 0), opts);
}
export async function setLmasterRole(c: CtdbClient, pnn: number, on: boolean, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SET_LMASTERROLE, u32(on ? 1 : 0), opts);
}
export async function setRecmode(c: CtdbClient, pnn: number, mode: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SET_RECMODE, u32(mode), opts);
}
/** PROCESS_EXISTS: 0 when `pid` is a connected client of that daemon. */
export async function processExists(c: CtdbClient, pnn: number, pid: number, opts?: ControlOptions): Promise<number> {
  const w = new Writer(); w.i32(pid);
  return (await c.control(pnn, Opcode.PROCESS_EXISTS, w.finish(), opts)).status;
}
export async function checkPidSrvid(c: CtdbClient, pnn: number, pid: number, srvid: bigint, opts?: ControlOptions): Promise<number> {
  return (await c.control(pnn, Opcode.CHECK_PID_SRVID, writeAll(encodePidSrvid, { pid, srvid }), opts)).status;
}
export async function getReclockFile(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<string> {
  const d = (await checked(c, pnn, Opcode.GET_RECLOCK_FILE, undefined, opts)).data;
  const z = d.indexOf(0);
  return d.subarray(0, z < 0 ? d.length : z).toString('utf8');
}
export async function registerSrvid(c: CtdbClient, srvid: bigint, opts?: ControlOptions): Promise<void> {
  await checked(c, 0xF0000001, Opcode.REGISTER_SRVID, undefined, { ...opts, srvid });
}
export async function deregisterSrvid(c: CtdbClient, srvid: bigint, opts?: ControlOptions): Promise<void> {
  await c.control(0xF0000001, Opcode.DEREGISTER_SRVID, undefined, { ...opts, srvid });
}
