import type { Logger } from 'pino';
import type { CtdbConfig } from '../common/config.js';
import { loadNodes, type NodeEntry } from '../common/nodes.js';
import type { CtdbPaths } from '../common/paths.js';
import type { Tunables } from '../common/tunables.js';
import { Election, type ElectionAction } from '../cluster/election.js';
import { Membership } from '../cluster/membership.js';
import { Reader, writeAll } from '../protocol/buffer.js';
import {
  CTDB_KEEPALIVE_VERSION, CTDB_PORT, Capability, ControlFlag, INVALID_GENERATION, NodeFlag,
  Operation, Pnn, RecMode, RunState, Srvid, runStateName,
} from '../protocol/constants.js';
import { opcodeName } from '../protocol/opcodes.js';
import { encodePacket, type Packet, type ReqControl, type ReqMessage } from '../protocol/packets.js';
import {
  decodeElectionMessage, decodeNodeFlagChange, decodeSrvidMessage, encodeElectionMessage, encodeNodeFlagChange,
  type ElectionMessage, type VnnMap,
} from '../protocol/payloads.js';
import { ClientServer, type ClientConn } from './clients.js';
import { ControlHandlers, type ControlHandler, type ControlReply } from './controls.js';
import { DaemonStats } from './stats.js';
import { LeaderLoop } from './leader.js';
import { Databases } from './databases.js';
import { Leadership } from './leadership.js';
import { attachRecovery } from './recovery.js';
import { NodeTransport } from './transport.js';
import { PublicIps } from './public-ips.js';
import { startMetrics } from './metrics.js';

/** Runs events for the daemon (the event daemon, or a stand-in). */
export interface EventRunner {
  /** Runs `event`; resolves to 0 on success, else the failing status (negative errno for timeouts etc.). */
  run(event: string, args: string[], timeoutSec: number): Promise<number>;
  /** Runs the notification hook for `event` (init, setup, startup, healthy, unhealthy); fire and forget. */
  notify?(event: string): void;
  close(): Promise<void>;
}

/** An EventRunner for nodes without event scripts: every event succeeds. */
export const noEvents: EventRunner = { run: async () => 0, close: async () => {} };

/** Everything the daemon is started with. */
export interface DaemonOptions {
  paths: CtdbPaths;
  config: CtdbConfig;
  nodes: NodeEntry[];
  myPnn: number;
  myAddress: string;
  tunables: Tunables;
  log: Logger;
  port?: number;
  events?: EventRunner;
  /** Called when the daemon has shut down (SHUTDOWN control or fatal error). */
  onExit?: (code: number) => void;
}

interface PendingControl {
  pnn: number;
  resolve: (r: ControlReply) => void;
  timer: NodeJS.Timeout;
}

interface ForwardedControl {
  pnn: number;
  request: ReqControl;
  client: ClientConn;
  clientReqid: number;
  clientSrcnode: number;
  timer: NodeJS.Timeout;
}

/** How long a takeover-run request (`ctdb ipreallocate`, reloadnodes) waits for a running recovery to end. */
const TAKEOVER_REQUEST_WAIT_MS = 30_000;

/**
 * The core daemon: node transport, client socket, membership, election,
 * leader loop and controls. Decisions live in src/cluster; this class wires
 * them to sockets and timers.
 */
export class Ctdbd {
  readonly log: Logger;
  readonly membership: Membership;
  readonly election: Election;
  readonly stats = new DaemonStats();
  readonly startTime = Date.now();
  vnnmap: VnnMap = { generation: INVALID_GENERATION, map: [] };
  recmode: number = RecMode.ACTIVE;
  runstate: number = RunState.UNKNOWN;
  capabilities: number;
  debugLevel = 3;
  lastRecoveryStarted = 0;
  lastRecoveryFinished = 0;
  banTimer?: NodeJS.Timeout;
  banUntil = 0;
  nodes: NodeEntry[];
  readonly transport: NodeTransport;
  readonly clients: ClientServer;
  private readonly handlers: ControlHandlers;
  private reqid = 0x40000000;
  private readonly pending = new Map<number, PendingControl>();
  private readonly forwarded = new Map<number, ForwardedControl>();
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  readonly events: EventRunner;
  readonly leader: LeaderLoop;
  readonly databases: Databases;
  readonly leadership: Leadership;
  /** Handlers subsystems add for packet operations the core does not handle itself. */
  private readonly nodeOps = new Map<number, (pnn: number, p: Packet) => void>();
  private readonly clientOps = new Map<number, (c: ClientConn, p: Packet) => void>();
  private readonly messageHandlers = new Map<bigint, (data: Buffer, from: number) => void>();
  private readonly stopHooks: Array<() => Promise<void> | void> = [];
  private readonly nodeDownHooks: Array<(pnn: number) => void> = [];

