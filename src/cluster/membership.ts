import { NodeFlag } from '../protocol/constants.js';

/** One node as the local daemon sees it. */
export interface MemberState {
  pnn: number;
  address: string;
  /** Flags as last reported by the node itself (never DISCONNECTED). */
  flags: number;
  connected: boolean;
  /** Keepalive intervals in a row with no traffic from the node. */
  deadCount: number;
  /** Traffic seen since the last keepalive check. */
  heard: boolean;
}

/** What a keepalive tick asks the daemon to do. */
export interface KeepaliveActions {
  /** Send REQ_KEEPALIVE to these nodes. */
  send: number[];
  /** These nodes stayed silent for KeepaliveLimit intervals: drop and reconnect. */
  dead: number[];
}

/**
 * Node membership as seen from one node: flags reported by each node,
 * local connectivity (DISCONNECTED is a purely local view) and keepalive
 * accounting. Pure: no sockets or timers; the daemon feeds it events.
 */
export class Membership {
  private readonly nodes = new Map<number, MemberState>();

  constructor(nodes: { pnn: number; address: string; deleted: boolean }[], readonly myPnn: number, myFlags: number) {
    this.reset(nodes, myFlags);
  }

  /** Replaces the node list (reloadnodes), keeping state of nodes that remain. */
  reset(nodes: { pnn: number; address: string; deleted: boolean }[], myFlags = this.ownFlags): void {
    const old = new Map(this.nodes);
    this.nodes.clear();
    for (const n of nodes) {
      const prev = old.get(n.pnn);
      const deleted = n.deleted ? NodeFlag.DELETED : 0;
      if (n.pnn === this.myPnn) {
        this.nodes.set(n.pnn, { pnn: n.pnn, address: n.address, flags: myFlags | deleted, connected: true, deadCount: 0, heard: false });
      } else if (prev && !n.deleted && prev.address === n.address && (prev.flags & NodeFlag.DELETED) === 0) {
        this.nodes.set(n.pnn, { ...prev });
      } else {
        this.nodes.set(n.pnn, { pnn: n.pnn, address: n.address, flags: deleted, connected: false, deadCount: 0, heard: false });
      }
    }
  }

  get ownFlags(): number { return this.nodes.get(this.myPnn)?.flags ?? 0; }

  /** All nodes in PNN order. */
  list(): MemberState[] { return [...this.nodes.values()].sort((a, b) => a.pnn - b.pnn); }

  get(pnn: number): MemberState | undefined { return this.nodes.get(pnn); }

  /** Flags of `pnn` as this node reports them (DISCONNECTED added from the local view). */
  flagsOf(pnn: number): number {
    const n = this.nodes.get(pnn);
    if (!n) return NodeFlag.DELETED;
    return n.connected || pnn === this.myPnn ? n.flags : n.flags | NodeFlag.DISCONNECTED;
  }

  /** Nodes that are not INACTIVE (deleted, disconnected, banned or stopped). */
  activeNodes(): number[] {
    return this.list().filter((n) => (this.flagsOf(n.pnn) & NodeFlag.INACTIVE) === 0).map((n) => n.pnn);
  }

  /** Connected, non-deleted nodes other than this one. */
  connectedPeers(): number[] {
    return this.list().filter((n) => n.pnn !== this.myPnn && n.connected && (n.flags & NodeFlag.DELETED) === 0).map((n) => n.pnn);
  }

  /** Sets this node's own flags; returns the old value. */
  setOwnFlags(flags: number): number {
    const me = this.nodes.get(this.myPnn)!;
    const old = me.flags;
    me.flags = flags & ~NodeFlag.DISCONNECTED;
    return old;
  }

  /** Records flags reported by another node about itself (or by the leader). */
  setFlags(pnn: number, flags: number): void {
    const n = this.nodes.get(pnn);
    if (!n || pnn === this.myPnn) return;
    n.flags = (flags & ~NodeFlag.DISCONNECTED) | (n.flags & NodeFlag.DELETED);
  }

  /** Our connection to `pnn` came up. */
  connected(pnn: number): void {
    const n = this.nodes.get(pnn);
    if (!n) return;
    n.connected = true; n.deadCount = 0; n.heard = true;
  }

  /** Our connection to `pnn` went down (or it was declared dead). */
  disconnected(pnn: number): void {
    const n = this.nodes.get(pnn);
    if (!n || pnn === this.myPnn) return;
    n.connected = false; n.deadCount = 0;
  }

  /** Any packet arrived from `pnn`. */
  heard(pnn: number): void {
    const n = this.nodes.get(pnn);
    if (n) n.heard = true;
  }

  /**
   * One KeepaliveInterval passed: every connected peer gets a keepalive, and a
   * peer silent for `limit` intervals in a row is reported dead.
   */
  keepaliveTick(limit: number): KeepaliveActions {
    const send: number[] = [];
    const dead: number[] = [];
    for (const n of this.nodes.values()) {
      if (n.pnn === this.myPnn || (n.flags & NodeFlag.DELETED) !== 0 || !n.connected) continue;
      if (n.heard) { n.deadCount = 0; } else { n.deadCount += 1; }
      n.heard = false;
      if (n.deadCount >= limit) {
        dead.push(n.pnn);
        n.connected = false; n.deadCount = 0;
        continue;
      }
      send.push(n.pnn);
    }
    return { send, dead };
  }
}
