/**
 * One simulated ctdbd: the daemon's own pure state machines (Membership,
 * Election, BanCredits, allocateIps) wired to a virtual clock and network
 * the way src/daemon/ctdbd.ts, leader.ts and leadership.ts wire them to real
 * timers and sockets. The leader loop, recovery and takeover run are a
 * compact model of the daemon's (those parts are not pure modules yet).
 */
import { BanCredits, type BanRules } from '../../src/cluster/banning.js';
import { Election, type Candidate, type ElectionAction, type LockResult } from '../../src/cluster/election.js';
import { Membership } from '../../src/cluster/membership.js';
import { allocateIps, nodeMayHost, type PublicIpState } from '../../src/ipalloc/index.js';
import { INVALID_GENERATION, NodeFlag, Pnn, RecMode } from '../../src/protocol/constants.js';
import { CALL_RETRY_MS } from '../../src/db/calls.js';
import { mergeForRecovery, SimRecords } from './records.js';
import { recoverPersistent, type Batch, type EpochRule, type PersistentCopy, type PersistentStore, type SourceRule } from './persistent.js';
import type { Rng } from './rng.js';

/** Timings of the simulated daemons (virtual milliseconds). */
export interface SimTiming {
  keepaliveIntervalMs: number;
  keepaliveLimit: number;
  leaderTimeoutMs: number;
  electionTimeoutMs: number;
  electionTickMs: number;
  recoverIntervalMs: number;
  controlTimeoutMs: number;
  lock: boolean;
}

/** Node-to-node messages of the model. */
export type Msg =
  | { t: 'keepalive' }
  | { t: 'flags'; pnn: number; flags: number }
  | { t: 'election'; c: Candidate }
  | { t: 'leader'; pnn: number }
  | { t: 'takeover-request' }
  | { t: 'pkt'; b: Buffer }
  | { t: 'ctl'; reqid: number; op: Ctl }
  | { t: 'reply'; reqid: number; status: number; data?: unknown };

/** Controls the leader sends. */
export type Ctl =
  | { op: 'setrecmode'; mode: number }
  | { op: 'setvnnmap'; generation: number; map: number[] }
  | { op: 'getstate' }
  | { op: 'getips' }
  | { op: 'releaseip'; ips: string[] }
  | { op: 'takeip'; ips: string[] }
  | { op: 'ban'; ms: number }
  | { op: 'ipalloc'; owners: Array<[string, number]> }
  | { op: 'pull' }
  | { op: 'push'; records: Array<[string, Buffer]>; persistent: Batch }
  | { op: 'update'; generation: number; batch: Batch };

/** What a node needs from the simulated world. */
export interface SimHost {
  readonly now: number;
  readonly timing: SimTiming;
  readonly publicIps: readonly string[];
  readonly rng: Rng;
  /** Keys clients fetch (empty: no record traffic). */
  readonly recordKeys: readonly string[];
  /** Clients stop issuing calls at this virtual time (so the end state can be checked). */
  readonly loadUntil: number;
  /** Runs `fn` after `delayMs` for this incarnation of the node (late if stopped, never if killed). */
  timer(node: SimNode, delayMs: number, fn: () => void): void;
  send(from: number, to: number, m: Msg): void;
  lockTake(node: SimNode): void;
  lockRelease(pnn: number): void;
  /** Drops our connection to `peer` (keepalive limit reached) so the transport reconnects. */
  restartLink(from: number, to: number): void;
  /** A fresh generation, recorded as created by `pnn`. */
  newGeneration(pnn: number): number;
  /** Persistent commits by clients (false: none). */
  readonly persistentCommits: boolean;
  /** How recovery picks the persistent source. */
  readonly sourceRule: SourceRule;
  readonly epochRule: EpochRule;
  /** Commit peers: the daemon's Membership.activeNodes() or the generation's vnnmap. */
  readonly commitPeers: 'active' | 'vnnmap';
  /** The persistent database of node `pnn` (kept across its restarts). */
  persistent(pnn: number): PersistentStore;
  /** A unique key for a new client transaction. */
  nextTxKey(): string;
  /** A client was told its transaction committed. */
  acked(key: string, value: Buffer): void;
  /** A recovery of `active` completed (every node back in normal mode). */
  recovered(active: number[], pulled: PersistentCopy[]): void;
  /** A takeover run finished with this allocation. */
  tookOver(pnn: number, owners: Map<string, number>): void;
}