  constructor(readonly opts: DaemonOptions) {
    this.log = opts.log;
    this.nodes = opts.nodes;
    let flags = NodeFlag.UNHEALTHY;
    if (opts.config.legacy.startAsStopped) flags |= NodeFlag.STOPPED;
    if (opts.config.legacy.startAsDisabled) flags |= NodeFlag.PERMANENTLY_DISABLED;
    this.membership = new Membership(opts.nodes, opts.myPnn, flags);
    this.capabilities = Capability.PARALLEL_RECOVERY | Capability.FRAGMENTED_CONTROLS
      | (opts.config.cluster.leaderCapability ? Capability.RECMASTER : 0)
      | (opts.config.legacy.lmasterCapability ? Capability.LMASTER : 0);
    const testMode = opts.paths.testMode;
    this.election = new Election({
      myPnn: opts.myPnn,
      priorityTime: this.startTime,
      leaderTimeoutMs: opts.config.cluster.leaderTimeout * 1000,
      electionTimeoutMs: testMode ? 500 : this.tunable('ElectionTimeout') * 1000,
      lock: opts.config.cluster.clusterLock !== undefined,
      // Test mode starts fast, as CTDB's does: nodes on one host connect within milliseconds.
      firstElectionDelayMs: testMode ? Math.min(1500, opts.config.cluster.leaderTimeout * 1000) : undefined,
    });
    this.election.capable = (this.capabilities & Capability.RECMASTER) !== 0;
    this.election.myFlags = flags;
    this.events = opts.events ?? noEvents;
    this.handlers = new ControlHandlers(this);
    this.leader = new LeaderLoop(this);
    this.databases = new Databases(this);
    new PublicIps(this);
    this.leadership = new Leadership(this);
    attachRecovery(this);
    this.transport = new NodeTransport(opts.nodes, opts.myPnn, opts.myAddress, opts.port ?? CTDB_PORT, {
      packet: (pnn, p) => this.onNodePacket(pnn, p),
      connected: (pnn) => this.onNodeConnected(pnn),
      disconnected: (pnn) => this.onNodeDisconnected(pnn),
    }, this.log.child({ component: 'transport' }));
    this.clients = new ClientServer(opts.paths.socket, {
      packet: (c, p) => this.onClientPacket(c, p),
      gone: (c) => this.log.debug({ client: c.id, pid: c.pid }, 'client disconnected'),
    }, this.log.child({ component: 'clients' }));
    startMetrics(this);
  }

  get pnn(): number { return this.opts.myPnn; }

  /** Adds or replaces the handler of a control opcode (subsystems call this at construction). */
  registerControl(opcode: number, handler: ControlHandler): void { this.handlers.register(opcode, handler); }

  /** Routes node packets of `operation` (REQ_CALL, REQ_DMASTER, …) to a subsystem. */
  onNodeOperation(operation: number, fn: (pnn: number, p: Packet) => void): void { this.nodeOps.set(operation, fn); }

  /** Routes client packets of `operation` (REQ_CALL, …) to a subsystem. */
  onClientOperation(operation: number, fn: (c: ClientConn, p: Packet) => void): void { this.clientOps.set(operation, fn); }

  /** Receives messages sent to `srvid` on this node (besides registered clients). */
  onMessage(srvid: bigint, fn: (data: Buffer, from: number) => void): void { this.messageHandlers.set(srvid, fn); }

