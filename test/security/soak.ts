/**
 * Packet soak: feeds a running daemon random and malformed packets on its
 * client socket and node port, reconnecting whenever it drops us, then
 * checks it still answers. Used by security.test.ts (short) and by hand:
 *   npm run build && npx tsx test/security/soak.ts --packets 1000000
 * which starts its own one-node cluster on 127.0.0.190 (node 1 = .191 is
 * impersonated on the node port) and kills it by PID at the end.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Operation, Pnn } from '../../src/protocol/constants.js';
import { PacketFramer } from '../../src/protocol/framer.js';
import { decodePacket, encodePacket, type Packet } from '../../src/protocol/packets.js';
import { Rng } from '../sim/rng.js';

/** Controls that only read state: safe to send with random data in bulk. */
export const READ_ONLY_OPCODES = [0, 1, 3, 4, 5, 7, 9, 15, 25, 30, 35, 49, 50, 53, 55, 69, 80, 87, 90, 91, 97, 99, 110, 120, 122, 123, 124, 127, 132, 138, 140, 149, 151, 156, 23, 24];

/**
 * One random packet (deterministic in the rng): mostly well framed with
 * random operations, opcodes and payloads (so they reach the handlers);
 * about one in `malformedEvery` is broken (bit flips in the header, bad
 * lengths, truncated bodies) and makes the daemon drop the connection.
 */
export function randomPacket(rng: Rng, srcnode: number, destnode: number, malformedEvery = 50): Buffer {
  const data = Buffer.alloc(rng.int(4) === 0 ? rng.int(200) : rng.int(16));
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const hdr = { generation: rng.int(3) === 0 ? rng.u32() : 1, destnode, srcnode, reqid: rng.u32() };
  if (rng.int(malformedEvery) === 0) {
    const b = Buffer.concat([encodePacket({ operation: Operation.REQ_KEEPALIVE, ...hdr } as Packet), data]);
    b.writeUInt32LE(b.length, 0);
    switch (rng.int(4)) {
      case 0: b.writeUInt32LE(rng.u32(), 16); break; // any operation, any body
      case 1: b[rng.int(Math.min(b.length, 32))]! ^= 1 << rng.int(8); break; // header bit flip
      case 2: b.writeUInt32LE(rng.int(16) === 0 ? rng.u32() : rng.int(40), 0); break; // bad length
      default: return b.subarray(0, rng.int(b.length)); // cut short
    }
    return b;
  }
  let p: Packet;
  switch (rng.int(rng.int(10) === 0 ? 5 : 4)) {
    case 0: case 1: {
      const opcode = rng.int(6) === 0 ? rng.range(159, 100_000) : rng.pick(READ_ONLY_OPCODES);
      p = { operation: Operation.REQ_CONTROL, ...hdr, opcode, srvid: BigInt(rng.u32()), clientId: rng.u32(), flags: rng.int(4), data } as Packet;
      break;
    }
    case 2:
      p = { operation: Operation.REQ_CALL, ...hdr, flags: rng.int(4), dbId: rng.u32(), callId: rng.int(8), hopcount: rng.int(5), key: Buffer.concat([Buffer.from([1]), data]), callData: Buffer.alloc(0) } as Packet;
      break;
    case 3:
      // Replies nobody asked for.
      p = rng.int(2) === 0
        ? { operation: Operation.REPLY_CONTROL, ...hdr, status: rng.u32() | 0, data, errmsg: '' } as Packet
        : { operation: Operation.REPLY_CALL, ...hdr, status: 0, data } as Packet;
      break;
    default: {
      // A well-framed packet of any operation number with a random body.
      const b = Buffer.concat([encodePacket({ operation: Operation.REQ_KEEPALIVE, ...hdr } as Packet), data]);
      b.writeUInt32LE(b.length, 0);
      b.writeUInt32LE(rng.int(8) === 0 ? rng.u32() : rng.range(0, 12), 16);
      return b;
    }
  }
  return encodePacket(p);
}

