import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { PacketFramer } from '../protocol/framer.js';
import { Operation } from '../protocol/constants.js';
import { decodePacket, type Packet } from '../protocol/packets.js';

/** A peer as the transport knows it. */
export interface PeerAddress { pnn: number; address: string; deleted: boolean }

/** Callbacks from the transport into the daemon. */
export interface TransportEvents {
  /** A valid packet arrived from node `pnn` (srcnode already checked). */
  packet(pnn: number, p: Packet): void;
  /** Our outgoing connection to `pnn` is up. */
  connected(pnn: number): void;
  /** Our outgoing connection to `pnn` went down. */
  disconnected(pnn: number): void;
}

/**
 * True when packet `p` read from the connection of node `from` may be
 * handed on. A packet must name its sending node as srcnode, with one
 * exception CTDB needs: a REQ_CALL that was redirected (hopcount > 0) keeps
 * its requester in srcnode, which must be a node of the nodes file (not
 * deleted; possibly this node, whose own request came back). A node could
 * claim another requester only for a record request, and every member may
 * already ask for any record, so this grants nothing the sender lacks.
 */
export function acceptSource(p: Pick<Packet, 'operation' | 'srcnode'> & { hopcount?: number }, from: number, peers: readonly PeerAddress[]): boolean {
  if (p.srcnode === from) return true;
  if (p.operation !== Operation.REQ_CALL || !(p.hopcount! > 0)) return false;
  return peers.some((n) => n.pnn === p.srcnode && !n.deleted);
}

const normalise = (a: string | undefined): string => (a ?? '').replace(/^::ffff:/, '');

/**
 * Node-to-node TCP transport. Each node opens one outgoing connection to every
 * other node, bound to its own node address, and sends everything for that node
 * on it; accepted connections are only read from. Connections from addresses
 * not in the nodes file are refused, and packets whose srcnode does not match
 * the connection's node are dropped (except redirected REQ_CALLs: acceptSource).
 */
export class NodeTransport {
  private server?: Server;
  private readonly out = new Map<number, Socket>();
  private readonly up = new Set<number>();
  private readonly retry = new Map<number, NodeJS.Timeout>();
  /** Accepted connections and the node each comes from. */
  private readonly incoming = new Map<Socket, number>();
  private stopped = false;

  constructor(
    private peers: PeerAddress[],
    private readonly myPnn: number,
    private readonly myAddress: string,
    private readonly port: number,
    private readonly events: TransportEvents,
    private readonly log: Logger,
  ) {}

  /** Starts listening; resolves when the port is bound, rejects with the bind error. */
  async listen(): Promise<void> {
    this.server = createServer({ noDelay: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: this.myAddress, port: this.port, exclusive: true }, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    for (const p of this.peers) if (p.pnn !== this.myPnn && !p.deleted) this.dial(p);
  }

  /** Replaces the peer list (reloadnodes): dials new nodes, drops deleted ones. */
  updatePeers(peers: PeerAddress[]): void {
    this.peers = peers;
    for (const p of peers) {
      if (p.pnn === this.myPnn) continue;
      if (p.deleted) { this.drop(p.pnn); continue; }
      if (!this.out.has(p.pnn) && !this.retry.has(p.pnn)) this.dial(p);
    }
  }

  isConnected(pnn: number): boolean { return this.up.has(pnn); }

  /** Sends encoded bytes to `pnn`; returns false when that node is not connected. */
  send(pnn: number, bytes: Buffer): boolean {
    const s = this.out.get(pnn);
    if (!s || !this.up.has(pnn)) return false;
    s.write(bytes);
    return true;
  }

  /** Drops our connection to `pnn` (it is re-dialled unless deleted). */
  restart(pnn: number): void {
    const s = this.out.get(pnn);
    if (s) s.destroy();
    this.dropIncoming(pnn);
  }

  /** Closes every accepted connection from `pnn`. */
  private dropIncoming(pnn: number): void {
    for (const [s, from] of this.incoming) if (from === pnn) { this.incoming.delete(s); s.destroy(); }
  }

  private pnnOf(address: string): number | undefined {
    return this.peers.find((p) => !p.deleted && p.address === address)?.pnn;
  }

  private accept(s: Socket): void {
    const remote = normalise(s.remoteAddress);
    const pnn = this.pnnOf(remote);
    if (pnn === undefined || pnn === this.myPnn) {
      this.log.warn({ remote }, 'refusing connection from an address that is not in the nodes file');
      s.destroy();
      return;
    }
    // A peer dials us once at a time: a new connection means its older ones are dead. Closing them
    // keeps packets the peer queued before a partition (still retransmitted by its kernel) from
    // arriving late and undoing newer state, such as its flags.
    this.dropIncoming(pnn);
    this.incoming.set(s, pnn);
    s.setKeepAlive(true);
    const framer = new PacketFramer();
    s.on('data', (chunk) => {
      let raws: Buffer[];
      try { raws = framer.push(chunk); } catch (err) {
        this.log.warn({ pnn, reason: (err as Error).message }, 'corrupt stream from node, dropping connection');
        s.destroy();
        return;
      }
      for (const raw of raws) {
        let p: Packet;
        try { p = decodePacket(raw); } catch (err) {
          this.log.warn({ pnn, reason: (err as Error).message }, 'malformed packet from node, dropping connection');
          s.destroy();
          return;
        }
        if (!acceptSource(p, pnn, this.peers)) {
          this.log.warn({ pnn, srcnode: p.srcnode }, 'packet claims another node as its source, dropped');
          continue;
        }
        this.events.packet(pnn, p);
      }
    });
    s.on('error', () => { /* close follows */ });
    s.on('close', () => this.incoming.delete(s));
  }

  private dial(peer: PeerAddress): void {
    if (this.stopped) return;
    this.retry.delete(peer.pnn);
    const s = connect({ host: peer.address, port: this.port, localAddress: this.myAddress, noDelay: true });
    this.out.set(peer.pnn, s);
    s.on('connect', () => {
      s.setKeepAlive(true);
      this.up.add(peer.pnn);
      this.log.info({ pnn: peer.pnn, address: peer.address }, 'connected to node');
      this.events.connected(peer.pnn);
    });
    // Anything arriving on an outgoing connection is unexpected; ignore it.
    s.on('data', () => {});
    s.on('error', () => { /* close follows */ });
    s.on('close', () => {
      if (this.out.get(peer.pnn) === s) this.out.delete(peer.pnn);
      if (this.up.delete(peer.pnn)) {
        this.log.info({ pnn: peer.pnn }, 'connection to node lost');
        this.events.disconnected(peer.pnn);
      }
      const still = this.peers.find((p) => p.pnn === peer.pnn && !p.deleted);
      if (!this.stopped && still && !this.retry.has(peer.pnn)) {
        this.retry.set(peer.pnn, setTimeout(() => this.dial(still), 1000));
      }
    });
  }

  private drop(pnn: number): void {
    const t = this.retry.get(pnn);
    if (t) { clearTimeout(t); this.retry.delete(pnn); }
    const s = this.out.get(pnn);
    if (s) { this.out.delete(pnn); s.destroy(); }
    if (this.up.delete(pnn)) this.events.disconnected(pnn);
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const t of this.retry.values()) clearTimeout(t);
    this.retry.clear();
    for (const s of this.out.values()) s.destroy();
    for (const s of this.incoming.keys()) s.destroy();
    this.out.clear();
    this.up.clear();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
