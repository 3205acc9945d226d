import { NodeFlag, Pnn } from '../protocol/constants.js';

/** An election message as compared by candidates (times in milliseconds). */
export interface Candidate {
  pnn: number;
  /** When the candidate's leader logic started (ms since the epoch); earlier wins. */
  priorityTime: number;
  nodeFlags: number;
  numConnected: number;
}

/** What the election asks the daemon to do. */
export type ElectionAction =
  | { type: 'send-election'; candidate: Candidate }
  | { type: 'send-leader'; pnn: number }
  | { type: 'leader-changed'; from: number; to: number }
  /** Lock mode: run the cluster lock helper; answer with onLockResult. */
  | { type: 'take-lock' }
  /** Lock mode: stop the lock helper (finish before later actions run). */
  | { type: 'release-lock' }
  /** Lock mode: put every connected node (this one included) in recovery mode. */
  | { type: 'recmode-active' };

/** What a cluster lock attempt gave (as ClusterLock.take resolves). */
export type LockResult = 'held' | 'contended' | 'timeout' | 'error';

/** Timing and identity of the local candidate. */
export interface ElectionOptions {
  myPnn: number;
  priorityTime: number;
  leaderTimeoutMs: number;
  electionTimeoutMs: number;
  /** Delay before a node that would win re-sends its own message. */
  rebroadcastDelayMs?: number;
  /**
   * A cluster lock is configured: leadership is holding the lock, and an
   * election is a race for it (election messages are ignored).
   */
  lock?: boolean;
  /** How long a starting node listens for a leader before its first election (default: the leader timeout). */
  firstElectionDelayMs?: number;
}

/**
 * Leader election. Without a cluster lock it is decided by messages: the
 * longest-running LEADER-capable active node wins, ties broken by the higher
 * PNN. With a lock (`opts.lock`) the leader is the node holding it: an
 * election announces LEADER(UNKNOWN), puts every node in recovery mode and
 * lets each eligible node try the lock. Either way the leader announces itself
 * every second and silence for the leader timeout starts a new election.
 * Pure: time comes in as arguments, actions go out as values.
 */
export class Election {
  leader: number = Pnn.UNKNOWN;
  capable = true;
  myFlags = 0;
  private lastLeaderSeen = -Infinity;
  private electionEndsAt = -Infinity;
  private rebroadcastAt: number | undefined;
  private lastAnnounce = -Infinity;
  /** Lock mode: the helper reported the lock held and has not lost it since. */
  lockHeld = false;
  /** Lock mode: a take-lock is outstanding. */
  lockPending = false;

  constructor(readonly opts: ElectionOptions) {
    // A new node first listens (a leader timeout, or firstElectionDelayMs): joining a running
    // cluster must not disturb its leader, and nodes started together are all connected by then.
    this.lastLeaderSeen = opts.priorityTime - opts.leaderTimeoutMs + (opts.firstElectionDelayMs ?? opts.leaderTimeoutMs);
  }

  /** True when leadership is decided by a cluster lock. */
  get lockMode(): boolean { return this.opts.lock === true; }

  /** May this node lead now (LEADER-capable and active)? */
  get eligible(): boolean { return this.capable && (this.myFlags & NodeFlag.INACTIVE) === 0; }

  /** This node's candidacy; a node that may not lead makes itself lose. */
  me(now: number, numConnected: number): Candidate {
    const eligible = this.capable && (this.myFlags & NodeFlag.INACTIVE) === 0;
    return {
      pnn: this.opts.myPnn,
      priorityTime: eligible ? this.opts.priorityTime : now,
      nodeFlags: this.myFlags,
      numConnected: eligible ? numConnected : 0,
    };
  }

  /** True while an election is being decided (no leader duties then). */
  inElection(now: number): boolean { return now < this.electionEndsAt; }

  /** True when this node is the settled leader (in lock mode: holding the lock). */
  isLeader(now: number): boolean {
    if (this.lockMode) return this.leader === this.opts.myPnn && this.lockHeld;
    return this.leader === this.opts.myPnn && !this.inElection(now);
  }

