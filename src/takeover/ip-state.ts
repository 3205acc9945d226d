/**
 * One node's public IP table: the addresses it may host (from
 * public_addresses), which interface each is active on, interface link state
 * and references, and the tracked TCP connections (tickles) per address.
 * Pure bookkeeping: no sockets, timers or events (src/daemon/public-ips.ts
 * runs the events and sends packets).
 */
import { formatIpPort } from '../common/address.js';
import { CtdbError } from '../common/errors.js';
import type { PublicAddressEntry } from '../common/public-addresses.js';

/** PNN meaning "nobody hosts it" on the wire. */
export const UNKNOWN_PNN = 0xffffffff;

/** One public address as this node sees it. */
export interface IpEntry {
  readonly address: string;
  mask: number;
  /** Configured interfaces, file order. */
  ifaces: string[];
  /** Who this node believes hosts it (UNKNOWN_PNN when nobody). */
  pnn: number;
  /** Interface it is active on here, when this node hosts it. */
  activeIface?: string;
}

/** An interface: link state and how many active addresses use it. */
export interface IfaceState { name: string; linkUp: boolean; references: number }

/** A TCP endpoint. */
export interface Endpoint { address: string; port: number }
/** A tracked connection: client endpoint and server (public IP) endpoint. */
export interface TrackedConnection { client: Endpoint; server: Endpoint }

const connKey = (c: TrackedConnection): string => `${formatIpPort(c.client)} ${formatIpPort(c.server)}`;

/** What a TAKEOVER_IP needs done on this node. */
export type TakeAction =
  | { kind: 'none'; iface: string }
  | { kind: 'takeip'; iface: string }
  | { kind: 'updateip'; oldIface: string; iface: string };

/** The public IP table of one node. */
export class IpTable {
  readonly entries = new Map<string, IpEntry>();
  readonly ifaces = new Map<string, IfaceState>();
  private readonly tickles = new Map<string, Map<string, TrackedConnection>>();
  /** Addresses whose tickle list changed since it was last sent to the other nodes. */
  readonly tickleDirty = new Set<string>();

  /** Entries in configuration order. */
  list(): IpEntry[] { return [...this.entries.values()]; }

  get(address: string): IpEntry | undefined { return this.entries.get(address); }

  private ensureIfaces(names: readonly string[]): void {
    for (const n of names) if (!this.ifaces.has(n)) this.ifaces.set(n, { name: n, linkUp: true, references: 0 });
  }

  /**
   * Adds an address (ADD_PUBLIC_IP, file load). Throws CtdbError EEXIST when
   * the address is already configured.
   */
  add(e: PublicAddressEntry): IpEntry {
    if (this.entries.has(e.address)) throw new CtdbError('EEXIST', `public address ${e.address} is already configured`);
    this.ensureIfaces(e.ifaces);
    const entry: IpEntry = { address: e.address, mask: e.mask, ifaces: [...e.ifaces], pnn: UNKNOWN_PNN };
    this.entries.set(e.address, entry);
    return entry;
  }

  /** Updates mask and interfaces of a configured address (reload). */
  update(e: PublicAddressEntry): void {
    const entry = this.entries.get(e.address);
    if (!entry) return;
    this.ensureIfaces(e.ifaces);
    entry.mask = e.mask;
    entry.ifaces = [...e.ifaces];
  }

  /** Forgets an address (it must not be active). */
  remove(address: string): void {
    this.entries.delete(address);
    this.tickles.delete(address);
    this.tickleDirty.delete(address);
    const used = new Set(this.list().flatMap((x) => x.ifaces));
    for (const n of [...this.ifaces.keys()]) {
      if (!used.has(n) && this.ifaces.get(n)!.references === 0) this.ifaces.delete(n);
    }
  }

  /**
   * The interface a TAKEOVER_IP should use: among the address's configured
   * interfaces with link up, the one with fewest references (first in
   * configured order on ties); undefined when none is up.
   */
  bestIface(entry: IpEntry): string | undefined {
    let best: IfaceState | undefined;
    for (const n of entry.ifaces) {
      const i = this.ifaces.get(n);
      if (!i || !i.linkUp) continue;
      if (!best || i.references < best.references) best = i;
    }
    return best?.name;
  }

  /**
   * Decides what a TAKEOVER_IP means here: nothing (already on a good
   * interface), takeip, or updateip when the current interface is down or
   * carries more than one reference above the best. Throws CtdbError
   * ENETDOWN when no configured interface has link up.
   */
  planTake(entry: IpEntry): TakeAction {
    const best = this.bestIface(entry);
    const cur = entry.activeIface;
    if (best === undefined) {
      throw new CtdbError('ENETDOWN', `no interface with link up for public address ${entry.address} (${entry.ifaces.join(',')})`);
    }
    if (cur === undefined) return { kind: 'takeip', iface: best };
    const c = this.ifaces.get(cur);
    const b = this.ifaces.get(best)!;
    // The address already counts once on its current interface.
    if (!c || !c.linkUp || c.references - 1 > b.references + 1) return { kind: 'updateip', oldIface: cur, iface: best };
    return { kind: 'none', iface: cur };
  }

  /** Records that the address is now active on `iface`. */
  setActive(entry: IpEntry, iface: string | undefined): void {
    if (entry.activeIface !== undefined) {
      const old = this.ifaces.get(entry.activeIface);
      if (old && old.references > 0) old.references--;
    }
    entry.activeIface = iface;
    if (iface !== undefined) this.ifaces.get(iface)!.references++;
  }

  /** Whether any configured interface of the address has link up. */
  hasLinkUp(entry: IpEntry): boolean { return entry.ifaces.some((n) => this.ifaces.get(n)?.linkUp); }

  /** Sets an interface's link state; throws CtdbError ENOENT for an unknown interface. Returns whether it changed. */
  setLink(name: string, up: boolean): boolean {
    const i = this.ifaces.get(name);
    if (!i) throw new CtdbError('ENOENT', `interface ${name} is not used by any public address`);
    const changed = i.linkUp !== up;
    i.linkUp = up;
    return changed;
  }

  // ------------------------------------------------------------ tickles

  /** Adds a tracked connection to its server address's list; false when already there or the address is unknown. */
  addConnection(c: TrackedConnection): boolean {
    if (!this.entries.has(c.server.address)) return false;
    let m = this.tickles.get(c.server.address);
    if (!m) { m = new Map(); this.tickles.set(c.server.address, m); }
    const k = connKey(c);
    if (m.has(k)) return false;
    m.set(k, c);
    this.tickleDirty.add(c.server.address);
    return true;
  }

  /** Removes a tracked connection; false when it was not tracked. */
  removeConnection(c: TrackedConnection): boolean {
    const m = this.tickles.get(c.server.address);
    if (!m || !m.delete(connKey(c))) return false;
    this.tickleDirty.add(c.server.address);
    return true;
  }

  /** The tracked connections to `address`, optionally only those to server port `port` (0 = all). */
  connections(address: string, port = 0): TrackedConnection[] {
    const all = [...(this.tickles.get(address)?.values() ?? [])];
    return port === 0 ? all : all.filter((c) => c.server.port === port);
  }

  /** Replaces the list for `address` (SET_TCP_TICKLE_LIST); ignored for unknown addresses. */
  replaceConnections(address: string, conns: readonly TrackedConnection[]): void {
    if (!this.entries.has(address)) return;
    const m = new Map<string, TrackedConnection>();
    for (const c of conns) if (c.server.address === address) m.set(connKey(c), c);
    this.tickles.set(address, m);
  }
}
