import { CtdbError } from '../common/errors.js';
import { ipFromBytes, ipToBytes, ipFamily, type IpFamily } from '../common/address.js';
import type { Reader, Writer } from './buffer.js';

/** A `struct timeval` on 64-bit Linux: seconds and microseconds (16 bytes). */
export interface Timeval { sec: number; usec: number }

/** Encodes a timeval as two i64. */
export const encodeTimeval = (w: Writer, v: Timeval): void => { w.i64(v.sec).i64(v.usec); };
/** Decodes a timeval; throws EMSGSIZE when short. */
export const decodeTimeval = (r: Reader): Timeval => ({ sec: r.i64n(), usec: r.i64n() });

/** Size of a marshalled `ctdb_sock_addr` (a sockaddr_in6-sized union). */
export const SOCK_ADDR_SIZE = 28;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * A socket address. `address` is canonical text (see parseIp). IPv6 flow info
 * and scope id are kept only when non-zero so that decoded values re-encode
 * to the same bytes.
 */
export interface SockAddr {
  family: IpFamily;
  address: string;
  port: number;
  flowinfo?: number;
  scopeId?: number;
}

/**
 * Encodes 28 bytes: family in host order, port and address in network order,
 * zero fill. Throws CtdbError EINVAL when `address` does not match `family`.
 */
export function encodeSockAddr(w: Writer, v: SockAddr): void {
  if (ipFamily(v.address) !== v.family) {
    throw new CtdbError('EINVAL', `address ${v.address} is not of family ${v.family}`);
  }
  if (!Number.isInteger(v.port) || v.port < 0 || v.port > 65535) {
    throw new CtdbError('EINVAL', `invalid port ${v.port}`);
  }
  const b = ipToBytes(v.address);
  if (v.family === 'inet') {
    w.u16(AF_INET).u16be(v.port).bytes(b).zeros(20);
  } else {
    w.u16(AF_INET6).u16be(v.port).u32(v.flowinfo ?? 0).bytes(b).u32(v.scopeId ?? 0);
  }
}

/** Decodes 28 bytes; throws CtdbError EINVAL on an unknown family, EMSGSIZE when short. */
export function decodeSockAddr(r: Reader): SockAddr {
  const family = r.u16();
  if (family === AF_INET) {
    const port = r.u16be();
    const address = ipFromBytes(r.bytes(4));
    r.skip(20);
    return { family: 'inet', address, port };
  }
  if (family === AF_INET6) {
    const port = r.u16be();
    const flowinfo = r.u32();
    const address = ipFromBytes(r.bytes(16));
    const scopeId = r.u32();
    const v: SockAddr = { family: 'inet6', address, port };
    if (flowinfo !== 0) v.flowinfo = flowinfo;
    if (scopeId !== 0) v.scopeId = scopeId;
    return v;
  }
  throw new CtdbError('EINVAL', `unknown socket address family ${family}`);
}
