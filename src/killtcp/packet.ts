/**
 * Pure builders and parsers for the raw packets killtcp sends and captures:
 * IPv4/IPv6 headers, TCP headers and their checksums. No sockets here.
 */
import { ipFromBytes, ipToBytes, type IpFamily } from '../common/address.js';
import { CtdbError } from '../common/errors.js';

/** One TCP endpoint: canonical address text, port, family. */
export interface Endpoint { address: string; port: number; family: IpFamily }

/** TCP flag bits used here. */
export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** Window value marking packets we send, so the capture can skip them. */
export const TICKLE_WINDOW = 1234;

export const IPPROTO_TCP = 6;
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_HEADER = 20;

/** What to put in one outgoing segment. */
export interface SegmentSpec {
  src: Endpoint;
  dst: Endpoint;
  /** Sequence and acknowledgement numbers, unsigned 32-bit. */
  seq: number;
  ack: number;
  /** True for RST|ACK, false for a bare ACK (a tickle). */
  rst: boolean;
}

/** A TCP segment seen by the capture socket. Addresses are canonical text. */
export interface CapturedSegment {
  src: Endpoint;
  dst: Endpoint;
  seq: number;
  ack: number;
  flags: number;
  window: number;
}

/** Adds 16-bit big-endian words of `b[from, to)` to `sum` (odd tail padded with zero). */
const bytesCache = new Map<string, Uint8Array>();

/** Network-order bytes of an address; cached, since a batch repeats a few addresses many times. */
function addressBytes(address: string): Uint8Array {
  let b = bytesCache.get(address);
  if (!b) {
    if (bytesCache.size >= 4096) bytesCache.clear();
    b = ipToBytes(address);
    bytesCache.set(address, b);
  }
  return b;
}

function addWords(sum: number, b: Uint8Array, from: number, to: number): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < to) sum += b[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The Internet checksum (RFC 1071) of `b[from, to)`, as the value to store. */
export function internetChecksum(b: Uint8Array, from = 0, to = b.length): number {
  return ~fold(addWords(0, b, from, to)) & 0xffff;
}

/**
 * The TCP checksum of the segment `b[from, to)` (its checksum field must be
 * zero, or the result is the verification value 0 when it is already right)
 * with the pseudo-header of `src`/`dst` (4 or 16 network-order bytes each).
 */
export function tcpChecksum(b: Uint8Array, from: number, to: number, src: Uint8Array, dst: Uint8Array): number {
  let sum = addWords(0, src, 0, src.length);
  sum = addWords(sum, dst, 0, dst.length);
  const len = to - from;
  // IPv4 pseudo-header: zero, protocol, 16-bit length; IPv6: 32-bit length, 3 zero bytes, next header.
  sum += IPPROTO_TCP + (len & 0xffff) + (src.length === 16 ? Math.floor(len / 0x10000) : 0);
  sum = addWords(sum, b, from, to);
  return ~fold(sum) & 0xffff;
}

/**
 * Builds a whole IP packet (IPv4 or IPv6 header, then a 20-byte TCP header,
 * no payload) for a raw socket with the header included. Window is
 * TICKLE_WINDOW; flags ACK, plus RST when `spec.rst`. Both checksums are
 * filled. Throws CtdbError EINVAL when the families differ.
 */
export function buildSegment(spec: SegmentSpec): Buffer {
  const { src, dst } = spec;
  if (src.family !== dst.family) {
    throw new CtdbError('EINVAL', `address families differ: ${src.address} and ${dst.address}`);
  }
  const s = addressBytes(src.address);
  const d = addressBytes(dst.address);
  const v6 = src.family === 'inet6';
  const ipLen = v6 ? IPV6_HEADER : IPV4_HEADER;
  const pkt = Buffer.alloc(ipLen + TCP_HEADER);
  if (v6) {
    pkt[0] = 0x60;
    pkt.writeUInt16BE(TCP_HEADER, 4);
    pkt[6] = IPPROTO_TCP;
    pkt[7] = 64;
    pkt.set(s, 8);
    pkt.set(d, 24);
  } else {
    pkt[0] = 0x45;
    pkt.writeUInt16BE(pkt.length, 2);
    pkt[8] = 255;
    pkt[9] = IPPROTO_TCP;
    pkt.set(s, 12);
    pkt.set(d, 16);
    pkt.writeUInt16BE(internetChecksum(pkt, 0, IPV4_HEADER), 10);
  }
  const t = ipLen;
  pkt.writeUInt16BE(src.port, t);
  pkt.writeUInt16BE(dst.port, t + 2);
  pkt.writeUInt32BE(spec.seq >>> 0, t + 4);
  pkt.writeUInt32BE(spec.ack >>> 0, t + 8);
  pkt[t + 12] = (TCP_HEADER / 4) << 4;
  pkt[t + 13] = TcpFlags.ACK | (spec.rst ? TcpFlags.RST : 0);
  pkt.writeUInt16BE(TICKLE_WINDOW, t + 14);
  pkt.writeUInt16BE(tcpChecksum(pkt, t, pkt.length, s, d), t + 16);
  return pkt;
}

function ipv4Text(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/**
 * Parses a captured network-layer packet (starting at the IP header, as an
 * AF_PACKET SOCK_DGRAM socket delivers it). Returns the TCP segment, or
 * undefined for anything else: not IP, not TCP, IPv4 fragments, IPv6 with
 * extension headers, or truncated headers. Never throws.
 */
export function parseCaptured(b: Uint8Array, len = b.length): CapturedSegment | undefined {
  if (len < 1) return undefined;
  const version = b[0]! >> 4;
  let t: number;
  let src: Endpoint;
  let dst: Endpoint;
  if (version === 4) {
    if (len < IPV4_HEADER) return undefined;
    const ihl = (b[0]! & 0x0f) * 4;
    if (ihl < IPV4_HEADER || b[9] !== IPPROTO_TCP) return undefined;
    // More-fragments bit or a non-zero offset: not a whole first fragment.
    if (((b[6]! << 8) | b[7]!) & 0x3fff) return undefined;
    t = ihl;
    if (len < t + TCP_HEADER) return undefined;
    src = { address: ipv4Text(b, 12), port: (b[t]! << 8) | b[t + 1]!, family: 'inet' };
    dst = { address: ipv4Text(b, 16), port: (b[t + 2]! << 8) | b[t + 3]!, family: 'inet' };
  } else if (version === 6) {
    t = IPV6_HEADER;
    if (len < t + TCP_HEADER || b[6] !== IPPROTO_TCP) return undefined;
    src = { address: ipFromBytes(b.subarray(8, 24)), port: (b[t]! << 8) | b[t + 1]!, family: 'inet6' };
    dst = { address: ipFromBytes(b.subarray(24, 40)), port: (b[t + 2]! << 8) | b[t + 3]!, family: 'inet6' };
  } else {
    return undefined;
  }
  const u32 = (at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  return {
    src, dst,
    seq: u32(t + 4),
    ack: u32(t + 8),
    flags: b[t + 13]!,
    window: (b[t + 14]! << 8) | b[t + 15]!,
  };
}

/** True for segments killtcp itself sent (the window marker with RST or seq 0). */
export function isOwnSegment(s: CapturedSegment): boolean {
  return s.window === TICKLE_WINDOW && ((s.flags & TcpFlags.RST) !== 0 || s.seq === 0);
}
