/**
 * Public IP, interface and TCP connection payloads (spec/wire-protocol.md §4).
 * Contract for every pair here: `encodeX(w, v)` appends X's exact wire layout
 * (little-endian, 64-bit padding written as zeros); `decodeX(r)` reads it,
 * ignores padding contents, and throws CtdbError EMSGSIZE when the input is
 * short or EINVAL when a field is invalid (bad bool, family, count or length).
 */
import { CtdbError } from '../common/errors.js';
import type { Reader, Writer } from './buffer.js';
import { decodeSockAddr, encodeSockAddr, type SockAddr } from './sock-addr.js';
import { readArray, readCount } from './types.js';

/** A public IP and its owner (0xFFFFFFFF = unassigned). 32 bytes. */
export interface PublicIp { pnn: number; addr: SockAddr }
export const encodePublicIp = (w: Writer, v: PublicIp): void => { w.u32(v.pnn); encodeSockAddr(w, v.addr); };
export const decodePublicIp = (r: Reader): PublicIp => ({ pnn: r.u32(), addr: decodeSockAddr(r) });

/** GET_PUBLIC_IPS reply. */
export interface PublicIpList { ips: PublicIp[] }
export const encodePublicIpList = (w: Writer, v: PublicIpList): void => {
  w.u32(v.ips.length); v.ips.forEach((ip) => encodePublicIp(w, ip));
};
export const decodePublicIpList = (r: Reader): PublicIpList =>
  ({ ips: readArray(r, readCount(r, 32, 'public ip list'), decodePublicIp) });

/** Bytes of an interface name field (IFNAMSIZ + 2), NUL padded. */
export const IFACE_NAME_SIZE = 18;
/** A network interface: name, link state (0 down, 1 up), references. 24 bytes. */
export interface Iface { name: string; linkState: number; references: number }
export const encodeIface = (w: Writer, v: Iface): void => {
  if (Buffer.byteLength(v.name) >= IFACE_NAME_SIZE) {
    throw new CtdbError('EINVAL', `interface name '${v.name}' longer than ${IFACE_NAME_SIZE - 1} bytes`);
  }
  w.fixedString(v.name, IFACE_NAME_SIZE).u16(v.linkState).u32(v.references);
};
export const decodeIface = (r: Reader): Iface =>
  ({ name: r.fixedString(IFACE_NAME_SIZE), linkState: r.u16(), references: r.u32() });

/** GET_IFACES reply. */
export interface IfaceList { ifaces: Iface[] }
export const encodeIfaceList = (w: Writer, v: IfaceList): void => {
  w.u32(v.ifaces.length); v.ifaces.forEach((i) => encodeIface(w, i));
};
export const decodeIfaceList = (r: Reader): IfaceList =>
  ({ ifaces: readArray(r, readCount(r, 24, 'iface list'), decodeIface) });

/** GET_PUBLIC_IP_INFO reply; activeIdx 0xFFFFFFFF = not active here. */
export interface PublicIpInfo { ip: PublicIp; activeIdx: number; ifaces: Iface[] }
export const encodePublicIpInfo = (w: Writer, v: PublicIpInfo): void => {
  encodePublicIp(w, v.ip); w.u32(v.activeIdx); encodeIfaceList(w, { ifaces: v.ifaces });
};
export const decodePublicIpInfo = (r: Reader): PublicIpInfo => {
  const ip = decodePublicIp(r); const activeIdx = r.u32();
  return { ip, activeIdx, ifaces: decodeIfaceList(r).ifaces };
};

/** A TCP connection: src = client endpoint, dst = server (public IP) endpoint. 56 bytes. */
export interface Connection { src: SockAddr; dst: SockAddr }
export const encodeConnection = (w: Writer, v: Connection): void => { encodeSockAddr(w, v.src); encodeSockAddr(w, v.dst); };
export const decodeConnection = (r: Reader): Connection => ({ src: decodeSockAddr(r), dst: decodeSockAddr(r) });

/** u32 count then connections. */
export interface ConnectionList { conns: Connection[] }
export const encodeConnectionList = (w: Writer, v: ConnectionList): void => {
  w.u32(v.conns.length); v.conns.forEach((c) => encodeConnection(w, c));
};
export const decodeConnectionList = (r: Reader): ConnectionList =>
  ({ conns: readArray(r, readCount(r, 56, 'connection list'), decodeConnection) });

/** GET/SET_TCP_TICKLE_LIST: a public address and its connections. */
export interface TickleList { addr: SockAddr; conns: Connection[] }
export const encodeTickleList = (w: Writer, v: TickleList): void => {
  encodeSockAddr(w, v.addr); encodeConnectionList(w, { conns: v.conns });
};
export const decodeTickleList = (r: Reader): TickleList => {
  const addr = decodeSockAddr(r); return { addr, conns: decodeConnectionList(r).conns };
};

/**
 * ADD/DEL_PUBLIC_IP, SEND_GRATUITOUS_ARP: address, prefix bits, interface name.
 * An empty `iface` is sent as a NULL stringn (length 0), as `ctdb delip` does.
 */
export interface AddrInfo { addr: SockAddr; mask: number; iface: string }
export const encodeAddrInfo = (w: Writer, v: AddrInfo): void => {
  encodeSockAddr(w, v.addr); w.u32(v.mask);
  if (v.iface === '') w.u32(0); else w.stringn(v.iface);
};
export const decodeAddrInfo = (r: Reader): AddrInfo => {
  const addr = decodeSockAddr(r); const mask = r.u32(); return { addr, mask, iface: r.stringn() };
};