  /** Runs `fn` when the connection to node `pnn` has dropped. */
  onNodeDown(fn: (pnn: number) => void): void { this.nodeDownHooks.push(fn); }

  /** Runs `fn` during shutdown, before sockets close. */
  onStop(fn: () => Promise<void> | void): void { this.stopHooks.push(fn); }

  /** A tunable's current value (0 if unknown). */
  tunable(name: string): number { return this.opts.tunables.get(name) ?? 0; }

  /** Brings the node up: client socket, transport, timers, start-up events. */
  async start(): Promise<void> {
    this.setRunstate(RunState.INIT);
    await this.clients.listen();
    this.notify('init');
    await this.runEventLogged('init', []);
    await this.transport.listen();
    this.setRunstate(RunState.SETUP);
    this.notify('setup');
    await this.runEventLogged('setup', []);
    this.setRunstate(RunState.FIRST_RECOVERY);
    this.scheduleKeepalives();
    this.every(100, () => this.electionTick());
    this.every(() => Math.max(100, this.tunable('RecoverInterval') * 1000), () => { void this.leader.step(); });
    this.log.info({ pnn: this.pnn, address: this.opts.myAddress }, 'ctdbd started');
  }

  private every(ms: number | (() => number), fn: () => void): void {
    const period = typeof ms === 'number' ? () => ms : ms;
    const arm = (): void => {
      const t = setTimeout(() => {
        if (this.stopping) return;
        try { fn(); } catch (err) { this.log.error({ err }, 'timer callback failed'); }
        arm();
      }, period());
      this.timers.push(t);
      if (this.timers.length > 64) this.timers = this.timers.slice(-32);
    };
    arm();
  }

  private scheduleKeepalives(): void {
    this.every(() => Math.max(100, this.tunable('KeepaliveInterval') * 1000), () => {
      const { send, dead } = this.membership.keepaliveTick(Math.max(1, this.tunable('KeepaliveLimit')));
      const uptime = Math.floor((Date.now() - this.startTime) / 1000);
      for (const pnn of send) {
        this.sendToNode(pnn, {
          operation: Operation.REQ_KEEPALIVE, generation: this.vnnmap.generation, destnode: pnn,
          srcnode: this.pnn, reqid: 0, version: CTDB_KEEPALIVE_VERSION, uptime,
        });
        this.stats.keepaliveSent++;
      }
      for (const pnn of dead) {
        this.log.warn({ pnn }, 'node missed too many keepalives, marking it disconnected');
        this.transport.restart(pnn);
        this.afterMembershipChange();
      }
    });
  }

  setRunstate(rs: number): void {
    if (this.runstate === rs) return;
    this.log.info({ from: runStateName(this.runstate), to: runStateName(rs) }, 'runstate change');
    this.runstate = rs;
  }

  private notify(event: string): void {
    try { this.events.notify?.(event); } catch (err) { this.log.warn({ err, event }, 'notification failed'); }
  }

  private async runEventLogged(event: string, args: string[]): Promise<number> {
    const r = await this.events.run(event, args, this.tunable('EventScriptTimeout')).catch((err: unknown) => {
      this.log.error({ event, err }, 'event failed to run');
      return -1;
    });
    if (r !== 0) this.log.warn({ event, result: r }, 'event failed');
    return r;
  }

  // ---------------------------------------------------------------- flags

  /** Changes this node's own flags and tells every connected node. */
  setOwnFlags(flags: number): void {
    const old = this.membership.setOwnFlags(flags);
    if (old === flags) return;
    this.election.myFlags = flags;
    this.log.info({ old, new: flags }, 'node flags changed');
    this.broadcastOwnFlags(old);
    const out = NodeFlag.BANNED | NodeFlag.STOPPED;
    if ((flags & out) !== 0) {
      this.recmode = RecMode.ACTIVE;
      // A banned or stopped node takes no part in the cluster's databases until a recovery takes it back.
      if ((old & out) === 0) void this.databases.freezeAll((flags & NodeFlag.BANNED) ? 'banned' : 'stopped');
    }
  }

