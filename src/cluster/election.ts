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
  | { type: 'leader-changed'; from: number; to: number };

/** Timing and identity of the local candidate. */
export interface ElectionOptions {
  myPnn: number;
  priorityTime: number;
  leaderTimeoutMs: number;
  electionTimeoutMs: number;
  /** Delay before a node that would win re-sends its own message. */
  rebroadcastDelayMs?: number;
}

/**
 * Leader election by messages (the no-cluster-lock case): the longest-running
 * LEADER-capable active node wins, ties broken by the higher PNN. The leader
 * announces itself every second; silence for the leader timeout starts a new
 * election. Pure: time comes in as arguments, actions go out as values.
 */
export class Election {
  leader: number = Pnn.UNKNOWN;
  capable = true;
  myFlags = 0;
  private lastLeaderSeen = -Infinity;
  private electionEndsAt = -Infinity;
  private rebroadcastAt: number | undefined;
  private lastAnnounce = -Infinity;

  constructor(readonly opts: ElectionOptions) {}

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

  /** True when this node is the settled leader. */
  isLeader(now: number): boolean { return this.leader === this.opts.myPnn && !this.inElection(now); }

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
    const out: ElectionAction[] = [];
    this.electionEndsAt = now + this.opts.electionTimeoutMs;
    this.lastLeaderSeen = now;
    const mine = this.me(now, numConnected);
    if (this.capable && (this.myFlags & NodeFlag.INACTIVE) === 0) this.setLeader(this.opts.myPnn, out);
    out.push({ type: 'send-election', candidate: mine });
    return out;
  }

  /** An election message from another node arrived. */
  onElection(c: Candidate, now: number, numConnected: number): ElectionAction[] {
    const out: ElectionAction[] = [];
    if (c.pnn === this.opts.myPnn) return out;
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

  /**
   * The leader (or this node) became unfit: inactive, or without the LEADER
   * capability. `leaderFlags` are the current leader's flags as seen here.
   */
  checkLeader(now: number, leaderFlags: number, leaderConnected: boolean, numConnected: number): ElectionAction[] {
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
    if (this.leader === this.opts.myPnn) {
      if (!this.inElection(now) && now - this.lastAnnounce >= 1000) {
        this.lastAnnounce = now;
        out.push({ type: 'send-leader', pnn: this.opts.myPnn });
      }
      this.lastLeaderSeen = now;
      return out;
    }
    if (!this.inElection(now) && now - this.lastLeaderSeen >= this.opts.leaderTimeoutMs) {
      out.push(...this.startElection(now, numConnected));
    }
    return out;
  }
}