interface PendingCtl { done: (status: number, data?: unknown) => void; finished: boolean }

const DEBUG = process.env.SIM_DEBUG === '1';

const BAN_RULES: BanRules = { gracePeriodSec: 120, banPeriodSec: 5, enabled: true };

/** One simulated daemon incarnation. */
export class SimNode {
  readonly membership: Membership;
  readonly election: Election;
  readonly credits = new BanCredits();
  generation = INVALID_GENERATION;
  vnnmap: number[] = [];
  recmode: number = RecMode.ACTIVE;
  readonly hosted = new Set<string>();
  /** True while the leader loop has a recovery or takeover run in flight. */
  private isBusy = false;
  /** Virtual time the current leader-loop run started (for the stuck check). */
  busySince = 0;
  takeoverNeeded = true;
  /** Generation the last successful takeover run was made for. */
  private takeoverGeneration = INVALID_GENERATION;
  recoveries = 0;
  takeovers = 0;
  private reqid = 1;
  private readonly pending = new Map<number, PendingCtl>();
  private banUntil = 0;
  /** The last allocation a takeover run announced (address -> owner). */
  private owners = new Map<string, number>();
  private lastCheckRequest = -Infinity;
  readonly records: SimRecords;

  constructor(private readonly h: SimHost, readonly pnn: number, readonly numNodes: number, flags: number) {
    const nodes = Array.from({ length: numNodes }, (_, i) => ({ pnn: i, address: `10.0.0.${i + 1}`, deleted: false }));
    this.membership = new Membership(nodes, pnn, flags);
    this.election = new Election({
      myPnn: pnn, priorityTime: h.now, leaderTimeoutMs: h.timing.leaderTimeoutMs,
      electionTimeoutMs: h.timing.electionTimeoutMs, lock: h.timing.lock,
    });
    this.election.myFlags = flags;
    this.records = new SimRecords({
      pnn, now: () => h.now, generation: () => this.generation, vnnmap: () => this.vnnmap,
      sendPacket: (to, b) => h.send(pnn, to, { t: 'pkt', b }),
      later: (fn, ms) => h.timer(this, ms, fn),
    });
  }

  /** A client on this node fetches a random record now and then (only outside recovery, as the daemon defers them). */
  private clientLoad(): void {
    if (this.h.recordKeys.length === 0) return;
    this.h.timer(this, 200 + this.h.rng.int(600), () => {
      if (this.h.now < this.h.loadUntil && this.recmode === RecMode.NORMAL && this.generation !== INVALID_GENERATION) this.records.fetch(this.h.rng.pick(this.h.recordKeys), () => {});
      this.clientLoad();
    });
  }

  /** A client on this node commits a persistent transaction now and then (one new key each). */
  private commitLoad(): void {
    if (!this.h.persistentCommits) return;
    this.h.timer(this, 600 + this.h.rng.int(2400), () => {
      if (this.h.now < this.h.loadUntil && this.generation !== INVALID_GENERATION) {
        const key = this.h.nextTxKey();
        const data = Buffer.from(`v${this.h.now}`);
        this.trans3Commit(this.h.persistent(this.pnn).batchFor(key, data), (ok) => { if (ok) this.h.acked(key, data); });
      }
      this.commitLoad();
    });
  }

  /**
   * As Databases.trans3Commit: refused in recovery; applied here and sent
   * (UPDATE_RECORD) to every other active node; acknowledged only if all
   * applied it and neither recovery mode nor generation changed meanwhile;
   * a partial failure forces a recovery.
   */
  private trans3Commit(batch: Batch, done: (ok: boolean) => void): void {
    if (this.recmode === RecMode.ACTIVE) { done(false); return; }
    const generation = this.generation;
    // 'vnnmap' is the daemon's rule (generation members and active nodes); 'active' its earlier one.
    const peers = this.h.commitPeers === 'active' ? this.membership.activeNodes() : [...new Set([...this.vnnmap, ...this.membership.activeNodes()])];
    const others = peers.filter((p) => p !== this.pnn);
    // The local commit (sent first in the daemon, but replies come later here either way).
    this.h.persistent(this.pnn).applyCommit(batch);
    this.callAll(others, () => ({ op: 'update', generation, batch }), (res) => {
      const bad = others.filter((_, i) => res[i]!.status !== 0);
      if (bad.length === 0 && (this.generation !== generation || this.recmode !== RecMode.NORMAL)) { done(false); return; }
      if (bad.length > 0) { this.recmode = RecMode.ACTIVE; done(false); return; }
      done(true);
    });
  }