  private broadcastOwnFlags(old: number): void {
    const data = writeAll(encodeNodeFlagChange, { pnn: this.pnn, oldFlags: old, newFlags: this.membership.ownFlags });
    for (const peer of this.membership.connectedPeers()) this.sendControlNoReply(peer, 52, data);
  }

  /** Applies a MODIFY_FLAGS notification. */
  applyFlagChange(data: Buffer): void {
    const c = decodeNodeFlagChange(new Reader(data));
    if (c.pnn === this.pnn) return;
    this.membership.setFlags(c.pnn, c.newFlags);
    this.afterMembershipChange();
  }

  /** Bans (seconds > 0) or unbans (0) this node. */
  setBan(seconds: number): void {
    if (this.banTimer) { clearTimeout(this.banTimer); this.banTimer = undefined; }
    const flags = this.membership.ownFlags;
    if (seconds === 0) {
      this.banUntil = 0;
      if (flags & NodeFlag.BANNED) {
        this.log.info('node unbanned');
        this.setOwnFlags(flags & ~NodeFlag.BANNED);
      }
      return;
    }
    this.banUntil = Date.now() + seconds * 1000;
    this.log.warn({ seconds }, 'node banned');
    this.setOwnFlags(flags | NodeFlag.BANNED);
    this.banTimer = setTimeout(() => this.setBan(0), seconds * 1000);
  }

  private afterMembershipChange(): void {
    const now = Date.now();
    const leader = this.election.leader;
    if (leader !== Pnn.UNKNOWN && leader !== this.pnn) {
      this.applyElection(this.election.checkLeader(now, this.membership.flagsOf(leader),
        this.membership.get(leader)?.connected ?? false, this.membership.connectedPeers().length));
    } else {
      this.applyElection(this.election.checkLeader(now, this.membership.ownFlags, true, this.membership.connectedPeers().length));
    }
  }

  // ---------------------------------------------------------------- election

  private electionTick(): void {
    const now = Date.now();
    this.applyElection(this.election.tick(now, this.membership.connectedPeers().length));
    // Capability changes (SET_RECMASTERROLE) arrive without a membership event: check fitness every tick.
    this.afterMembershipChange();
  }

  /** Carries out election actions in order; actions after a lock release wait for it. */
  applyElection(actions: ElectionAction[]): void {
    for (const [i, a] of actions.entries()) {
      if (a.type === 'release-lock') {
        const rest = actions.slice(i + 1);
        void this.leadership.act(a).catch((err: unknown) => this.log.warn({ err }, 'cluster lock release failed'))
          .then(() => { if (!this.stopping) this.applyElection(rest); });
        return;
      }
      if (a.type === 'take-lock' || a.type === 'recmode-active') {
        void this.leadership.act(a);
      } else if (a.type === 'send-election') {
        const msg: ElectionMessage = {
          numConnected: a.candidate.numConnected,
          priorityTime: { sec: Math.floor(a.candidate.priorityTime / 1000), usec: (a.candidate.priorityTime % 1000) * 1000 },
          pnn: a.candidate.pnn,
          nodeFlags: a.candidate.nodeFlags,
        };
        this.broadcastMessage(Srvid.ELECTION, writeAll(encodeElectionMessage, msg), false);
      } else if (a.type === 'send-leader') {
        const b = Buffer.alloc(4); b.writeUInt32LE(a.pnn >>> 0);
        this.broadcastMessage(Srvid.LEADER, b, true);
      } else if (a.type === 'leader-changed') {
        this.log.info({ from: a.from, to: a.to }, 'leader changed');
      }
    }
  }

  private onElectionMessage(data: Buffer): void {
    const m = decodeElectionMessage(new Reader(data));
    const c = { pnn: m.pnn, priorityTime: m.priorityTime.sec * 1000 + Math.floor(m.priorityTime.usec / 1000), nodeFlags: m.nodeFlags, numConnected: m.numConnected };
    this.applyElection(this.election.onElection(c, Date.now(), this.membership.connectedPeers().length));
  }

  private onLeaderMessage(data: Buffer, srcnode: number): void {
    if (data.length < 4) return;
    const pnn = data.readUInt32LE(0);
    if (srcnode === this.pnn) return;
    this.applyElection(this.election.onLeader(pnn, Date.now(), this.membership.connectedPeers().length));
  }