/** Counts of one soak. */
export interface SoakResult {
  sent: number; connections: number; replies: number;
  /** Connections the daemon closed (malformed input). */
  dropped: number;
  /** Connections we gave up on: a cut-short packet left the daemon waiting for the rest (as it should). */
  stalled: number;
  /** Batches ended by a packet whose length field does not match its size (sent last, without a ping). */
  broken: number;
}

/** Where to send: the client socket, or the node port posing as node `srcnode` from `localAddress`. */
export type SoakTarget = { socket: string } | { host: string; port: number; localAddress: string; srcnode: number; destnode: number };

const PING = 3;

/**
 * Sends `packets` random packets to `target` in batches; after each batch a
 * PING with a known reqid must be answered before the next (on the node port
 * the answer goes to `replies`, a listener the caller runs). Stops at
 * `deadlineMs` (wall clock) too.
 */
export async function soak(target: SoakTarget, packets: number, seed: number, deadlineMs: number, nodeReplies?: ReplyListener): Promise<SoakResult> {
  const rng = new Rng(seed);
  const res: SoakResult = { sent: 0, connections: 0, replies: 0, dropped: 0, stalled: 0, broken: 0 };
  const until = Date.now() + deadlineMs;
  const isNode = !('socket' in target);
  const src = isNode ? target.srcnode : Pnn.UNKNOWN;
  const dst = isNode ? target.destnode : Pnn.CURRENT;
  while (res.sent < packets && Date.now() < until) {
    const s = await open(target);
    res.connections++;
    const framer = new PacketFramer();
    let closed = false;
    const waiters = new Map<number, () => void>();
    s.on('data', (d) => {
      try {
        for (const raw of framer.push(d)) { res.replies++; try { const p = decodePacket(raw); waiters.get(p.reqid)?.(); } catch { /* ours to ignore */ } }
      } catch { /* the daemon never sends junk; ignore */ }
    });
    const gone = new Promise<void>((r) => s.once('close', () => { closed = true; r(); }));
    s.on('error', () => {});
    while (!closed && res.sent < packets && Date.now() < until) {
      const batch: Buffer[] = [];
      let framingBroken = false;
      for (let i = 0; i < 50 && res.sent < packets && !framingBroken; i++, res.sent++) {
        const b = randomPacket(rng, src, dst);
        batch.push(b);
        // A length field that disagrees with the packet's size eats what follows (or waits for
        // more): nothing after it would be parsed as sent, so it ends the batch and the connection.
        framingBroken = b.length < 4 || b.readUInt32LE(0) !== b.length;
      }
      if (framingBroken) {
        res.broken++;
        s.write(Buffer.concat(batch));
        // The daemon drops the connection or waits for the rest of a packet that never comes.
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([gone.then(() => 'closed'), new Promise((r) => { timer = setTimeout(() => r('waiting'), 20); })]);
        clearTimeout(timer);
        if (outcome === 'waiting') res.stalled++;
        break;
      }
      const reqid = 0x7000_0000 + res.connections * 1000 + (res.sent % 1000);
      const ping = encodePacket({ operation: Operation.REQ_CONTROL, generation: 1, destnode: dst, srcnode: src, reqid, opcode: PING, srvid: 0n, clientId: 0, flags: 0, data: Buffer.alloc(0) } as Packet);
      const answered = new Promise<void>((r) => { waiters.set(reqid, r); nodeReplies?.waiters.set(reqid, r); });
      s.write(Buffer.concat([...batch, ping]));
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([answered.then(() => 'ok'), gone.then(() => 'closed'), new Promise((r) => { timer = setTimeout(() => r('timeout'), 1000); })]);
      clearTimeout(timer);
      waiters.delete(reqid); nodeReplies?.waiters.delete(reqid);
      if (outcome === 'timeout') { res.stalled++; break; }
    }
    if (closed) res.dropped++;
    s.destroy();
    await gone;
  }
  if (nodeReplies) res.replies += nodeReplies.count;
  return res;
}

