/**
 * Minimal pcap reader for recorded CTDB node traffic: reassembles each TCP
 * direction (IPv4 over Ethernet or Linux cooked capture) into a byte stream.
 * Test tooling only; assumes a lossless capture (loopback).
 */

/** One TCP direction, e.g. `127.0.0.91:40001>127.0.0.92:4379`, with its payload bytes in order. */
export interface TcpStream { flow: string; src: string; dst: string; firstSeen: number; data: Buffer }

const ipText = (b: Buffer, off: number): string => `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;

/** Parses a classic pcap file (either byte order, µs or ns) into per-direction TCP streams. */
export function readTcpStreams(file: Buffer): TcpStream[] {
  const magic = file.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error('not a pcap file');
  }
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linktype = u32(20);
  const linkHeader = linktype === 1 ? 14 : linktype === 113 ? 16 : linktype === 101 ? 0 : -1;
  if (linkHeader < 0) throw new Error(`unsupported link type ${linktype}`);
  const streams = new Map<string, { s: TcpStream; next: number; parts: Buffer[] }>();
  let off = 24;
  let index = 0;
  while (off + 16 <= file.length) {
    const incl = u32(off + 8);
    const pkt = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    index++;
    const ip = linkHeader;
    if (pkt.length < ip + 20 || pkt[ip]! >> 4 !== 4 || pkt[ip + 9] !== 6) continue;
    const ihl = (pkt[ip]! & 0xf) * 4;
    const totalLen = pkt.readUInt16BE(ip + 2);
    const tcp = ip + ihl;
    const sport = pkt.readUInt16BE(tcp); const dport = pkt.readUInt16BE(tcp + 2);
    const seq = pkt.readUInt32BE(tcp + 4);
    const doff = (pkt[tcp + 12]! >> 4) * 4;
    const flags = pkt[tcp + 13]!;
    const payload = pkt.subarray(tcp + doff, ip + totalLen);
    const src = `${ipText(pkt, ip + 12)}:${sport}`; const dst = `${ipText(pkt, ip + 16)}:${dport}`;
    const flow = `${src}>${dst}`;
    let st = streams.get(flow);
    if (!st) {
      // SYN consumes one sequence number; a stream seen mid-way starts at its first segment.
      st = { s: { flow, src, dst, firstSeen: index, data: Buffer.alloc(0) }, next: (flags & 0x02) ? (seq + 1) >>> 0 : seq, parts: [] };
      streams.set(flow, st);
    }
    if (payload.length === 0) continue;
    const skip = (st.next - seq) >>> 0;
    if (skip >= payload.length && skip < 0x80000000) continue; // retransmission
    if (skip >= 0x80000000) throw new Error(`gap in ${flow}: capture lost data`);
    st.parts.push(payload.subarray(skip));
    st.next = (seq + payload.length) >>> 0;
  }
  return [...streams.values()].map(({ s, parts }) => ({ ...s, data: Buffer.concat(parts) }))
    .filter((s) => s.data.length > 0).sort((a, b) => a.firstSeen - b.firstSeen);
}