  /** Called when this node's recovery mode goes back to NORMAL. */
  onRecoveryDone(): void {
    if (this.runstate === RunState.FIRST_RECOVERY && this.vnnmap.generation !== INVALID_GENERATION) {
      void this.startup();
    }
  }

  private async startup(): Promise<void> {
    this.setRunstate(RunState.STARTUP);
    this.notify('startup');
    for (let attempt = 1; !this.stopping; attempt++) {
      const r = await this.runEventLogged('startup', []);
      if (r === 0) break;
      this.log.warn({ attempt }, 'startup event failed, retrying');
      await new Promise((res) => setTimeout(res, 1000));
    }
    if (this.stopping) return;
    for (const peer of this.membership.connectedPeers()) this.sendControlNoReply(peer, 47, Buffer.alloc(0));
    this.setRunstate(RunState.RUNNING);
    this.startMonitoring();
  }

  private startMonitoring(): void {
    let interval = 5000;
    let timeouts = 0;
    const loop = async (): Promise<void> => {
      if (this.stopping) return;
      if (this.recmode === RecMode.NORMAL && this.runstate === RunState.RUNNING) {
        const r = await this.runEventLogged('monitor', []);
        const flags = this.membership.ownFlags;
        let healthy = r === 0;
        if (r === -125) healthy = (flags & NodeFlag.UNHEALTHY) === 0; // cancelled: no verdict
        else if (r === -110) {
          // A timed-out monitor counts only after MonitorTimeoutCount in a row.
          timeouts++;
          healthy = timeouts < this.tunable('MonitorTimeoutCount') ? (flags & NodeFlag.UNHEALTHY) === 0 : false;
        } else timeouts = 0;
        const wasHealthy = (flags & NodeFlag.UNHEALTHY) === 0;
        if (healthy !== wasHealthy) {
          this.setOwnFlags(healthy ? flags & ~NodeFlag.UNHEALTHY : flags | NodeFlag.UNHEALTHY);
          this.log.info({ healthy, result: r }, healthy ? 'node became healthy' : 'node became unhealthy');
          this.notify(healthy ? 'healthy' : 'unhealthy');
          this.broadcastMessage(Srvid.TAKEOVER_RUN, Buffer.alloc(16), true);
          interval = 5000;
        } else {
          interval = Math.min(interval * 2, this.tunable('MonitorInterval') * 1000);
        }
      }
      if (!this.stopping) this.timers.push(setTimeout(() => { void loop(); }, this.opts.paths.testMode ? Math.min(interval, 1000) : interval));
    };
    void loop();
  }

  // ---------------------------------------------------------------- packets

  private onNodeConnected(pnn: number): void {
    this.membership.connected(pnn);
    // Tell the new peer our own flags so it does not wait for a change.
    const data = writeAll(encodeNodeFlagChange, { pnn: this.pnn, oldFlags: this.membership.ownFlags, newFlags: this.membership.ownFlags });
    this.sendControlNoReply(pnn, 52, data);
    this.afterMembershipChange();
  }

  private onNodeDisconnected(pnn: number): void {
    this.membership.disconnected(pnn);
    // Replies can no longer come from that node: fail its outstanding controls now, not at the timeout.
    for (const [reqid, f] of this.forwarded) {
      if (f.pnn !== pnn) continue;
      this.forwarded.delete(reqid);
      clearTimeout(f.timer);
      this.replyToClient(f.client, f.request, { status: -1, errmsg: 'ctdb_control to disconnected node' });
    }
    for (const [reqid, w] of this.pending) {
      if (w.pnn !== pnn) continue;
      this.pending.delete(reqid);
      clearTimeout(w.timer);
      w.resolve({ status: -1, errmsg: `node ${pnn} disconnected` });
    }
    for (const fn of this.nodeDownHooks) fn(pnn);
    this.afterMembershipChange();
  }