function open(t: SoakTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = 'socket' in t ? connect(t.socket) : connect({ host: t.host, port: t.port, localAddress: t.localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** A listener on a node address that accepts the daemon's own connection and reads what it sends. */
export interface ReplyListener { server: Server; count: number; waiters: Map<number, () => void>; close(): Promise<void> }

/** Listens on `host:port` as a fake peer node; counts and matches what the daemon sends. */
export async function listenAsPeer(host: string, port: number): Promise<ReplyListener> {
  const sockets = new Set<Socket>();
  const l: ReplyListener = {
    server: createServer((s) => {
      sockets.add(s);
      const f = new PacketFramer();
      s.on('data', (d) => {
        try {
          for (const raw of f.push(d)) { l.count++; try { l.waiters.get(decodePacket(raw).reqid)?.(); } catch { /* ignore */ } }
        } catch { s.destroy(); }
      });
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }),
    count: 0,
    waiters: new Map(),
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); l.server.close(() => r()); }),
  };
  await new Promise<void>((resolve, reject) => { l.server.once('error', reject); l.server.listen(port, host, () => resolve()); });
  return l;
}

/** Resident set size of `pid` in KiB from /proc, or -1 when it cannot be read. */
function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch { return -1; }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { packets: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' }, 'max-seconds': { type: 'string', default: '3600' } } });
  const { LocalCluster } = await import('../harness/cluster.js');
  const c = new LocalCluster({ nodes: 2, firstOctet: 190 });
  const n = Number(values.packets);
  const seed = Number(values.seed);
  const peer = await listenAsPeer('127.0.0.191', 4379);
  const onSignal = (): void => { for (const p of c.procs.values()) { try { p.kill('SIGKILL'); } catch { /* gone */ } } process.exit(130); };
  process.once('SIGINT', onSignal); process.once('SIGTERM', onSignal);
  try {
    c.start(0);
    if (!(await c.waitFor(() => c.ctdb(0, ['pnn']).code === 0, 30_000))) throw new Error('daemon did not start');
    const pid = c.procs.get(0)!.pid!;
    const rssBefore = rssKiB(pid);
    const t0 = Date.now();
    const a = await soak({ socket: join(c.base(0), 'run/ctdbd.socket') }, n, seed, Number(values['max-seconds']) * 1000);
    const b = await soak({ host: '127.0.0.190', port: 4379, localAddress: '127.0.0.191', srcnode: 1, destnode: 0 }, n, seed + 1, Number(values['max-seconds']) * 1000, peer);
    const alive = c.procs.get(0)?.exitCode === null && c.procs.get(0)?.signalCode === null;
    const ping = c.ctdb(0, ['ping']);
    const pnn = c.ctdb(0, ['pnn']);
    const rssAfter = rssKiB(pid);
    const secs = (Date.now() - t0) / 1000;
    for (const [name, r] of [['client socket', a], ['node port', b]] as const) {
      process.stdout.write(`${name}: sent=${r.sent} connections=${r.connections} dropped-by-daemon=${r.dropped} stalled=${r.stalled} broken-batches=${r.broken} replies=${r.replies}\n`);
    }
    process.stdout.write(`seconds=${secs.toFixed(1)} packets/s=${((a.sent + b.sent) / secs).toFixed(0)} daemon-alive=${alive} ping-exit=${ping.code} pnn=${pnn.stdout.trim()}\n`);
    process.stdout.write(`daemon rss before=${rssBefore} KiB after=${rssAfter} KiB\n`);
    return alive && ping.code === 0 && pnn.stdout.trim() === '0' ? 0 : 1;
  } finally {
    await peer.close();
    await c.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main().then((code) => { process.exitCode = code; }, (err) => { process.stderr.write(`soak: ${String(err)}\n`); process.exitCode = 1; });
