/**
 * What a new owner of a public address sends: gratuitous ARPs (IPv4) on the
 * interface, so neighbours update their caches, and tickle ACKs from the
 * server endpoint to every tracked client, so clients notice the move at
 * once (their reply draws an RST from a stack with no socket).
 */
import koffi from '../common/koffi-lazy.js';
import { loadLibc, type Libc } from '../killtcp/raw-socket.js';
import { readFileSync } from 'node:fs';
import { ipFamily, ipToBytes } from '../common/address.js';
import { CtdbError } from '../common/errors.js';
import { buildSegment } from '../killtcp/packet.js';
import { RawSender } from '../killtcp/raw-socket.js';

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ARP = 0x0806;
const ARPHRD_ETHER = 1;

type PacketLibc = Pick<Libc, 'socket' | 'setsockopt' | 'sendto' | 'close' | 'if_nametoindex'>;

/** The hardware address of `iface` (6 bytes), from sysfs. Throws CtdbError ENODEV. */
function macOf(iface: string): Buffer {
  let text: string;
  try { text = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim(); } catch (err) {
    throw new CtdbError('ENODEV', `no such interface '${iface}'`, { cause: err });
  }
  const b = Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
  if (b.length !== 6) throw new CtdbError('EOPNOTSUPP', `interface '${iface}' has no Ethernet address`);
  return b;
}

/**
 * Builds an ARP packet announcing `ip` at `mac` (no Ethernet header): a
 * request when `op` is 1, a reply when 2; sender and target address are both `ip`.
 */
export function buildGratuitousArp(mac: Uint8Array, ip: string, op: 1 | 2): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(ARPHRD_ETHER, 0);
  b.writeUInt16BE(0x0800, 2);
  b[4] = 6; b[5] = 4;
  b.writeUInt16BE(op, 6);
  const a = ipToBytes(ip);
  b.set(mac, 8); b.set(a, 14);
  if (op === 2) b.set(mac, 18);
  b.set(a, 24);
  return b;
}

/**
 * Builds an unsolicited ICMPv6 neighbour advertisement for `ip` at `mac`
 * (override flag set, target link-layer address option; checksum left 0
 * for the kernel to fill).
 */
export function buildNeighbourAdvert(mac: Uint8Array, ip: string): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 136; // neighbour advertisement
  b[4] = 0x20; // override
  b.set(ipToBytes(ip), 8);
  b[24] = 2; b[25] = 1; // target link-layer address, 8 bytes
  b.set(mac, 26);
  return b;
}

const AF_INET6 = 10;
const SOCK_RAW = 3;
const IPPROTO_IPV6 = 41;
const IPPROTO_ICMPV6 = 58;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;

/** Sends one unsolicited neighbour advertisement for `ip` to all nodes (ff02::1) on `iface`. */
function sendNeighbourAdvert(c: PacketLibc, iface: string, ifindex: number, ip: string): void {
  const fd = c.socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) throw new CtdbError('EPERM', `cannot open an ICMPv6 socket on ${iface} (errno ${koffi.errno()})`);
  try {
    const int = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32LE(v); return b; };
    c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, int(255), 4);
    c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, int(ifindex), 4);
    const sa = Buffer.alloc(28);
    sa.writeUInt16LE(AF_INET6, 0);
    sa.set(ipToBytes('ff02::1'), 8);
    sa.writeUInt32LE(ifindex, 24);
    const pkt = buildNeighbourAdvert(macOf(iface), ip);
    if (c.sendto(fd, pkt, pkt.length, 0, sa, sa.length) < 0) {
      throw new CtdbError('EIO', `sending neighbour advertisement for ${ip} on ${iface} failed (errno ${koffi.errno()})`);
    }
  } finally {
    c.close(fd);
  }
}

/**
 * Announces `ip` on `iface`: one gratuitous ARP request and reply (IPv4) or
 * one unsolicited neighbour advertisement (IPv6). Throws CtdbError on socket
 * errors (EPERM without root, ENODEV for an unknown interface).
 */
export function sendGratuitousArp(iface: string, ip: string): boolean {
  const c = loadLibc();
  if (ipFamily(ip) === 'inet6') {
    const idx = c.if_nametoindex(iface);
    if (idx === 0) throw new CtdbError('ENODEV', `no such interface '${iface}'`);
    sendNeighbourAdvert(c, iface, idx, ip);
    return true;
  }
  const ifindex = c.if_nametoindex(iface);
  if (ifindex === 0) throw new CtdbError('ENODEV', `no such interface '${iface}'`);
  const mac = macOf(iface);
  const fd = c.socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, Buffer.from([0x08, 0x06]).readUInt16LE(0));
  if (fd < 0) throw new CtdbError('EPERM', `cannot open a packet socket for ARP on ${iface} (errno ${koffi.errno()})`);
  try {
    const sll = Buffer.alloc(20);
    sll.writeUInt16LE(AF_PACKET, 0);
    sll.writeUInt16BE(ETH_P_ARP, 2);
    sll.writeInt32LE(ifindex, 4);
    sll.writeUInt16LE(ARPHRD_ETHER, 8);
    sll[11] = 6;
    sll.fill(0xff, 12, 18);
    for (const op of [1, 2] as const) {
      const pkt = buildGratuitousArp(mac, ip, op);
      if (c.sendto(fd, pkt, pkt.length, 0, sll, sll.length) < 0) {
        throw new CtdbError('EIO', `sending gratuitous ARP for ${ip} on ${iface} failed (errno ${koffi.errno()})`);
      }
    }
  } finally {
    c.close(fd);
  }
  return true;
}

/** A TCP endpoint for tickles. */
export interface TickleEndpoint { address: string; port: number }

/**
 * Sends one tickle ACK (seq 0, ack 0) from `src` to `dst` through a raw
 * socket. Throws CtdbError on socket errors; returns false when the kernel
 * had no room.
 */
export function sendTickle(sender: RawSender, src: TickleEndpoint, dst: TickleEndpoint): boolean {
  const family = ipFamily(src.address);
  const pkt = buildSegment({
    src: { ...src, family }, dst: { ...dst, family: ipFamily(dst.address) }, seq: 0, ack: 0, rst: false,
  });
  return sender.send(pkt, dst.address, family);
}

export { RawSender };
