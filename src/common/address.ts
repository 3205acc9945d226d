import ipaddr from 'ipaddr.js';
import { CtdbError } from './errors.js';

/** Address family names used across the project. */
export type IpFamily = 'inet' | 'inet6';

/** An IP address with a port, as text. */
export interface IpPort { address: string; port: number; family: IpFamily }

/**
 * Parses an IPv4 (dotted quad only) or IPv6 address and returns its canonical
 * text (IPv6 compressed as RFC 5952, lower case). Throws CtdbError EINVAL
 * naming the input when it is not an address.
 */
export function parseIp(text: string): string {
  return formatAddr(parseAddr(text));
}

/** Canonical text; IPv4-mapped IPv6 keeps its dotted tail as inet_ntop prints it. */
function formatAddr(a: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) {
    return `::ffff:${(a as ipaddr.IPv6).toIPv4Address().toString()}`;
  }
  return a.toString();
}

function parseAddr(text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const t = text.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(t)) return ipaddr.IPv4.parse(t);
  if (t.includes(':') && ipaddr.IPv6.isValid(t)) {
    const a = ipaddr.IPv6.parse(t);
    // Zone ids (fe80::1%eth0) are not carried in CTDB addresses.
    if (a.zoneId !== undefined) a.zoneId = undefined;
    return a;
  }
  throw new CtdbError('EINVAL', `invalid IP address '${text}'`);
}

/** True when `text` is a valid IPv6 address (IPv4 and junk give false). */
export function isIpv6(text: string): boolean {
  const t = text.trim();
  return t.includes(':') && ipaddr.IPv6.isValid(t);
}

/** The family of a valid address; throws EINVAL otherwise. */
export function ipFamily(text: string): IpFamily {
  return parseAddr(text).kind() === 'ipv6' ? 'inet6' : 'inet';
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new CtdbError('EINVAL', `invalid port in '${whole}'`);
  }
  return Number(text);
}

/**
 * Parses `1.2.3.4:80`, `[fe80::1]:80`, or a bare IPv6 `fe80::1:80`-free form
 * with brackets only. The port is required. Throws CtdbError EINVAL.
 */
export function parseIpPort(text: string): IpPort {
  const t = text.trim();
  let host: string;
  let port: string;
  const m = /^\[([^\]]+)\]:(.*)$/.exec(t);
  if (m) {
    host = m[1]!; port = m[2]!;
  } else {
    const i = t.lastIndexOf(':');
    if (i < 0) throw new CtdbError('EINVAL', `missing port in '${text}'`);
    host = t.slice(0, i); port = t.slice(i + 1);
    // An unbracketed IPv6 address with a port is ambiguous: insist on brackets.
    if (host.includes(':')) throw new CtdbError('EINVAL', `IPv6 address needs brackets in '${text}'`);
  }
  const a = parseAddr(host);
  return { address: formatAddr(a), port: parsePort(port, text), family: a.kind() === 'ipv6' ? 'inet6' : 'inet' };
}

/** Formats an address and port: `1.2.3.4:80`, `[fe80::1]:80`. */
export function formatIpPort(addr: { address: string; port: number }): string {
  return isIpv6(addr.address) ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
}

/** A socket address as the wire codecs use it (see src/protocol/sock-addr.ts). */
export interface SockAddrLike { family: IpFamily; address: string; port: number }

/**
 * Converts `1.2.3.4`, `1.2.3.4:80`, `fe80::1` or `[fe80::1]:80` to a socket
 * address (port 0 when absent). Throws CtdbError EINVAL.
 */
export function sockAddrFromText(text: string): SockAddrLike {
  const t = text.trim();
  if (t.startsWith('[') || (!t.includes('::') && (t.match(/:/g) ?? []).length === 1)) {
    const p = parseIpPort(t);
    return { family: p.family, address: p.address, port: p.port };
  }
  const a = parseAddr(t);
  return { family: a.kind() === 'ipv6' ? 'inet6' : 'inet', address: formatAddr(a), port: 0 };
}

/** Text for a socket address: the bare address when port is 0, else `addr:port`. */
export function sockAddrToText(a: { address: string; port: number }): string {
  return a.port === 0 ? a.address : formatIpPort(a);
}

/**
 * Orders addresses numerically, every IPv4 before any IPv6. Returns <0, 0, >0.
 * Throws CtdbError EINVAL on an invalid address.
 */
export function compareIps(a: string, b: string): number {
  const x = parseAddr(a).toByteArray();
  const y = parseAddr(b).toByteArray();
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** The address as network-order bytes (4 or 16). Throws CtdbError EINVAL. */
export function ipToBytes(text: string): Uint8Array {
  return Uint8Array.from(parseAddr(text).toByteArray());
}

/** Canonical text of 4 or 16 network-order bytes. */
export function ipFromBytes(b: Uint8Array): string {
  if (b.length !== 4 && b.length !== 16) throw new CtdbError('EINVAL', `address of ${b.length} bytes`);
  return formatAddr(ipaddr.fromByteArray(Array.from(b)));
}