  /** Would `mine` beat `theirs`? */
  static wins(mine: Candidate, theirs: Candidate, capable: boolean): boolean {
    if (!capable || (mine.nodeFlags & NodeFlag.INACTIVE) !== 0) return false;
    if ((theirs.nodeFlags & NodeFlag.INACTIVE) !== 0) return true;
    if (theirs.priorityTime > mine.priorityTime) return true;
    if (theirs.priorityTime < mine.priorityTime) return false;
    return mine.pnn > theirs.pnn;
  }

  private setLeader(pnn: number, out: ElectionAction[]): void {
    if (pnn === this.leader) return;
    out.push({ type: 'leader-changed', from: this.leader, to: pnn });
    this.leader = pnn;
  }

  /** Starts an election now (leader silent, leader unknown, or forced). */
  startElection(now: number, numConnected: number): ElectionAction[] {
    if (this.lockMode) {
      const out: ElectionAction[] = [{ type: 'recmode-active' }];
      if (this.lockHeld && !this.eligible) {
        // Let go first so that the others' race for the lock can succeed.
        this.lockHeld = false;
        out.push({ type: 'release-lock' });
      }
      out.push({ type: 'send-leader', pnn: Pnn.UNKNOWN });
      return [...out, ...this.lockElection(now)];
    }
    const out: ElectionAction[] = [];
    this.electionEndsAt = now + this.opts.electionTimeoutMs;
    this.lastLeaderSeen = now;
    const mine = this.me(now, numConnected);
    if (this.capable && (this.myFlags & NodeFlag.INACTIVE) === 0) this.setLeader(this.opts.myPnn, out);
    out.push({ type: 'send-election', candidate: mine });
    return out;
  }

  /**
   * Lock mode, on every node: release the lock when not eligible, lead when
   * holding it, else try to take it.
   */
  private lockElection(now: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    this.electionEndsAt = now + this.opts.electionTimeoutMs;
    this.lastLeaderSeen = now;
    if (!this.eligible) {
      if (this.lockHeld) { this.lockHeld = false; out.push({ type: 'release-lock' }); }
      if (this.leader === this.opts.myPnn) this.setLeader(Pnn.UNKNOWN, out);
      return out;
    }
    if (this.lockHeld) {
      this.setLeader(this.opts.myPnn, out);
      this.lastAnnounce = now;
      out.push({ type: 'send-leader', pnn: this.opts.myPnn });
      return out;
    }
    this.setLeader(Pnn.UNKNOWN, out);
    if (!this.lockPending) { this.lockPending = true; out.push({ type: 'take-lock' }); }
    return out;
  }

  /** Lock mode: the answer to a take-lock action. */
  onLockResult(result: LockResult, now: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    this.lockPending = false;
    if (result !== 'held') return out;
    this.lockHeld = true;
    if (!this.eligible) {
      // Capability or activity went away while the helper was starting.
      this.lockHeld = false;
      out.push({ type: 'release-lock' });
      return out;
    }
    this.setLeader(this.opts.myPnn, out);
    this.electionEndsAt = now;
    this.lastAnnounce = now;
    this.lastLeaderSeen = now;
    out.push({ type: 'send-leader', pnn: this.opts.myPnn });
    return out;
  }

  /** Lock mode: the lock helper exited or lost the lock: step down and force an election. */
  onLockLost(now: number, numConnected: number): ElectionAction[] {
    this.lockHeld = false;
    this.lockPending = false;
    const out: ElectionAction[] = [];
    if (this.leader === this.opts.myPnn) this.setLeader(Pnn.UNKNOWN, out);
    return [...out, ...this.startElection(now, numConnected)];
  }

  /** An election message from another node arrived. */
  onElection(c: Candidate, now: number, numConnected: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    if (c.pnn === this.opts.myPnn || this.lockMode) return out;
    this.electionEndsAt = Math.max(this.electionEndsAt, now + this.opts.electionTimeoutMs);
    this.lastLeaderSeen = now;
    const mine = this.me(now, numConnected);
    if (Election.wins(mine, c, this.capable)) {
      this.setLeader(this.opts.myPnn, out);
      this.rebroadcastAt ??= now + (this.opts.rebroadcastDelayMs ?? 500);
    } else {
      this.rebroadcastAt = undefined;
      this.setLeader(c.pnn, out);
    }
    return out;
  }