  /** Starts the node's timers (as ctdbd.start does). */
  start(): void {
    const t = this.h.timing;
    this.every(t.keepaliveIntervalMs, () => this.keepaliveTick());
    this.every(t.electionTickMs, () => this.electionTick());
    this.every(t.recoverIntervalMs, () => this.leaderStep());
    this.every(t.recoverIntervalMs, () => this.checkIps());
    // As Databases: every 500 ms outside recovery, calls of an older generation and calls unanswered for CALL_RETRY_MS are re-sent.
    this.every(500, () => {
      if (this.recmode !== RecMode.NORMAL || this.records.calls.pendingCount === 0) return;
      this.records.calls.resendStale();
      this.records.calls.resendOlderThan(CALL_RETRY_MS);
    });
    this.clientLoad();
    this.commitLoad();
  }

  /** As PublicIps.checkIps: ask for a takeover run when hosting disagrees with the allocation. */
  private checkIps(): void {
    if (this.recmode !== RecMode.NORMAL) return;
    const can = nodeMayHost(this.membership.ownFlags);
    let wrong = false;
    for (const ip of this.h.publicIps) {
      const hosted = this.hosted.has(ip);
      const owner = this.owners.get(ip) ?? -1;
      if ((hosted && owner !== this.pnn) || (!hosted && owner === this.pnn) || (hosted && !can) || (owner === -1 && can)) { wrong = true; break; }
    }
    if (!wrong || this.h.now - this.lastCheckRequest < 5000) return;
    this.lastCheckRequest = this.h.now;
    if (this.election.isLeader(this.h.now)) this.takeoverNeeded = true;
    for (const p of this.membership.connectedPeers()) this.h.send(this.pnn, p, { t: 'takeover-request' });
  }

  private every(ms: number, fn: () => void): void {
    const arm = (): void => this.h.timer(this, ms, () => { fn(); arm(); });
    arm();
  }

  get numConnected(): number { return this.membership.connectedPeers().length; }

  // ------------------------------------------------------------ membership

  private keepaliveTick(): void {
    const { send, dead } = this.membership.keepaliveTick(this.h.timing.keepaliveLimit);
    for (const p of send) this.h.send(this.pnn, p, { t: 'keepalive' });
    for (const p of dead) {
      this.h.restartLink(this.pnn, p);
      this.linkLost(p);
      this.failPendingTo(p);
      this.afterMembershipChange();
    }
  }

  /** Transport: connection to `pnn` came up. */
  onConnected(pnn: number): void {
    this.membership.connected(pnn);
    this.h.send(this.pnn, pnn, { t: 'flags', pnn: this.pnn, flags: this.membership.ownFlags });
    this.afterMembershipChange();
  }

  /** Transport: connection to `pnn` went down. */
  onDisconnected(pnn: number): void {
    this.membership.disconnected(pnn);
    this.linkLost(pnn);
    this.failPendingTo(pnn);
    this.afterMembershipChange();
  }

  /**
   * As Databases.onNodeDown: migration packets may have gone with the
   * connection; freeze record work and ask for a recovery (recovery mode).
   * During a recovery nothing more is needed: it pulls after freezing.
   */
  private linkLost(pnn: number): void {
    if (this.recmode !== RecMode.NORMAL || !this.records.calls.linkLostNeedsRecovery(pnn, this.vnnmap)) return;
    this.recmode = RecMode.ACTIVE;
    this.records.locks.pause();
  }

  private failPendingTo(_pnn: number): void {
    // Controls carry their own timeouts; failing by destination needs the map below.
    for (const [reqid, p] of this.pendingTo) {
      if (p.to !== _pnn) continue;
      this.pendingTo.delete(reqid);
      this.finishCtl(reqid, -1);
    }
  }

  private readonly pendingTo = new Map<number, { to: number }>();

  /** Changes this node's own flags and tells every connected node. */
  setOwnFlags(flags: number): void {
    const old = this.membership.setOwnFlags(flags);
    if (old === flags) return;
    this.election.myFlags = flags;
    // The tools ask the leader for a takeover run after a flag change; a leader asks itself.
    this.takeoverNeeded = true;
    for (const p of this.membership.connectedPeers()) this.h.send(this.pnn, p, { t: 'flags', pnn: this.pnn, flags });
    if ((flags & (NodeFlag.BANNED | NodeFlag.STOPPED)) !== 0) {
      this.recmode = RecMode.ACTIVE;
      // An inactive node gives up its addresses (CTDB releases all IPs on ban/stop).
      this.hosted.clear();
    }
    this.afterMembershipChange();
  }

