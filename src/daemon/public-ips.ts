/**
 * The node side of public IP failover: the node's public addresses and
 * interfaces, the IP controls (GET_PUBLIC_IPS, TAKEOVER_IP, RELEASE_IP, …),
 * takeip/releaseip/updateip/ipreallocated events, connection tracking
 * (tickles) replicated to the other nodes, gratuitous ARPs and tickle ACKs
 * after a takeover, the periodic IP consistency check, and the leader's
 * takeover run (ctdb_takeover_helper, started per run).
 */
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { ipFamily } from '../common/address.js';
import { CtdbError } from '../common/errors.js';
import { loadPublicAddresses, type PublicAddressEntry } from '../common/public-addresses.js';
import { Reader, writeAll } from '../protocol/buffer.js';
import { ControlFlag, NodeFlag, RecMode, RunState, Srvid } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import {
  decodeAddrInfo, decodeConnection, decodeDisableMessage, decodeIface, decodePublicIp, decodeSockAddr,
  decodeTickleList, encodeConnection, encodeIfaceList, encodePublicIpInfo, encodePublicIpList, encodeSrvidMessage,
  encodeTickleList, type Connection, type SockAddr,
} from '../protocol/payloads.js';
import { RawSender, sendGratuitousArp, sendTickle } from '../takeover/announce.js';
import { runTakeoverHelperProcess } from '../takeover/spawn-helper.js';
import { IpTable, UNKNOWN_PNN, type IpEntry, type TrackedConnection } from '../takeover/ip-state.js';
import type { ControlReply } from './controls.js';
import type { Ctdbd } from './ctdbd.js';

/** START_IPREALLOCATE (post-4.17 opcode). */
export const OPCODE_START_IPREALLOCATE = 161;