  /** A leader announcement arrived (UNKNOWN = "election starting"). */
  onLeader(pnn: number, now: number, numConnected: number): ElectionAction[] {
    if (this.lockMode) return this.onLeaderWithLock(pnn, now);
    if (pnn === Pnn.UNKNOWN) {
      if (this.inElection(now)) return [];
      return this.startElection(now, numConnected);
    }
    const out: ElectionAction[] = [];
    this.lastLeaderSeen = now;
    // While an election runs, election messages decide; stale announcements must not.
    if (this.inElection(now)) return out;
    if (pnn !== this.opts.myPnn) {
      // Another node claims leadership while we think we lead: settle it by election.
      if (this.leader === this.opts.myPnn && !this.inElection(now)) return this.startElection(now, numConnected);
      this.setLeader(pnn, out);
    }
    return out;
  }

  private onLeaderWithLock(pnn: number, now: number): ElectionAction[] {
    if (pnn === Pnn.UNKNOWN) {
      // Several nodes may call the same election: join it once.
      if (this.inElection(now) && (this.lockPending || this.lockHeld || !this.eligible)) return [];
      return this.lockElection(now);
    }
    const out: ElectionAction[] = [];
    this.lastLeaderSeen = now;
    // The lock holder is the leader; a claim from elsewhere cannot be right while we hold it.
    if (pnn !== this.opts.myPnn && !this.lockHeld) this.setLeader(pnn, out);
    return out;
  }

  /**
   * The leader (or this node) became unfit: inactive, or without the LEADER
   * capability. `leaderFlags` are the current leader's flags as seen here.
   */
  checkLeader(now: number, leaderFlags: number, leaderConnected: boolean, numConnected: number): ElectionAction[] {
    if (this.lockMode) {
      // Unfit while holding the lock (leader or not): hand it over through an election.
      if (this.lockHeld && !this.eligible) return this.startElection(now, numConnected);
      if (this.leader !== this.opts.myPnn && this.leader !== Pnn.UNKNOWN
        && (!leaderConnected || (leaderFlags & NodeFlag.INACTIVE) !== 0)) return this.startElection(now, numConnected);
      return [];
    }
    if (this.inElection(now)) return [];
    if (this.leader === this.opts.myPnn) {
      if (!this.capable || (this.myFlags & NodeFlag.INACTIVE) !== 0) {
        const out: ElectionAction[] = [];
        this.setLeader(Pnn.UNKNOWN, out);
        out.push({ type: 'send-leader', pnn: Pnn.UNKNOWN });
        return out;
      }
      return [];
    }
    if (this.leader !== Pnn.UNKNOWN && (!leaderConnected || (leaderFlags & NodeFlag.INACTIVE) !== 0)) {
      return this.startElection(now, numConnected);
    }
    return [];
  }

  /** Periodic step: re-broadcasts, leader announcements and the leader timeout. */
  tick(now: number, numConnected: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    if (this.rebroadcastAt !== undefined && now >= this.rebroadcastAt) {
      this.rebroadcastAt = undefined;
      if (this.leader === this.opts.myPnn) out.push({ type: 'send-election', candidate: this.me(now, numConnected) });
    }
    if (this.leader === this.opts.myPnn && (!this.lockMode || this.lockHeld)) {
      if ((this.lockMode || !this.inElection(now)) && now - this.lastAnnounce >= 1000) {
        this.lastAnnounce = now;
        out.push({ type: 'send-leader', pnn: this.opts.myPnn });
      }
      this.lastLeaderSeen = now;
      return out;
    }
    if (this.lockMode && this.lockPending) return out;
    if (!this.inElection(now) && now - this.lastLeaderSeen >= this.opts.leaderTimeoutMs) {
      out.push(...this.startElection(now, numConnected));
    }
    return out;
  }
}
