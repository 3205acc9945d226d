/**
 * Typed client calls for public IPs, interfaces and connection tracking
 * (one async function per control). Failures throw ControlError.
 */
import { ipFamily } from '../common/address.js';
import { Reader, writeAll } from '../protocol/buffer.js';
import { ControlFlag } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import {
  decodeIfaceList, decodePublicIpInfo, decodePublicIpList, decodeTickleList, encodeAddrInfo, encodeConnection,
  encodeIface, encodePublicIp, encodeSockAddr,
  type Connection, type Iface, type PublicIp, type PublicIpInfo, type SockAddr,
} from '../protocol/payloads.js';
import type { ControlOptions, CtdbClient } from './client.js';
import { checked, ControlError } from './controls.js';

/** A socket address for `address` (port 0 unless given). */
export const ipAddr = (address: string, port = 0): SockAddr => ({ family: ipFamily(address), address, port });

/** GET_PUBLIC_IPS: the node's public addresses; `availableOnly` asks for those it could host now. */
export async function getPublicIps(c: CtdbClient, pnn: number, availableOnly = false, opts?: ControlOptions): Promise<PublicIp[]> {
  const r = await checked(c, pnn, Opcode.GET_PUBLIC_IPS, undefined, { ...opts, flags: availableOnly ? ControlFlag.GET_PUBLIC_IPS_AVAILABLE : 0 });
  return decodePublicIpList(new Reader(r.data)).ips;
}
/** GET_PUBLIC_IP_INFO for one address. */
export async function getPublicIpInfo(c: CtdbClient, pnn: number, address: string, opts?: ControlOptions): Promise<PublicIpInfo> {
  const r = await checked(c, pnn, Opcode.GET_PUBLIC_IP_INFO, writeAll(encodeSockAddr, ipAddr(address)), opts);
  return decodePublicIpInfo(new Reader(r.data));
}
/** GET_IFACES. */
export async function getIfaces(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<Iface[]> {
  return decodeIfaceList(new Reader((await checked(c, pnn, Opcode.GET_IFACES, undefined, opts)).data)).ifaces;
}
/** SET_IFACE_LINK_STATE. */
export async function setIfaceLink(c: CtdbClient, pnn: number, name: string, up: boolean, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SET_IFACE_LINK_STATE, writeAll(encodeIface, { name, linkState: up ? 1 : 0, references: 0 }), opts);
}
/** RELEASE_IP telling the node that `owner` is the new owner. */
export async function releaseIp(c: CtdbClient, pnn: number, address: string, owner: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.RELEASE_IP, writeAll(encodePublicIp, { pnn: owner >>> 0, addr: ipAddr(address) }), opts);
}
/** TAKEOVER_IP on the new owner. */
export async function takeoverIp(c: CtdbClient, pnn: number, address: string, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.TAKEOVER_IP, writeAll(encodePublicIp, { pnn, addr: ipAddr(address) }), opts);
}
/** ADD_PUBLIC_IP. */
export async function addPublicIp(c: CtdbClient, pnn: number, address: string, mask: number, iface: string, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.ADD_PUBLIC_IP, writeAll(encodeAddrInfo, { addr: ipAddr(address), mask, iface }), opts);
}
/** DEL_PUBLIC_IP. */
export async function delPublicIp(c: CtdbClient, pnn: number, address: string, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.DEL_PUBLIC_IP, writeAll(encodeAddrInfo, { addr: ipAddr(address), mask: 0, iface: '' }), opts);
}
/** RELOAD_PUBLIC_IPS. */
export async function reloadPublicIps(c: CtdbClient, pnn: number, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.RELOAD_PUBLIC_IPS, undefined, opts);
}
/** SEND_GRATUITOUS_ARP. */
export async function sendGratuitousArp(c: CtdbClient, pnn: number, address: string, iface: string, opts?: ControlOptions): Promise<void> {
  await checked(c, pnn, Opcode.SEND_GRATUITOUS_ARP, writeAll(encodeAddrInfo, { addr: ipAddr(address), mask: 0, iface }), opts);
}
/** GET_TCP_TICKLE_LIST: tracked connections to `address` (port 0 = every port). */
export async function getTickles(c: CtdbClient, pnn: number, address: string, port = 0, opts?: ControlOptions): Promise<Connection[]> {
  const r = await checked(c, pnn, Opcode.GET_TCP_TICKLE_LIST, writeAll(encodeSockAddr, ipAddr(address, port)), opts);
  return decodeTickleList(new Reader(r.data)).conns;
}

/** One step of a connection batch. */
export interface ConnectionOp { op: 'add' | 'del'; conn: Connection }

/**
 * Sends a batch of TCP_ADD_DELAYED_UPDATE / TCP_REMOVE controls back to back
 * (every request is written before any reply is awaited: one round trip per
 * batch, not per line), in order, then checks every reply. Throws
 * ControlError naming the first failing step (1-based).
 */
export async function applyConnections(c: CtdbClient, pnn: number, ops: readonly ConnectionOp[], opts?: ControlOptions): Promise<void> {
  const opcodeOf = (o: ConnectionOp): number => (o.op === 'add' ? Opcode.TCP_ADD_DELAYED_UPDATE : Opcode.TCP_REMOVE);
  const rs = await Promise.all(ops.map((o) => c.control(pnn, opcodeOf(o), writeAll(encodeConnection, o.conn), opts)));
  rs.forEach((r, i) => {
    if (r.status !== 0) throw new ControlError(opcodeOf(ops[i]!), pnn, r.status, `step ${i + 1} failed: ${r.errmsg || `ret=${r.status}`}`);
  });
}