  /** Bans this node for `ms` (0 = lift). */
  setBan(ms: number): void {
    const flags = this.membership.ownFlags;
    if (ms === 0) {
      this.banUntil = 0;
      if (flags & NodeFlag.BANNED) this.setOwnFlags(flags & ~NodeFlag.BANNED);
      return;
    }
    const until = this.h.now + ms;
    this.banUntil = until;
    this.setOwnFlags(flags | NodeFlag.BANNED);
    this.h.timer(this, ms, () => { if (this.banUntil === until) this.setBan(0); });
  }

  private afterMembershipChange(): void {
    const now = this.h.now;
    const leader = this.election.leader;
    if (leader !== Pnn.UNKNOWN && leader !== this.pnn) {
      this.apply(this.election.checkLeader(now, this.membership.flagsOf(leader),
        this.membership.get(leader)?.connected ?? false, this.numConnected));
    } else {
      this.apply(this.election.checkLeader(now, this.membership.ownFlags, true, this.numConnected));
    }
  }

  // ------------------------------------------------------------ election

  private electionTick(): void {
    this.apply(this.election.tick(this.h.now, this.numConnected));
    this.afterMembershipChange();
  }

  /** Carries out election actions in order (as Ctdbd.applyElection). */
  apply(actions: ElectionAction[]): void {
    for (const [i, a] of actions.entries()) {
      if (a.type === 'release-lock') {
        this.h.lockRelease(this.pnn);
        // The daemon waits for the helper to exit before carrying on.
        const rest = actions.slice(i + 1);
        this.h.timer(this, 1, () => this.apply(rest));
        return;
      }
      if (a.type === 'take-lock') this.h.lockTake(this);
      else if (a.type === 'recmode-active') {
        this.recmode = RecMode.ACTIVE;
        for (const p of this.membership.connectedPeers()) this.sendCtl(p, { op: 'setrecmode', mode: RecMode.ACTIVE }, () => {});
      } else if (a.type === 'send-election') {
        for (const p of this.membership.connectedPeers()) this.h.send(this.pnn, p, { t: 'election', c: a.candidate });
      } else if (a.type === 'send-leader') {
        for (const p of this.membership.connectedPeers()) this.h.send(this.pnn, p, { t: 'leader', pnn: a.pnn });
      } else if (a.type === 'leader-changed') {
        if (a.to === this.pnn) this.takeoverNeeded = true;
      }
    }
  }

  /** The cluster lock helper answered. */
  onLockResult(r: LockResult): void { this.apply(this.election.onLockResult(r, this.h.now)); }

  /** The cluster lock helper lost the lock. */
  onLockLost(): void { this.apply(this.election.onLockLost(this.h.now, this.numConnected)); }

  // ------------------------------------------------------------ packets

  /** A message from `from` arrived. */
  receive(from: number, m: Msg): void {
    this.membership.heard(from);
    switch (m.t) {
      case 'keepalive': return;
      case 'flags':
        if (m.pnn === this.pnn) return;
        this.membership.setFlags(m.pnn, m.flags);
        if (this.election.isLeader(this.h.now)) this.takeoverNeeded = true;
        this.afterMembershipChange();
        return;
      case 'election':
        this.apply(this.election.onElection(m.c, this.h.now, this.numConnected));
        return;
      case 'leader':
        if (from === this.pnn) return;
        this.apply(this.election.onLeader(m.pnn, this.h.now, this.numConnected));
        return;
      case 'pkt':
        this.records.receive(m.b);
        return;
      case 'takeover-request':
        if (this.election.isLeader(this.h.now)) this.takeoverNeeded = true;
        return;
      case 'ctl':
        this.h.send(this.pnn, from, { t: 'reply', reqid: m.reqid, ...this.handleCtl(m.op) });
        return;
      case 'reply':
        this.pendingTo.delete(m.reqid);
        this.finishCtl(m.reqid, m.status, m.data);
    }
  }