  private onNodePacket(pnn: number, p: Packet): void {
    this.membership.heard(pnn);
    this.stats.countNode(p.operation);
    switch (p.operation) {
      case Operation.REQ_KEEPALIVE:
        this.stats.keepaliveRecv++;
        return;
      case Operation.REQ_CONTROL:
        void this.handleNodeControl(pnn, p);
        return;
      case Operation.REPLY_CONTROL: {
        const fwd = this.forwarded.get(p.reqid);
        if (fwd) {
          this.forwarded.delete(p.reqid);
          clearTimeout(fwd.timer);
          fwd.client.send({ ...p, reqid: fwd.clientReqid, destnode: fwd.clientSrcnode, srcnode: this.pnn, generation: this.vnnmap.generation });
          return;
        }
        const w = this.pending.get(p.reqid);
        if (w) {
          this.pending.delete(p.reqid);
          clearTimeout(w.timer);
          w.resolve({ status: p.status, data: p.data, errmsg: p.errmsg });
        }
        return;
      }
      case Operation.REQ_MESSAGE:
        this.deliverMessage(p, pnn);
        return;
      default: {
        const h = this.nodeOps.get(p.operation);
        if (h) { h(pnn, p); return; }
        if (p.operation === Operation.REQ_CALL) {
          this.sendToNode(pnn, {
            operation: Operation.REPLY_ERROR, generation: this.vnnmap.generation, destnode: pnn, srcnode: this.pnn,
            reqid: p.reqid, status: -1, msg: `Unknown database in request. db_id==0x${p.dbId.toString(16).padStart(8, '0')}`,
          });
          return;
        }
        this.log.debug({ pnn, operation: p.operation }, 'ignoring packet operation from node');
      }
    }
  }

  private async handleNodeControl(pnn: number, p: ReqControl): Promise<void> {
    const r = await this.handlers.handle(p, undefined);
    if (p.flags & ControlFlag.NOREPLY) return;
    this.sendToNode(pnn, {
      operation: Operation.REPLY_CONTROL, generation: this.vnnmap.generation, destnode: pnn, srcnode: this.pnn,
      reqid: p.reqid, status: r.status, data: r.data ?? Buffer.alloc(0), errmsg: r.errmsg ?? '',
    });
  }

  private onClientPacket(c: ClientConn, p: Packet): void {
    this.stats.countClient(p.operation);
    switch (p.operation) {
      case Operation.REQ_CONTROL:
        void this.handleClientControl(c, p);
        return;
      case Operation.REQ_MESSAGE:
        this.routeClientMessage(p);
        return;
      default: {
        const h = this.clientOps.get(p.operation);
        if (h) { h(c, p); return; }
        if (p.operation === Operation.REQ_CALL) {
          c.send({
            operation: Operation.REPLY_CALL, generation: this.vnnmap.generation, destnode: p.srcnode, srcnode: this.pnn,
            reqid: p.reqid, status: -1, data: Buffer.alloc(0),
          });
          return;
        }
        this.log.warn({ client: c.id, operation: p.operation }, 'unexpected packet operation from client');
      }
    }
  }

  private replyToClient(c: ClientConn, p: ReqControl, r: ControlReply): void {
    if (p.flags & ControlFlag.NOREPLY) return;
    c.send({
      operation: Operation.REPLY_CONTROL, generation: this.vnnmap.generation, destnode: p.srcnode, srcnode: this.pnn,
      reqid: p.reqid, status: r.status, data: r.data ?? Buffer.alloc(0), errmsg: r.errmsg ?? '',
    });
  }

  private async handleClientControl(c: ClientConn, p: ReqControl): Promise<void> {
    const dest = p.destnode;
    if (dest === Pnn.CURRENT || dest === this.pnn) {
      this.replyToClient(c, p, await this.handlers.handle(p, c));
      return;
    }
    const node = this.membership.get(dest);
    if (!node || (node.flags & NodeFlag.DELETED)) {
      this.replyToClient(c, p, { status: -1, errmsg: 'ctdb_control to non-existent node' });
      return;
    }
    if (!this.transport.isConnected(dest)) {
      this.replyToClient(c, p, { status: -1, errmsg: 'ctdb_control to disconnected node' });
      return;
    }
    const reqid = this.nextReqid();
    const fwd = { ...p, reqid, srcnode: this.pnn, clientId: c.id, generation: this.vnnmap.generation };
    if (!(p.flags & ControlFlag.NOREPLY)) {
      const timer = setTimeout(() => {
        this.forwarded.delete(reqid);
        this.replyToClient(c, p, { status: -1, errmsg: 'ctdb_control timed out' });
      }, this.tunable('ControlTimeout') * 1000);
      this.forwarded.set(reqid, { pnn: dest, request: p, client: c, clientReqid: p.reqid, clientSrcnode: p.srcnode, timer });
    }
    this.sendToNode(dest, fwd);
  }

