/**
 * The simulated world: a virtual clock, a faulty virtual network, a cluster
 * lock, N SimNodes, a fault injector and the invariants. Everything random
 * comes from one Rng, so `runSeed(seed, opts)` replays exactly. Each node
 * also has a persistent database (test/sim/persistent.ts) that survives its
 * restarts; invariant 'persistent-committed' (with the cluster lock) checks
 * that every acknowledged transaction is on every recovered node after each
 * recovery and on every active node when settled.
 */
import { NodeFlag, Pnn, RecMode } from '../../src/protocol/constants.js';
import { nodeMayHost } from '../../src/ipalloc/index.js';
import { EventQueue } from './queue.js';
import { Rng } from './rng.js';
import { SimNode, type Msg, type SimHost, type SimTiming } from './node.js';
import { PersistentStore, ltdbValue, type EpochRule, type PersistentCopy, type SourceRule } from './persistent.js';

/** Options of one simulated run. */
export interface SimOptions {
  nodes: number;
  /** Virtual milliseconds of faults, then of healing and settling. */
  faultMs: number;
  settleMs: number;
  /** Mean virtual milliseconds between injected faults. */
  faultEveryMs: number;
  publicIps: number;
  timing: SimTiming;
  /** Fault kinds to inject (default all). */
  faults?: FaultKind[];
  /**
   * Also inject 'hostile' network faults: silent drops, duplicates and
   * reordering inside one connection. TCP never does this, and the daemon
   * relies on it (flags are sent once per change), so only the safety
   * invariants are checked in this mode, not convergence of flags and IPs.
   */
  hostile?: boolean;
  /**
   * Let the cluster lock be lost while its holder is stopped (an expired
   * etcd lease). Off by default: see the known finding in sim.test.ts.
   */
  lockLostWhileStopped?: boolean;
  /** Number of record keys clients fetch (record migration through CallEngine); 0 (default) turns it off. */
  recordKeys?: number;
  /**
   * Clients commit persistent transactions (one new key each) through their
   * node; checked by 'persistent-committed'. Default on; false turns it off.
   */
  persistentCommits?: boolean;
  /**
   * Which nodes a commit is sent to (UPDATE_RECORD) besides its origin:
   * 'active' as the daemon does now (Membership.activeNodes(): connected,
   * not inactive) or 'vnnmap' (the current generation's members, as CTDB).
   * Default 'vnnmap'; see the known finding in sim.test.ts.
   */
  commitPeers?: 'active' | 'vnnmap';
  /** Epoch a recovery stamps: 'max+1' (the daemon's) or 'clock' (default; see persistent.ts and the known finding in sim.test.ts). */
  epochRule?: EpochRule;
  /** Persistent source rule of recovery: 'epoch' (the daemon's, default) or 'seqnum' (the old rule, to show the check fails). */
  sourceRule?: SourceRule;
  /** Hard cap on events per run (bounded loops). */
  maxEvents?: number;
}

/** Kinds of faults the injector knows. */
export const FAULT_KINDS = ['kill', 'stop', 'partition', 'cut', 'chaos', 'disable', 'ban', 'lock-lost', 'hostile'] as const;
export type FaultKind = typeof FAULT_KINDS[number];

/** A broken invariant. */
export interface Violation { seed: number; atMs: number; step: number; invariant: string; detail: string }

/** The outcome of one seed. */
export interface SeedResult {
  seed: number;
  steps: number;
  violation?: Violation;
  faults: Record<string, number>;
  recoveries: number;
  takeovers: number;
  /** Persistent transactions acknowledged to clients, and completed recoveries checked. */
  commitsAcked: number;
  /** Acknowledged transactions that no node of a later recovery held (lost with every node that had them; not a violation). */
  commitsAbandoned: number;
  /** Whether that happened (the persistent check stops there). */
  forked: boolean;
  recoveriesChecked: number;
  /** Record fetches issued and completed by simulated clients, and the highest hopcount seen. */
  fetches: number;
  fetched: number;
  maxHopCount: number;
  /** Human-readable trace of faults (for replaying a failing seed). */
  trace: string[];
  /** Every node's state at the end (or at the violation). */
  state: string[];
}