  private handleCtl(c: Ctl): { status: number; data?: unknown } {
    switch (c.op) {
      case 'setrecmode':
        this.recmode = c.mode;
        // Recovery mode freezes the databases: record work waits until it ends.
        // Thaw (as DB_THAW) resumes the queued work and re-sends calls of an older generation.
        if (c.mode === RecMode.ACTIVE) this.records.locks.pause(); else { this.records.locks.resume(); this.records.calls.resendStale(); }
        return { status: 0 };
      case 'pull': return { status: 0, data: { vol: this.records.pull(), pers: this.h.persistent(this.pnn).snapshot() } };
      case 'push': this.records.push(c.records); this.h.persistent(this.pnn).replace(c.persistent); return { status: 0 };
      case 'update':
        // As the UPDATE_RECORD handler: refused in recovery and from another generation.
        if (this.recmode === RecMode.ACTIVE || c.generation !== this.generation) return { status: -1 };
        this.h.persistent(this.pnn).applyCommit(c.batch);
        return { status: 0 };
      case 'setvnnmap': this.generation = c.generation; this.vnnmap = [...c.map]; return { status: 0 };
      case 'getstate': return { status: 0, data: { generation: this.generation, recmode: this.recmode } };
      case 'getips': return { status: 0, data: [...this.hosted] };
      case 'releaseip': for (const ip of c.ips) this.hosted.delete(ip); return { status: 0 };
      case 'takeip':
        if (!nodeMayHost(this.membership.ownFlags)) return { status: -1 };
        for (const ip of c.ips) this.hosted.add(ip);
        return { status: 0 };
      case 'ban': this.setBan(c.ms); return { status: 0 };
      case 'ipalloc': this.owners = new Map(c.owners); return { status: 0 };
    }
  }

  private sendCtl(to: number, op: Ctl, done: (status: number, data?: unknown) => void): void {
    if (to === this.pnn) { const r = this.handleCtl(op); done(r.status, r.data); return; }
    const reqid = this.reqid++;
    this.pending.set(reqid, { done, finished: false });
    this.pendingTo.set(reqid, { to });
    this.h.send(this.pnn, to, { t: 'ctl', reqid, op });
    this.h.timer(this, this.h.timing.controlTimeoutMs, () => { this.pendingTo.delete(reqid); this.finishCtl(reqid, -1); });
  }

  private finishCtl(reqid: number, status: number, data?: unknown): void {
    const p = this.pending.get(reqid);
    if (!p) return;
    this.pending.delete(reqid);
    p.done(status, data);
  }

  get busy(): boolean { return this.isBusy; }
  set busy(v: boolean) { if (v && !this.isBusy) this.busySince = this.h.now; this.isBusy = v; }

  /** Number of controls waiting for an answer (a stuck node keeps this high). */
  get pendingControls(): number { return this.pending.size; }

  /** Sends `op(pnn)` to each of `pnns` and calls `done` with every answer. */
  private callAll(pnns: number[], op: (pnn: number) => Ctl, done: (res: Array<{ status: number; data?: unknown }>) => void): void {
    const res: Array<{ status: number; data?: unknown }> = new Array(pnns.length);
    let left = pnns.length;
    if (left === 0) { done(res); return; }
    pnns.forEach((p, i) => this.sendCtl(p, op(p), (status, data) => {
      res[i] = { status, data };
      if (--left === 0) done(res);
    }));
  }

  // ------------------------------------------------------------ leader loop

  private leaderStep(): void {
    if (!this.election.isLeader(this.h.now)) { this.credits.clear(); return; }
    if (this.busy || (this.membership.ownFlags & NodeFlag.INACTIVE) !== 0) return;
    const active = this.membership.activeNodes();
    const finish = (): void => { this.busy = false; };
    this.busy = true;
    if (this.generation === INVALID_GENERATION) { this.recover(active, finish); return; }
    if (this.credits.overThreshold(this.numNodes)) { this.recover(active, finish); return; }
    if (active.join(',') !== this.vnnmap.join(',')) { this.recover(active, finish); return; }
    if (this.recmode !== RecMode.NORMAL) { this.recover(active, finish); return; }
    const peers = active.filter((p) => p !== this.pnn);
    this.callAll(peers, () => ({ op: 'getstate' }), (res) => {
      if (!this.election.isLeader(this.h.now)) { finish(); return; }
      const stale = res.some((r) => r.status === 0 && ((r.data as { generation: number; recmode: number }).generation !== this.generation
        || (r.data as { recmode: number }).recmode !== RecMode.NORMAL));
      if (stale) { this.recover(this.membership.activeNodes(), finish); return; }
      // Every generation gets a takeover run, even one installed by a leader that lost office mid-recovery.
      if (this.takeoverNeeded || this.takeoverGeneration !== this.generation) { this.takeover(finish); return; }
      finish();
    });
  }