  private routeClientMessage(p: ReqMessage): void {
    const dest = p.destnode;
    const targets = this.targetsOf(dest);
    for (const pnn of targets) {
      if (pnn === this.pnn) this.deliverMessage({ ...p, srcnode: this.pnn }, this.pnn);
      else this.sendToNode(pnn, { ...p, srcnode: this.pnn, destnode: pnn, generation: this.vnnmap.generation });
    }
  }

  private targetsOf(dest: number): number[] {
    if (dest === Pnn.CURRENT || dest === this.pnn) return [this.pnn];
    if (dest === Pnn.BROADCAST_CONNECTED || dest === Pnn.BROADCAST_ALL) return [this.pnn, ...this.membership.connectedPeers()];
    if (dest === Pnn.BROADCAST_ACTIVE) return this.vnnmap.map.filter((p) => p === this.pnn || this.transport.isConnected(p));
    return [dest];
  }

  /** Delivers a message to local registered clients and internal handlers. */
  private deliverMessage(p: ReqMessage, from: number): void {
    if (p.srvid === Srvid.ELECTION) { try { this.onElectionMessage(p.data); } catch (err) { this.log.warn({ err }, 'bad election message'); } }
    else if (p.srvid === Srvid.LEADER) this.onLeaderMessage(p.data, from);
    else if (p.srvid === Srvid.TAKEOVER_RUN) this.onTakeoverRunRequest(p.data);
    else {
      const h = this.messageHandlers.get(p.srvid);
      if (h) { try { h(p.data, from); } catch (err) { this.log.warn({ err, srvid: p.srvid.toString(16) }, 'message handler failed'); } }
    }
    for (const c of this.clients.clients.values()) {
      if (c.srvids.has(p.srvid) || c.srvids.has(Srvid.ALL)) {
        c.send({ ...p, reqid: 0, destnode: this.pnn, srcnode: from, generation: this.vnnmap.generation });
      }
    }
  }

  /**
   * A node or tool asks for a takeover run. Only the leader acts; it answers
   * the requester's srvid with its own PNN (negative on failure).
   */
  private onTakeoverRunRequest(data: Buffer): void {
    if (!this.election.isLeader(Date.now())) return;
    let req;
    try { req = decodeSrvidMessage(new Reader(data)); } catch { return; }
    // As CTDB's leader does, a request that arrives during a recovery is served after it.
    void this.untilRecovered(TAKEOVER_REQUEST_WAIT_MS).then(() => this.takeoverRun()).then((result) => {
      if (req.srvid === 0n) return;
      const b = Buffer.alloc(4); b.writeInt32LE(result);
      this.sendMessage(req.pnn, req.srvid, b);
    });
  }

  /** Resolves once no recovery is running or pending here (recovery mode NORMAL), or after `ms`. */
  private async untilRecovered(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.inRecovery || this.recmode !== RecMode.NORMAL) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Runs a takeover run over the cluster. Public IP allocation plugs in here
   * (takeoverHook); without public addresses there is nothing to move and the
   * run succeeds at once.
   */
  async takeoverRun(): Promise<number> {
    if (!this.takeoverHook) return this.pnn;
    try { await this.takeoverHook(); return this.pnn; } catch (err) {
      this.log.warn({ err }, 'takeover run failed');
      return -1;
    }
  }

  /** Set by the IP failover layer: performs one takeover run. */
  takeoverHook?: () => Promise<void>;