/** Default daemon timings (a test-mode-like cluster: short intervals). */
export const DEFAULT_TIMING: SimTiming = {
  keepaliveIntervalMs: 1000, keepaliveLimit: 3, leaderTimeoutMs: 3000, electionTimeoutMs: 1000,
  electionTickMs: 100, recoverIntervalMs: 1000, controlTimeoutMs: 3000, lock: false,
};

/** A record request that has bounced this often is going round in circles (the daemon warns from 96). */
const HOPCOUNT_LIMIT = 95;

/** Retransmission tick of a connection whose path is broken (virtual ms). */
const RETRANSMIT_MS = 250;

interface Slot { node: SimNode; alive: boolean; stopped: boolean; inc: number; deferred: Array<() => void>; store: PersistentStore }

class InvariantError extends Error {
  constructor(readonly invariant: string, detail: string) { super(detail); }
}

/** One simulated cluster run. */
export class World implements SimHost {
  now = 0;
  readonly rng: Rng;
  readonly timing: SimTiming;
  readonly publicIps: string[];
  readonly recordKeys: string[];
  readonly loadUntil: number;
  private readonly q = new EventQueue();
  private readonly slots: Slot[] = [];
  private readonly n: number;
  /** Link state per unordered pair (index a*n+b with a<b): epoch, 0 = down. */
  private readonly link: number[];
  private epochSeq = 1;
  private readonly lastDelivery: number[];
  /** Partition group of each node (same group = can talk). */
  private group: number[];
  private readonly cut = new Set<number>();
  /** reset: a packet breaks its connection (lost, both ends see EOF); the rest are hostile-only. */
  private chaos = { reset: 0, delayMs: 0, drop: 0, dup: 0, jitterMs: 0 };
  private wasHostile = false;
  private lockHolder: number | undefined;
  private readonly genCreator = new Map<number, number>();
  private healed = false;
  private readonly dualSince = new Map<string, number>();
  steps = 0;
  readonly persistentCommits: boolean;
  readonly sourceRule: SourceRule;
  readonly commitPeers: 'active' | 'vnnmap';
  readonly epochRule: EpochRule;
  /** Acknowledged transactions: key -> full value the client wrote. */
  private readonly acknowledged = new Map<string, Buffer>();
  private txSeq = 0;
  private txAcked = 0;
  /** Acknowledged transactions no recovered node held (see recovered()). */
  abandoned = 0;
  /** A recovery went on without every node holding some acknowledged transaction (see recovered()). */
  forked = false;
  recoveriesChecked = 0;
  readonly faults: Record<string, number> = {};
  readonly trace: string[] = [];