  private dbg(msg: string): void { if (DEBUG) process.stderr.write(`${this.h.now}ms node ${this.pnn}: ${msg}\n`); }

  private recover(active: number[], done: () => void): void {
    this.dbg(`recovery of [${active.join(',')}]`);
    const bans = this.credits.takeBans(this.numNodes, BAN_RULES);
    if (bans.length > 0) {
      // As LeaderLoop.applyBans: ban, then let the flags settle before recovering.
      for (const b of bans) this.sendCtl(b.pnn, { op: 'ban', ms: b.seconds * 1000 }, () => {});
      done();
      return;
    }
    const all = (op: (pnn: number) => Ctl, next: () => void): void => {
      this.callAll(active, op, (res) => {
        const bad = active.filter((_, i) => res[i]!.status !== 0);
        for (const p of bad) this.credits.add(p, 1, this.h.now, BAN_RULES, this.membership.ownFlags);
        if (bad.length > 0 || !this.election.isLeader(this.h.now)) { this.dbg(`recovery failed on [${bad.join(',')}]`); done(); return; }
        next();
      });
    };
    all(() => ({ op: 'setrecmode', mode: RecMode.ACTIVE }), () => {
     this.callAll(active, () => ({ op: 'pull' }), (pulled) => {
      if (pulled.some((r) => r.status !== 0) || !this.election.isLeader(this.h.now)) { done(); return; }
      const data = pulled.map((r) => r.data as { vol: Array<[string, Buffer]>; pers: PersistentCopy });
      const records = mergeForRecovery(data.map((d) => d.vol), this.pnn);
      const pulledCopies = data.map((d) => d.pers);
      const persistent = recoverPersistent(pulledCopies, this.pnn, this.h.sourceRule, this.h.epochRule, this.h.now);
      const generation = this.h.newGeneration(this.pnn);
      all(() => ({ op: 'push', records, persistent }), () => all(() => ({ op: 'setvnnmap', generation, map: active }), () => {
        all(() => ({ op: 'setrecmode', mode: RecMode.NORMAL }), () => {
          this.recoveries++;
          this.credits.clear();
          this.h.recovered(active, pulledCopies);
          this.takeover(done);
        });
      }));
     });
    });
  }

  /** Takeover run: allocate with the daemon's allocator, release everywhere, then take. */
  private takeover(done: () => void): void {
    this.takeoverNeeded = false;
    const generation = this.generation;
    this.dbg('takeover run');
    const connected = [this.pnn, ...this.membership.connectedPeers()].sort((a, b) => a - b);
    this.callAll(connected, () => ({ op: 'getips' }), (res) => {
      if (res.some((r) => r.status !== 0) || !this.election.isLeader(this.h.now)) { this.takeoverNeeded = true; done(); return; }
      const owner = new Map<string, number>();
      connected.forEach((p, i) => { for (const ip of res[i]!.data as string[]) if (!owner.has(ip)) owner.set(ip, p); });
      const ips: PublicIpState[] = this.h.publicIps.map((ip) => ({ ip, owner: owner.get(ip) ?? -1 }));
      const nodes = Array.from({ length: this.numNodes }, (_, p) => ({ flags: this.membership.flagsOf(p) }));
      const owners = allocateIps({ nodes, ips });
      const release = connected.map((p, i) => (res[i]!.data as string[]).filter((ip) => owners.get(ip) !== p));
      this.callAll(connected, (p) => ({ op: 'releaseip', ips: release[connected.indexOf(p)]! }), (rel) => {
        if (rel.some((r) => r.status !== 0)) { this.takeoverNeeded = true; done(); return; }
        const takers = [...new Set([...owners.values()].filter((p) => p >= 0))].sort((a, b) => a - b);
        this.callAll(takers, (p) => ({ op: 'takeip', ips: [...owners].filter(([, o]) => o === p).map(([ip]) => ip) }), (tk) => {
          if (tk.some((r) => r.status !== 0)) { this.dbg(`takeip failed on [${takers.filter((_, i) => tk[i]!.status !== 0).join(',')}]`); this.takeoverNeeded = true; done(); return; }
          this.takeovers++;
          this.takeoverGeneration = generation;
          this.h.tookOver(this.pnn, owners);
          this.callAll(connected, () => ({ op: 'ipalloc', owners: [...owners] }), () => done());
        });
      });
    });
  }
}