  /** Sends a message to one node's srvid (local delivery when it is this node). */
  sendMessage(pnn: number, srvid: bigint, data: Buffer): void {
    const msg: ReqMessage = {
      operation: Operation.REQ_MESSAGE, generation: this.vnnmap.generation, destnode: pnn,
      srcnode: this.pnn, reqid: 0, srvid, data,
    };
    if (pnn === this.pnn) this.deliverMessage(msg, this.pnn);
    else this.sendToNode(pnn, msg);
  }

  /** Sends a message to every connected node, and to local clients when `local`. */
  broadcastMessage(srvid: bigint, data: Buffer, local: boolean): void {
    const msg: ReqMessage = {
      operation: Operation.REQ_MESSAGE, generation: this.vnnmap.generation, destnode: Pnn.BROADCAST_CONNECTED,
      srcnode: this.pnn, reqid: 0, srvid, data,
    };
    for (const pnn of this.membership.connectedPeers()) this.sendToNode(pnn, { ...msg, destnode: pnn });
    if (local) this.deliverMessage(msg, this.pnn);
  }

  private nextReqid(): number {
    this.reqid = (this.reqid + 1) & 0x7fffffff;
    return this.reqid;
  }

  sendToNode(pnn: number, p: Packet): boolean {
    const ok = this.transport.send(pnn, encodePacket(p));
    if (ok) this.stats.nodePacketsSent++;
    return ok;
  }

  /** Sends a control to any node (this one included) and waits for its reply. */
  sendControl(pnn: number, opcode: number, data: Buffer, timeoutMs: number, srvid = 0n): Promise<ControlReply> {
    const req: ReqControl = {
      operation: Operation.REQ_CONTROL, generation: this.vnnmap.generation, destnode: pnn, srcnode: this.pnn,
      reqid: this.nextReqid(), opcode, srvid, clientId: 0, flags: 0, data,
    };
    if (pnn === this.pnn) return this.handlers.handle(req, undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(req.reqid);
        resolve({ status: -110, errmsg: `control ${opcodeName(opcode)} to node ${pnn} timed out` });
      }, timeoutMs);
      this.pending.set(req.reqid, { pnn, resolve, timer });
      if (!this.sendToNode(pnn, req)) {
        clearTimeout(timer);
        this.pending.delete(req.reqid);
        resolve({ status: -1, errmsg: `node ${pnn} is not connected` });
      }
    });
  }

  sendControlNoReply(pnn: number, opcode: number, data: Buffer): void {
    this.sendToNode(pnn, {
      operation: Operation.REQ_CONTROL, generation: this.vnnmap.generation, destnode: pnn, srcnode: this.pnn,
      reqid: this.nextReqid(), opcode, srvid: 0n, clientId: 0, flags: ControlFlag.NOREPLY, data,
    });
  }

  /** Re-reads the nodes file (RELOAD_NODES_FILE). */
  reloadNodes(): void {
    const nodes = loadNodes(this.opts.config.cluster.nodesList);
    const me = nodes.find((n) => n.pnn === this.pnn);
    if (!me || me.deleted || me.address !== this.opts.myAddress) {
      throw new Error('reloaded nodes file does not keep this node at its PNN');
    }
    this.nodes = nodes;
    this.membership.reset(nodes);
    this.transport.updatePeers(nodes);
    this.log.info({ nodes: nodes.length }, 'nodes file reloaded');
  }

  /** Whether a recovery is running on this node (as leader). */
  get inRecovery(): boolean { return this.leader.recovering; }

  /** Stops everything and reports the exit. */
  async shutdown(code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.setRunstate(RunState.SHUTDOWN);
    this.log.info('shutting down');
    await this.runEventLogged('shutdown', []).catch(() => 0);
    for (const h of this.stopHooks) await Promise.resolve(h()).catch((err: unknown) => this.log.warn({ err }, 'stop hook failed'));
    for (const t of this.timers) clearTimeout(t);
    if (this.banTimer) clearTimeout(this.banTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    for (const f of this.forwarded.values()) clearTimeout(f.timer);
    await this.events.close().catch(() => {});
    await this.transport.close();
    await this.clients.close();
    this.opts.onExit?.(code);
  }
}