  constructor(readonly seed: number, readonly opts: SimOptions) {
    this.rng = new Rng(seed);
    this.persistentCommits = opts.persistentCommits ?? true;
    this.sourceRule = opts.sourceRule ?? 'epoch';
    this.commitPeers = opts.commitPeers ?? 'vnnmap';
    this.epochRule = opts.epochRule ?? 'clock';
    this.timing = opts.timing;
    this.n = opts.nodes;
    this.link = new Array<number>(this.n * this.n).fill(0);
    this.lastDelivery = new Array<number>(this.n * this.n).fill(0);
    this.group = new Array<number>(this.n).fill(0);
    this.recordKeys = Array.from({ length: opts.recordKeys ?? 0 }, (_, i) => `rec${i}`);
    // Clients stop 8 s before the end: long enough for re-sends after a last recovery.
    this.loadUntil = opts.faultMs + opts.settleMs - 8000;
    this.publicIps = Array.from({ length: opts.publicIps }, (_, i) => `192.168.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    for (let p = 0; p < this.n; p++) {
      this.slots.push({ node: undefined as unknown as SimNode, alive: false, stopped: false, inc: 0, deferred: [], store: new PersistentStore() });
      // Nodes come up over the first two seconds, in random order.
      this.at(this.rng.int(2000), () => this.boot(p));
    }
    this.every(500, () => this.connectLinks());
  }

  // ------------------------------------------------------------ scheduling

  private at(delay: number, fn: () => void): void { this.q.push(this.now + Math.max(0, delay), fn); }

  private every(ms: number, fn: () => void): void {
    const arm = (): void => this.at(ms, () => { fn(); arm(); });
    arm();
  }

  timer(node: SimNode, delayMs: number, fn: () => void): void {
    const s = this.slots[node.pnn]!;
    const inc = s.inc;
    this.at(delayMs, () => this.onNode(node.pnn, inc, fn));
  }

  /** Runs `fn` on node `pnn` if that incarnation lives; held while it is stopped. */
  private onNode(pnn: number, inc: number, fn: () => void): void {
    const s = this.slots[pnn]!;
    if (!s.alive || s.inc !== inc) return;
    if (s.stopped) { s.deferred.push(fn); return; }
    fn();
  }

  // ------------------------------------------------------------ network

  private key(a: number, b: number): number { return a < b ? a * this.n + b : b * this.n + a; }

  /** Can packets pass between a and b right now (ignoring whether a link is up)? */
  private path(a: number, b: number): boolean {
    return this.group[a] === this.group[b] && !this.cut.has(this.key(a, b));
  }

  private reachable(a: number, b: number): boolean {
    const sa = this.slots[a]!; const sb = this.slots[b]!;
    return sa.alive && sb.alive && !sa.stopped && !sb.stopped && this.path(a, b);
  }

  private connectLinks(): void {
    for (let a = 0; a < this.n; a++) {
      for (let b = a + 1; b < this.n; b++) {
        const k = this.key(a, b);
        if (this.link[k] !== 0 || !this.reachable(a, b)) continue;
        const epoch = this.epochSeq++;
        this.link[k] = epoch;
        const ia = this.slots[a]!.inc; const ib = this.slots[b]!.inc;
        this.at(1, () => { if (this.link[k] === epoch) this.onNode(a, ia, () => this.slots[a]!.node.onConnected(b)); });
        this.at(1, () => { if (this.link[k] === epoch) this.onNode(b, ib, () => this.slots[b]!.node.onConnected(a)); });
      }
    }
  }

  /** Takes the link a-b down; `notify` says which ends learn of it. */
  private linkDown(a: number, b: number, notify: number[]): void {
    const k = this.key(a, b);
    if (this.link[k] === 0) return;
    this.link[k] = 0;
    for (const p of notify) {
      const other = p === a ? b : a;
      const inc = this.slots[p]!.inc;
      this.at(1, () => this.onNode(p, inc, () => this.slots[p]!.node.onDisconnected(other)));
    }
  }

  restartLink(from: number, to: number): void {
    // The closing end knows; the other end sees EOF only if packets can get there.
    this.linkDown(from, to, this.path(from, to) && this.slots[to]!.alive ? [to] : []);
  }

  send(from: number, to: number, m: Msg): void {
    if (from === to) return;
    const k = this.key(from, to);
    const epoch = this.link[k]!;
    if (epoch === 0) return;
    if (this.chaos.reset > 0 && this.rng.chance(this.chaos.reset)) {
      // A connection reset: this packet and everything in flight is lost; both ends notice.
      this.linkDown(from, to, [from, to]);
      return;
    }
    if (this.chaos.drop > 0 && this.rng.chance(this.chaos.drop)) return;
    const copies = this.chaos.dup > 0 && this.rng.chance(this.chaos.dup) ? 2 : 1;
    const dk = from * this.n + to;
    for (let i = 0; i < copies; i++) {
      let t = this.now + 1 + this.rng.int(4) + (this.chaos.delayMs > 0 ? this.rng.int(this.chaos.delayMs) : 0)
        + (this.chaos.jitterMs > 0 ? this.rng.int(this.chaos.jitterMs) : 0);
      // Without jitter a link is a TCP stream: packets arrive in order.
      if (this.chaos.jitterMs === 0) t = Math.max(t, this.lastDelivery[dk]!);
      this.lastDelivery[dk] = Math.max(this.lastDelivery[dk]!, t);
      const inc = this.slots[to]!.inc;
      const deliver = (): void => {
        if (this.link[k] !== epoch) return;
        // TCP keeps retransmitting while the connection lives: hold the packet until a path is back.
        if (!this.path(from, to)) {
          const retry = Math.ceil((this.now + 1) / RETRANSMIT_MS) * RETRANSMIT_MS;
          // Later packets on this connection queue behind the held one (a TCP stream stays in order).
          this.lastDelivery[dk] = Math.max(this.lastDelivery[dk]!, retry);
          this.q.push(retry, deliver);
          return;
        }
        this.onNode(to, inc, () => this.slots[to]!.node.receive(from, m));
      };
      this.q.push(t, deliver);
    }
  }

  // ------------------------------------------------------------ lock

  lockTake(node: SimNode): void {
    const s = this.slots[node.pnn]!;
    const inc = s.inc;
    this.at(5 + this.rng.int(45), () => {
      if (!s.alive || s.inc !== inc) return;
      let r: 'held' | 'contended';
      if (this.lockHolder === undefined || this.lockHolder === node.pnn) { this.lockHolder = node.pnn; r = 'held'; } else r = 'contended';
      this.onNode(node.pnn, inc, () => node.onLockResult(r));
    });
  }

  lockRelease(pnn: number): void { if (this.lockHolder === pnn) this.lockHolder = undefined; }

  newGeneration(pnn: number): number {
    let g: number;
    do g = 2 + this.rng.int(0x7ffffff0); while (this.genCreator.has(g));
    this.genCreator.set(g, pnn);
    if (this.timing.lock && this.lockHolder !== pnn) {
      throw new InvariantError('leader-holds-lock', `node ${pnn} created generation ${g} without holding the cluster lock (holder ${this.lockHolder})`);
    }
    return g;
  }

  tookOver(): void { /* checked when the cluster has settled */ }

  // ------------------------------------------------------------ persistent database

  persistent(pnn: number): PersistentStore { return this.slots[pnn]!.store; }

  nextTxKey(): string { return `tx${++this.txSeq}`; }

  acked(key: string, data: Buffer): void { this.txAcked++; this.acknowledged.set(key, ltdbValue(data)); }

  recovered(active: number[], pulled: PersistentCopy[]): void {
    this.recoveriesChecked++;
    // A transaction none of the recovered nodes held when pulled cannot come back: every node
    // that applied it was dead, stopped, cut off or banned, and the cluster went on without it
    // (as CTDB would). The history has forked: the nodes that had it may return later with
    // their own branch, and whichever branch recovery keeps, the other's acknowledged
    // transactions are gone; no source rule can avoid that. The daemon's rule (and this
    // invariant) covers a linear history: checked until the first fork of the run.
    const held = pulled.map((c) => new Map(c.records));
    for (const [k, v] of this.acknowledged) {
      if (!held.some((h) => h.get(k)?.equals(v))) { this.acknowledged.delete(k); this.abandoned++; }
    }
    if (this.abandoned > 0) this.forked = true;
    this.checkPersistent(active, 'after recovery');
  }

  /** Invariant 'persistent-committed': every acknowledged transaction (not abandoned) is on each of `pnns`. */
  private checkPersistent(pnns: number[], when: string): void {
    // Without a cluster lock a partition leaves two clusters committing side by side (split
    // brain; CTDB documents it): one side's transactions are lost at the merge, whatever the rule.
    if (this.forked || !this.timing.lock) return;
    for (const p of pnns) {
      const have = this.slots[p]!.store.records;
      for (const [k, v] of this.acknowledged) {
        const got = have.get(k);
        if (!got || !got.equals(v)) {
          throw new InvariantError('persistent-committed', `${when} of [${pnns.join(',')}]: node ${p} ${got ? 'has another value of' : 'lacks'} acknowledged transaction ${k} (${this.acknowledged.size} acknowledged)`);
        }
      }
    }
  }

  // ------------------------------------------------------------ nodes

  private boot(p: number): void {
    const s = this.slots[p]!;
    s.alive = true; s.stopped = false; s.inc++; s.deferred = [];
    s.node = new SimNode(this, p, this.n, 0);
    s.node.start();
  }

  private kill(p: number): void {
    const s = this.slots[p]!;
    s.alive = false; s.stopped = false; s.inc++; s.deferred = [];
    if (this.lockHolder === p) this.lockHolder = undefined;
    for (let o = 0; o < this.n; o++) if (o !== p) this.linkDown(p, o, this.path(p, o) ? [o] : []);
  }

  private resume(p: number): void {
    const s = this.slots[p]!;
    if (!s.alive || !s.stopped) return;
    s.stopped = false;
    const d = s.deferred; s.deferred = [];
    for (const fn of d) { if (s.alive && !s.stopped) fn(); }
  }

  // ------------------------------------------------------------ faults

  private count(kind: string, what: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
    this.trace.push(`${this.now}ms ${what}`);
  }

  private injectFault(): void {
    const kinds = this.opts.faults ?? FAULT_KINDS.filter((k) => k !== 'lock-lost' || this.timing.lock);
    const kind = this.rng.pick(kinds);
    const p = this.rng.int(this.n);
    const s = this.slots[p]!;
    const later = (ms: number, fn: () => void): void => this.at(ms, () => { if (!this.healed) fn(); });
    switch (kind) {
      case 'kill':
        if (!s.alive) return;
        this.count(kind, `kill -9 node ${p}`);
        this.kill(p);
        later(1000 + this.rng.int(9000), () => { if (!s.alive) { this.trace.push(`${this.now}ms restart node ${p}`); this.boot(p); } });
        return;
      case 'stop':
        if (!s.alive || s.stopped) return;
        this.count(kind, `SIGSTOP node ${p}`);
        s.stopped = true;
        later(500 + this.rng.int(12000), () => { this.trace.push(`${this.now}ms SIGCONT node ${p}`); this.resume(p); });
        return;
      case 'partition': {
        const g = Array.from({ length: this.n }, () => this.rng.int(2));
        this.count(kind, `partition ${g.join('')}`);
        this.group = g;
        later(1000 + this.rng.int(15000), () => { this.trace.push(`${this.now}ms partition healed`); this.group = new Array<number>(this.n).fill(0); });
        return;
      }
      case 'cut': {
        const o = (p + 1 + this.rng.int(this.n - 1)) % this.n;
        const k = this.key(p, o);
        this.count(kind, `cut link ${p}-${o}`);
        this.cut.add(k);
        later(1000 + this.rng.int(10000), () => { this.trace.push(`${this.now}ms link ${p}-${o} restored`); this.cut.delete(k); });
        return;
      }
      case 'chaos': {
        this.chaos = { ...this.chaos, reset: this.rng.float() * 0.05, delayMs: this.rng.int(800) };
        this.count(kind, `chaos resets=${this.chaos.reset.toFixed(3)} delay<${this.chaos.delayMs}ms`);
        later(1000 + this.rng.int(8000), () => { this.trace.push(`${this.now}ms chaos off`); this.chaos = { ...this.chaos, reset: 0, delayMs: 0 }; });
        return;
      }
      case 'hostile': {
        if (!this.opts.hostile) return;
        this.wasHostile = true;
        this.chaos = { ...this.chaos, drop: this.rng.float() * 0.2, dup: this.rng.float() * 0.2, jitterMs: this.rng.int(300) };
        this.count(kind, `hostile drop=${this.chaos.drop.toFixed(3)} dup=${this.chaos.dup.toFixed(3)} reorder<${this.chaos.jitterMs}ms`);
        later(1000 + this.rng.int(8000), () => { this.trace.push(`${this.now}ms hostile off`); this.chaos = { ...this.chaos, drop: 0, dup: 0, jitterMs: 0 }; });
        return;
      }
      case 'disable':
        if (!s.alive || s.stopped) return;
        this.count(kind, `toggle disabled on node ${p}`);
        s.node.setOwnFlags(s.node.membership.ownFlags ^ NodeFlag.PERMANENTLY_DISABLED);
        return;
      case 'ban': {
        if (!s.alive || s.stopped) return;
        const ms = 1000 + this.rng.int(8000);
        this.count(kind, `ban node ${p} for ${ms}ms`);
        s.node.setBan(ms);
        return;
      }
      case 'lock-lost': {
        const h = this.lockHolder;
        if (h === undefined) return;
        // A holder that is stopped learns of the loss only after it runs again; see lockLostWhileStopped.
        if (this.slots[h]!.stopped && !this.opts.lockLostWhileStopped) return;
        this.count(kind, `cluster lock lost by node ${h}`);
        this.lockHolder = undefined;
        const hs = this.slots[h]!;
        this.onNode(h, hs.inc, () => hs.node.onLockLost());
      }
    }
  }

  /** Ends every fault: processes resumed or restarted, network whole, lock left as is. */
  private heal(): void {
    this.healed = true;
    this.trace.push(`${this.now}ms heal`);
    this.group = new Array<number>(this.n).fill(0);
    this.cut.clear();
    this.chaos = { reset: 0, delayMs: 0, drop: 0, dup: 0, jitterMs: 0 };
    for (let p = 0; p < this.n; p++) {
      const s = this.slots[p]!;
      if (!s.alive && s.inc > 0) this.boot(p);
      else if (s.stopped) this.resume(p);
    }
  }

  // ------------------------------------------------------------ invariants

  private alive(): SimNode[] { return this.slots.filter((s) => s.alive).map((s) => s.node); }

  /** Nodes that can act now (a stopped process takes no decisions until it runs again). */
  private running(): SimNode[] { return this.slots.filter((s) => s.alive && !s.stopped).map((s) => s.node); }

  /** Checked after every event. */
  private checkStep(): void {
    for (const s of this.slots) {
      if (s.alive && s.node.records.calls.maxHopCount > HOPCOUNT_LIMIT) {
        throw new InvariantError('hopcount-bounded', `node ${s.node.pnn} saw a record request after ${s.node.records.calls.maxHopCount} hops`);
      }
    }
    const leaders = this.running().filter((x) => x.election.isLeader(this.now));
    if (this.timing.lock) {
      if (leaders.length > 1) throw new InvariantError('one-leader-with-lock', `nodes ${leaders.map((x) => x.pnn).join(',')} all lead`);
      for (const x of this.running()) {
        if (x.election.lockHeld && this.lockHolder !== x.pnn) {
          throw new InvariantError('lock-held-agrees', `node ${x.pnn} believes it holds the lock; holder is ${this.lockHolder}`);
        }
      }
    } else if (this.healed && leaders.length > 1) {
      // Two leaders that can talk must settle it within an election round and a leader timeout.
      const grace = this.timing.electionTimeoutMs + this.timing.leaderTimeoutMs + this.timing.keepaliveIntervalMs * this.timing.keepaliveLimit + 3000;
      for (let i = 0; i < leaders.length; i++) {
        for (let j = i + 1; j < leaders.length; j++) {
          const a = leaders[i]!.pnn; const b = leaders[j]!.pnn;
          const k = `${a},${b}`;
          if (this.link[this.key(a, b)] === 0) { this.dualSince.delete(k); continue; }
          const since = this.dualSince.get(k) ?? this.now;
          this.dualSince.set(k, since);
          if (this.now - since > grace) throw new InvariantError('one-leader-connected', `connected nodes ${a} and ${b} both lead for ${this.now - since} ms`);
        }
      }
    }
  }

  /** Checked once the cluster had time to settle after healing. */
  private checkSettled(): void {
    const nodes = this.alive();
    if (this.wasHostile) return this.checkSettledLeader(nodes);
    const fail = (inv: string, d: string): never => { throw new InvariantError(inv, d); };
    const leader = nodes[0]!.election.leader;
    for (const x of nodes) if (x.election.leader !== leader) fail('agree-leader', `node ${x.pnn} follows ${fmt(x.election.leader)}, node ${nodes[0]!.pnn} follows ${fmt(leader)}`);
    const eligible = nodes.filter((x) => (x.membership.ownFlags & NodeFlag.INACTIVE) === 0);
    if (eligible.length === 0) return;
    if (leader === Pnn.UNKNOWN) fail('has-leader', 'no leader after settling');
    const L = nodes.find((x) => x.pnn === leader);
    if (!L || !L.election.isLeader(this.now)) fail('has-leader', `leader ${leader} is not a settled leader`);
    for (const x of nodes) {
      for (const y of nodes) {
        if (x.membership.flagsOf(y.pnn) !== y.membership.ownFlags) {
          fail('agree-flags', `node ${x.pnn} sees node ${y.pnn} with flags 0x${x.membership.flagsOf(y.pnn).toString(16)}, node says 0x${y.membership.ownFlags.toString(16)}`);
        }
      }
    }
    const l = L!;
    for (const x of eligible) {
      if (x.generation !== l.generation) fail('agree-generation', `node ${x.pnn} generation ${x.generation}, leader ${l.generation}`);
      if (x.recmode !== RecMode.NORMAL) fail('recmode-normal', `node ${x.pnn} still in recovery mode`);
    }
    this.checkPersistent(eligible.map((x) => x.pnn), 'when settled');
    for (const x of nodes) {
      if (x.records.calls.pendingCount > 0) fail('no-request-stuck', `node ${x.pnn} still waits for ${x.records.calls.pendingCount} record request(s) after settling`);
    }
    if (l.busy && this.now - l.busySince > 4 * this.timing.controlTimeoutMs) {
      fail('not-stuck', `leader loop busy for ${this.now - l.busySince} ms with ${l.pendingControls} controls outstanding`);
    }
    const hosts = nodes.filter((x) => nodeMayHost(x.membership.ownFlags));
    for (const ip of this.publicIps) {
      const on = nodes.filter((x) => x.hosted.has(ip)).map((x) => x.pnn);
      if (hosts.length > 0 && on.length !== 1) fail('ip-hosted-once', `${ip} hosted on [${on.join(',')}]`);
      for (const p of on) if (!nodeMayHost(this.slots[p]!.node.membership.ownFlags)) fail('ip-on-eligible', `${ip} hosted on node ${p}, which may not host`);
    }
  }

  /** After hostile faults: only that everyone follows one live leader. */
  private checkSettledLeader(nodes: SimNode[]): void {
    const leader = nodes[0]!.election.leader;
    for (const x of nodes) {
      if (x.election.leader !== leader) throw new InvariantError('agree-leader', `node ${x.pnn} follows ${fmt(x.election.leader)}, node ${nodes[0]!.pnn} follows ${fmt(leader)}`);
    }
  }

  // ------------------------------------------------------------ run

  /** Runs the seed to completion or the first violation. */
  run(): SeedResult {
    const o = this.opts;
    const faultEnd = o.faultMs;
    const scheduleFault = (): void => {
      const d = 1 + this.rng.int(2 * o.faultEveryMs);
      if (this.now + d >= faultEnd) return;
      this.at(d, () => { this.injectFault(); scheduleFault(); });
    };
    if (o.faultEveryMs > 0) scheduleFault();
    this.q.push(Math.max(faultEnd, 2000), () => this.heal());
    const end = faultEnd + o.settleMs;
    const maxEvents = o.maxEvents ?? 5_000_000;
    let violation: Violation | undefined;
    try {
      while (this.q.peekTime() <= end) {
        if (++this.steps > maxEvents) throw new InvariantError('bounded', `more than ${maxEvents} events`);
        const e = this.q.pop()!;
        this.now = e.at;
        e.run();
        this.checkStep();
      }
      this.now = end;
      this.checkSettled();
    } catch (err) {
      if (!(err instanceof InvariantError)) throw err;
      violation = { seed: this.seed, atMs: this.now, step: this.steps, invariant: err.invariant, detail: err.message };
    }
    const live = this.slots.filter((s) => s.alive).map((s) => s.node);
    const state = this.slots.map((s, p) => (!s.alive ? `node ${p}: dead` : `node ${p}:${s.stopped ? ' STOPPED' : ''} leader=${fmt(s.node.election.leader)}`
      + ` isLeader=${s.node.election.isLeader(this.now)} lock=${s.node.election.lockHeld} flags=0x${s.node.membership.ownFlags.toString(16)}`
      + ` sees=[${s.node.membership.list().map((m) => s.node.membership.flagsOf(m.pnn).toString(16)).join(',')}] gen=${s.node.generation}`
      + ` recmode=${s.node.recmode} busy=${s.node.busy} takeoverNeeded=${s.node.takeoverNeeded} ips=[${[...s.node.hosted].join(',')}]`));
    return {
      state,
      seed: this.seed, steps: this.steps, violation, commitsAcked: this.txAcked, commitsAbandoned: this.abandoned, forked: this.forked, recoveriesChecked: this.recoveriesChecked, faults: this.faults, trace: this.trace,
      recoveries: live.reduce((a, x) => a + x.recoveries, 0), takeovers: live.reduce((a, x) => a + x.takeovers, 0),
      fetches: live.reduce((a, x) => a + x.records.issued, 0), fetched: live.reduce((a, x) => a + x.records.completed, 0),
      maxHopCount: live.reduce((a, x) => Math.max(a, x.records.calls.maxHopCount), 0),
    };
  }
}

const fmt = (pnn: number): string => (pnn === Pnn.UNKNOWN ? 'UNKNOWN' : String(pnn));

/** Runs one seed with `opts`. */
export function runSeed(seed: number, opts: SimOptions): SeedResult {
  return new World(seed, opts).run();
}