const ok = (data?: Buffer): ControlReply => ({ status: 0, data });
const fail = (errmsg: string): ControlReply => ({ status: -1, errmsg });
const addrOf = (address: string, port = 0): SockAddr => ({ family: ipFamily(address), address, port });
const toTracked = (c: Connection): TrackedConnection => ({
  client: { address: c.src.address, port: c.src.port }, server: { address: c.dst.address, port: c.dst.port },
});
const toWire = (c: TrackedConnection): Connection => ({ src: addrOf(c.client.address, c.client.port), dst: addrOf(c.server.address, c.server.port) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Public IPs of one daemon; construct once with the daemon. */
export class PublicIps {
  readonly table = new IpTable();
  private readonly log;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private takeoverRunsDisabledUntil = 0;
  private ipCheckDisabledUntil = 0;
  private lastCheckRequest = 0;
  private sender?: RawSender;
  /** Connections registered with TCP_CLIENT, by the client that registered them (dropped when it goes). */
  private readonly clientConns = new Map<number, Connection[]>();
  /** Since when this node has been unable to take part (recovery mode, banned, stopped); 0 when it can. */
  private outSince = 0;
  private runningTakeover?: Promise<void>;
  /** PNNs named by SRVID_REBALANCE_NODE, handed to the next takeover run (LCP2 force-rebalance). */
  private readonly rebalance = new Set<number>();
  private queuedTakeover?: Promise<void>;

  constructor(private readonly d: Ctdbd) {
    this.log = d.log.child({ component: 'public-ips' });
    try {
      for (const e of loadPublicAddresses(d.opts.paths.publicAddressesFile)) this.table.add(e);
      this.log.info({ count: this.table.entries.size }, 'public addresses loaded');
    } catch (err) {
      // A broken file must not go unnoticed: refuse to start, as CTDB does. The
      // event daemon is already running and would keep this process alive.
      void d.events.close().catch(() => {});
      throw new CtdbError('EINVAL', `cannot load public addresses: ${(err as Error).message}`, { cause: err });
    }
    this.registerControls();
    d.onMessage(Srvid.DISABLE_TAKEOVER_RUNS, (data) => {
      const m = decodeDisableMessage(new Reader(data));
      this.takeoverRunsDisabledUntil = m.timeout === 0 ? 0 : Date.now() + m.timeout * 1000;
      if (m.srvid !== 0n) { const b = Buffer.alloc(4); b.writeInt32LE(d.pnn); d.sendMessage(m.pnn, m.srvid, b); }
    });
    d.onMessage(Srvid.DISABLE_IP_CHECK, (data) => {
      const secs = data.length >= 4 ? data.readUInt32LE(0) : 0;
      this.ipCheckDisabledUntil = secs === 0 ? 0 : Date.now() + secs * 1000;
    });
    d.onMessage(Srvid.REBALANCE_NODE, (data) => { if (data.length >= 4) this.rebalance.add(data.readUInt32LE(0)); });
    d.takeoverHook = () => this.scheduleTakeoverRun();
    this.loop(() => Math.max(1, d.tunable('TickleUpdateInterval')) * 1000, () => this.sendTickleUpdates());
    this.loop(() => (d.opts.paths.testMode ? 1000 : 5000), () => { this.dropGoneClients(); this.dropAllIfOut(); this.checkIps(); });
    d.onStop(() => this.stop());
  }

  private loop(period: () => number, fn: () => void): void {
    const arm = (): void => {
      const t = setTimeout(() => {
        if (this.stopped) return;
        try { fn(); } catch (err) { this.log.warn({ err }, 'public ip timer failed'); }
        this.timers = this.timers.filter((x) => x !== t);
        arm();
      }, period());
      this.timers.push(t);
    };
    arm();
  }

  /** At shutdown: stop the timers and release every address this node hosts. */
  private async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const e of this.table.list()) {
      if (e.activeIface !== undefined) await this.release(e, UNKNOWN_PNN);
    }
    this.sender?.close();
  }

  /** Whether this node may host addresses now (runstate and own flags). */
  private nodeCanHost(): boolean {
    const f = this.d.membership.ownFlags;
    return this.d.runstate === RunState.RUNNING && (f & (NodeFlag.INACTIVE | NodeFlag.DISABLED)) === 0;
  }

  private async runEvent(event: string, args: string[]): Promise<number> {
    const r = await this.d.events.run(event, args, this.d.tunable('EventScriptTimeout')).catch((err: unknown) => {
      this.log.error({ err, event }, 'event failed to run');
      return -1;
    });
    if (r !== 0) this.log.warn({ event, args, result: r }, 'event failed');
    return r;
  }

  private registerControls(): void {
    const d = this.d;
    const t = this.table;
    d.registerControl(Opcode.GET_PUBLIC_IPS, (req) => {
      const onlyAvailable = (req.flags & ControlFlag.GET_PUBLIC_IPS_AVAILABLE) !== 0;
      const can = this.nodeCanHost();
      const ips = t.list().filter((e) => !onlyAvailable || (can && t.hasLinkUp(e)))
        .map((e) => ({ pnn: e.pnn, addr: addrOf(e.address) }));
      return ok(writeAll(encodePublicIpList, { ips }));
    });
    d.registerControl(Opcode.GET_IFACES, () => ok(writeAll(encodeIfaceList, {
      ifaces: [...t.ifaces.values()].map((i) => ({ name: i.name, linkState: i.linkUp ? 1 : 0, references: i.references })),
    })));
    d.registerControl(Opcode.SET_IFACE_LINK_STATE, (req) => {
      const i = decodeIface(new Reader(req.data));
      if (!t.ifaces.has(i.name)) return fail(`interface ${i.name} not found`);
      if (t.setLink(i.name, i.linkState !== 0)) this.log.info({ iface: i.name, up: i.linkState !== 0 }, 'interface link state changed');
      return ok();
    });
    d.registerControl(Opcode.GET_PUBLIC_IP_INFO, (req) => {
      const a = decodeSockAddr(new Reader(req.data));
      const e = t.get(a.address);
      if (!e) return fail(`${a.address} is not a public address of node ${d.pnn}`);
      const ifaces = e.ifaces.map((n) => { const i = t.ifaces.get(n)!; return { name: n, linkState: i.linkUp ? 1 : 0, references: i.references }; });
      const idx = e.activeIface === undefined ? UNKNOWN_PNN : e.ifaces.indexOf(e.activeIface);
      return ok(writeAll(encodePublicIpInfo, { ip: { pnn: e.pnn, addr: addrOf(e.address) }, activeIdx: idx, ifaces }));
    });
    d.registerControl(Opcode.RELEASE_IP, async (req) => {
      const p = decodePublicIp(new Reader(req.data));
      const e = t.get(p.addr.address);
      if (!e) return ok();
      return this.release(e, p.pnn);
    });
    d.registerControl(Opcode.TAKEOVER_IP, async (req) => {
      const p = decodePublicIp(new Reader(req.data));
      const e = t.get(p.addr.address);
      if (!e) return fail(`${p.addr.address} is not a public address of node ${d.pnn}`);
      return this.take(e);
    });
    d.registerControl(Opcode.ADD_PUBLIC_IP, (req) => {
      const a = decodeAddrInfo(new Reader(req.data));
      const entry: PublicAddressEntry = { address: a.addr.address, mask: a.mask, ifaces: a.iface.split(',').filter((x) => x !== '') };
      if (entry.ifaces.length === 0) return fail('no interface given');
      if (t.get(entry.address)) return fail(`public address ${entry.address} is already configured`);
      t.add(entry);
      this.log.info({ ip: entry.address, ifaces: entry.ifaces }, 'public address added');
      this.requestTakeoverRun();
      return ok();
    });
    d.registerControl(Opcode.DEL_PUBLIC_IP, async (req) => {
      const a = decodeAddrInfo(new Reader(req.data));
      const e = t.get(a.addr.address);
      if (!e) return fail(`${a.addr.address} is not a public address of node ${d.pnn}`);
      if (e.activeIface !== undefined) {
        const r = await this.release(e, UNKNOWN_PNN);
        if (r.status !== 0) return r;
      }
      t.remove(e.address);
      this.log.info({ ip: e.address }, 'public address deleted');
      this.requestTakeoverRun();
      return ok();
    });
    d.registerControl(Opcode.RELOAD_PUBLIC_IPS, async () => this.reload());
    d.registerControl(Opcode.IPREALLOCATED, async () => {
      const r = await this.runEvent('ipreallocated', []);
      d.sendMessage(d.pnn, Srvid.IPREALLOCATED, Buffer.alloc(0));
      return r === 0 ? ok() : fail('ipreallocated event failed');
    });
    d.registerControl(OPCODE_START_IPREALLOCATE, async () => {
      const r = await this.runEvent('startipreallocate', []);
      d.sendMessage(d.pnn, Srvid.START_IPREALLOCATE, Buffer.alloc(0));
      return r === 0 ? ok() : fail('startipreallocate event failed');
    });
    // Connection tracking.
    d.registerControl(Opcode.TCP_CLIENT, (req, client) => {
      const c = decodeConnection(new Reader(req.data));
      if (!t.get(c.dst.address)) return fail(`${c.dst.address} is not a public address of node ${d.pnn}`);
      t.addConnection(toTracked(c));
      if (client) this.clientConns.set(client.id, [...(this.clientConns.get(client.id) ?? []), c]);
      for (const peer of d.membership.connectedPeers()) d.sendControlNoReply(peer, Opcode.TCP_ADD, req.data);
      return ok();
    });
    d.registerControl(Opcode.TCP_ADD, (req) => { t.addConnection(toTracked(decodeConnection(new Reader(req.data)))); return ok(); });
    d.registerControl(Opcode.TCP_ADD_DELAYED_UPDATE, (req) => {
      const c = decodeConnection(new Reader(req.data));
      if (!t.get(c.dst.address)) return fail(`${c.dst.address} is not a public address of node ${d.pnn}`);
      t.addConnection(toTracked(c));
      return ok();
    });
    d.registerControl(Opcode.TCP_REMOVE, (req) => { t.removeConnection(toTracked(decodeConnection(new Reader(req.data)))); return ok(); });
    d.registerControl(Opcode.GET_TCP_TICKLE_LIST, (req) => {
      const a = decodeSockAddr(new Reader(req.data));
      if (!t.get(a.address)) return fail(`${a.address} is not a public address of node ${d.pnn}`);
      const conns = t.connections(a.address, a.port).map(toWire);
      return ok(writeAll(encodeTickleList, { addr: addrOf(a.address), conns }));
    });
    d.registerControl(Opcode.SET_TCP_TICKLE_LIST, (req) => {
      const l = decodeTickleList(new Reader(req.data));
      t.replaceConnections(l.addr.address, l.conns.map(toTracked));
      return ok();
    });
    d.registerControl(Opcode.SEND_GRATUITOUS_ARP, (req) => {
      const a = decodeAddrInfo(new Reader(req.data));
      void this.announce(a.addr.address, a.iface, false);
      return ok();
    });
  }

  /** Releases `e` here if this node hosts it; records `newOwner` either way. */
  private async release(e: IpEntry, newOwner: number): Promise<ControlReply> {
    const d = this.d;
    const iface = e.activeIface ?? (systemHasIp(e.address) ? e.ifaces[0] : undefined);
    if (iface === undefined) { e.pnn = newOwner; return ok(); }
    this.log.info({ ip: e.address, iface, newOwner }, 'releasing public address');
    const r = await this.runEvent('releaseip', [iface, e.address, String(e.mask)]);
    // A failed script that still left the address gone (removed meanwhile) counts as released.
    if (r !== 0 && systemHasIp(e.address)) return fail(`releaseip event failed for ${e.address} (${r})`);
    this.table.setActive(e, undefined);
    e.pnn = newOwner;
    d.sendMessage(d.pnn, Srvid.RELEASE_IP, Buffer.from(`${e.address}\0`));
    return ok();
  }

  /** Makes this node host `e`: takeip or updateip, then announces it. */
  private async take(e: IpEntry): Promise<ControlReply> {
    const d = this.d;
    let plan;
    try { plan = this.table.planTake(e); } catch (err) { return fail((err as Error).message); }
    if (plan.kind === 'takeip') {
      this.log.info({ ip: e.address, iface: plan.iface }, 'taking over public address');
      const r = await this.runEvent('takeip', [plan.iface, e.address, String(e.mask)]);
      if (r !== 0) {
        // An interface missing from the system is down for good: later runs must not pick it again.
        if (!existsSync(`/sys/class/net/${plan.iface}`)) {
          this.table.setLink(plan.iface, false);
          this.log.error({ iface: plan.iface, ip: e.address }, 'public address configured on an interface that does not exist');
          return fail(`takeip event failed for ${e.address}: interface ${plan.iface} does not exist`);
        }
        return fail(`takeip event failed for ${e.address} (${r})`);
      }
    } else if (plan.kind === 'updateip') {
      this.log.info({ ip: e.address, from: plan.oldIface, to: plan.iface }, 'moving public address between interfaces');
      const r = await this.runEvent('updateip', [plan.oldIface, plan.iface, e.address, String(e.mask)]);
      if (r !== 0) return fail(`updateip event failed for ${e.address} (${r})`);
    }
    if (plan.kind !== 'none') this.table.setActive(e, plan.iface);
    e.pnn = d.pnn;
    if (plan.kind !== 'none') {
      d.sendMessage(d.pnn, Srvid.TAKE_IP, Buffer.from(`${e.address}\0`));
      void this.announce(e.address, plan.iface, true);
    }
    return ok();
  }

  /** Three rounds, 1.1 s apart: gratuitous ARP and (when `tickle`) tickle ACKs to tracked clients. */
  private async announce(ip: string, iface: string, tickle: boolean): Promise<void> {
    for (let round = 0; round < 3 && !this.stopped; round++) {
      if (round > 0) await sleep(tickle ? 1100 : 1000);
      try { sendGratuitousArp(iface, ip); } catch (err) { this.log.debug({ err, ip, iface }, 'gratuitous ARP not sent'); }
      if (!tickle) continue;
      const e = this.table.get(ip);
      if (!e || e.activeIface === undefined) return;
      const conns = this.table.connections(ip);
      if (conns.length === 0) continue;
      try {
        this.sender ??= new RawSender();
        for (const c of conns) sendTickle(this.sender, c.server, c.client);
        if (round === 0) this.log.info({ ip, count: conns.length }, 'sent tickle ACKs to tracked clients');
      } catch (err) { this.log.warn({ err, ip }, 'tickle ACKs not sent'); }
    }
  }

  /** RELOAD_PUBLIC_IPS: re-reads the file; drops (releasing) removed addresses, adds new ones. */
  private async reload(): Promise<ControlReply> {
    let entries: PublicAddressEntry[];
    try { entries = loadPublicAddresses(this.d.opts.paths.publicAddressesFile); } catch (err) {
      this.log.error({ err }, 'reloading public addresses failed; keeping the current ones');
      return fail((err as Error).message);
    }
    const wanted = new Map(entries.map((e) => [e.address, e]));
    for (const e of this.table.list()) {
      if (wanted.has(e.address)) continue;
      if (e.activeIface !== undefined) {
        const r = await this.release(e, UNKNOWN_PNN);
        if (r.status !== 0) return r;
      }
      this.table.remove(e.address);
    }
    for (const e of entries) {
      if (this.table.get(e.address)) this.table.update(e); else this.table.add(e);
    }
    this.log.info({ count: entries.length }, 'public addresses reloaded');
    return ok();
  }

  /** Sends changed tickle lists of the addresses this node hosts to every connected node. */
  private sendTickleUpdates(): void {
    const d = this.d;
    for (const ip of [...this.table.tickleDirty]) {
      const e = this.table.get(ip);
      this.table.tickleDirty.delete(ip);
      if (!e || e.activeIface === undefined) continue;
      const data = writeAll(encodeTickleList, { addr: addrOf(ip), conns: this.table.connections(ip).map(toWire) });
      for (const peer of d.membership.connectedPeers()) d.sendControlNoReply(peer, Opcode.SET_TCP_TICKLE_LIST, data);
    }
  }

  /**
   * The periodic consistency check: asks the leader for a takeover run when
   * this node hosts an address it is not the owner of, misses one it owns, or
   * could host an unassigned one.
   */
  private checkIps(): void {
    const d = this.d;
    if (Date.now() < this.ipCheckDisabledUntil || d.runstate !== RunState.RUNNING || d.inRecovery) return;
    const can = this.nodeCanHost();
    let reason: string | undefined;
    for (const e of this.table.list()) {
      const hosted = e.activeIface !== undefined;
      if (hosted && e.pnn !== d.pnn) reason = `hosting ${e.address} owned by ${e.pnn}`;
      else if (!hosted && e.pnn === d.pnn) reason = `not hosting own ${e.address}`;
      else if (hosted && !can) reason = `hosting ${e.address} while unable to host`;
      else if (e.pnn === UNKNOWN_PNN && can && this.table.hasLinkUp(e) && d.tunable('NoIPTakeover') === 0) reason = `${e.address} unassigned`;
      if (reason) break;
    }
    if (!reason) return;
    if (Date.now() - this.lastCheckRequest < 5000) return;
    this.lastCheckRequest = Date.now();
    this.log.info({ reason }, 'public IP check: asking for a takeover run');
    this.requestTakeoverRun();
  }

  /** Forgets TCP_CLIENT connections of clients that have disconnected, on every node. */
  private dropGoneClients(): void {
    const d = this.d;
    for (const [id, conns] of this.clientConns) {
      if (d.clients.clients.has(id)) continue;
      this.clientConns.delete(id);
      for (const c of conns) {
        this.table.removeConnection(toTracked(c));
        const data = writeAll(encodeConnection, c);
        for (const peer of d.membership.connectedPeers()) d.sendControlNoReply(peer, Opcode.TCP_REMOVE, data);
      }
    }
  }

  /**
   * A node out of the cluster's business (recovery mode, banned or stopped)
   * for RecoveryDropAllIPs seconds releases every address it hosts, so an
   * isolated node does not keep answering for addresses others took over.
   */
  private dropAllIfOut(): void {
    const d = this.d;
    const out = d.recmode === RecMode.ACTIVE || (d.membership.ownFlags & (NodeFlag.BANNED | NodeFlag.STOPPED)) !== 0;
    if (!out || d.runstate !== RunState.RUNNING) { this.outSince = 0; return; }
    if (this.outSince === 0) { this.outSince = Date.now(); return; }
    const limit = d.tunable('RecoveryDropAllIPs');
    if (limit === 0 || Date.now() - this.outSince < limit * 1000) return;
    const hosted = this.table.list().filter((e) => e.activeIface !== undefined);
    if (hosted.length === 0) return;
    this.log.warn({ seconds: limit, count: hosted.length }, 'out of the cluster too long: releasing every public address');
    for (const e of hosted) void this.release(e, UNKNOWN_PNN);
  }

  private requestTakeoverRun(): void {
    this.d.broadcastMessage(Srvid.TAKEOVER_RUN, writeAll(encodeSrvidMessage, { pnn: this.d.pnn, srvid: 0n }), true);
  }

  /**
   * Runs takeover runs one at a time: a request while one runs is served by
   * one more run after it (requests arriving meanwhile share that run).
   */
  private scheduleTakeoverRun(): Promise<void> {
    if (!this.runningTakeover) {
      this.runningTakeover = this.takeoverRun().finally(() => { this.runningTakeover = undefined; });
      return this.runningTakeover;
    }
    this.queuedTakeover ??= this.runningTakeover.catch(() => {}).then(() => {
      this.queuedTakeover = undefined;
      return this.scheduleTakeoverRun();
    });
    return this.queuedTakeover;
  }

  /** One takeover run on the leader: starts ctdb_takeover_helper and waits for its result. */
  private async takeoverRun(): Promise<void> {
    const d = this.d;
    if (Date.now() < this.takeoverRunsDisabledUntil) throw new CtdbError('EAGAIN', 'takeover runs are disabled');
    const rebalance = [...this.rebalance];
    this.rebalance.clear();
    await runTakeoverHelperProcess({
      helperDir: d.opts.paths.helperDir, socket: d.opts.paths.socket, base: d.opts.paths.base, rebalance,
      deadlineMs: (3 * Math.max(1, d.tunable('TakeoverTimeout')) + 10) * 1000,
    });
  }
}

/** Whether `ip` is configured on any local interface. */
function systemHasIp(ip: string): boolean {
  return Object.values(networkInterfaces()).some((l) => l?.some((a) => a.address === ip));
}

