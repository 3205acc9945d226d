/**
 * The connection table and retry rules of killtcp, as a pure state machine:
 * the caller passes the clock in and performs the sends it is told to.
 */
import { connectionKey, type Connection } from './connections.js';
import { isOwnSegment, type CapturedSegment, type SegmentSpec } from './packet.js';

/** Retry limits. Times are milliseconds. */
export interface KillLimits {
  /** Rounds of tickles at most (the first round is immediate). */
  maxRounds: number;
  /** Time between rounds. */
  roundIntervalMs: number;
  /**
   * Minimum time between two tickles to the same connection. Linux answers an
   * out-of-window segment at most once per 500 ms per socket, so a sooner
   * retry is never answered.
   */
  retryGapMs: number;
  /** Tickles sent per round at most. */
  perRound: number;
}

/** CTDB's limits (50 rounds, 100 ms apart), with no per-round cap. */
export const DEFAULT_LIMITS: KillLimits = {
  maxRounds: 50, roundIntervalMs: 100, retryGapMs: 500, perRound: Number.POSITIVE_INFINITY,
};

interface Entry { conn: Connection; tickles: number; lastTickleMs: number }

/** Counters for reports and benchmarks. */
export interface KillStats { tickles: number; resets: number; ignoredOwn: number; unmatched: number }

/** Tracks the connections still to reset and decides what to send when. */
export class KillTable {
  private readonly entries = new Map<string, Entry>();
  private rounds = 0;
  private lastRoundMs = Number.NEGATIVE_INFINITY;
  readonly stats: KillStats = { tickles: 0, resets: 0, ignoredOwn: 0, unmatched: 0 };

  constructor(readonly limits: KillLimits = DEFAULT_LIMITS) {}

  /** Adds a connection; returns false when it was already there. */
  add(conn: Connection): boolean {
    const key = connectionKey(conn.client, conn.server);
    if (this.entries.has(key)) return false;
    this.entries.set(key, { conn, tickles: 0, lastTickleMs: Number.NEGATIVE_INFINITY });
    return true;
  }

  /** Connections not yet reset. */
  get remaining(): number { return this.entries.size; }
  /** Rounds started so far. */
  get roundsDone(): number { return this.rounds; }
  /** The connections not yet reset. */
  pending(): Connection[] { return [...this.entries.values()].map((e) => e.conn); }

  /** When the next round is due (ms on the caller's clock); Infinity when none is left. */
  nextRoundAt(): number {
    if (this.rounds >= this.limits.maxRounds || this.entries.size === 0) return Number.POSITIVE_INFINITY;
    return this.lastRoundMs + this.limits.roundIntervalMs;
  }

  /**
   * Starts a round at `nowMs` if one is due and returns the tickle ACKs to
   * send (client to server, seq 0, ack 0), oldest connections first; each
   * connection at most once per retryGapMs. Returns [] when no round is due.
   */
  startRound(nowMs: number): SegmentSpec[] {
    if (nowMs < this.nextRoundAt()) return [];
    this.rounds++;
    this.lastRoundMs = nowMs;
    const out: SegmentSpec[] = [];
    for (const e of this.entries.values()) {
      if (out.length >= this.limits.perRound) break;
      if (nowMs - e.lastTickleMs < this.limits.retryGapMs) continue;
      e.tickles++;
      e.lastTickleMs = nowMs;
      out.push({ src: e.conn.client, dst: e.conn.server, seq: 0, ack: 0, rst: false });
    }
    this.stats.tickles += out.length;
    return out;
  }

  /**
   * Handles a captured segment. When it is the server's answer on a tracked
   * connection (server to client), forgets the connection and returns the RST
   * to send (client to server, seq = captured ack, ack = captured seq).
   * Our own segments and anything else give undefined.
   */
  onCaptured(seg: CapturedSegment): SegmentSpec | undefined {
    if (isOwnSegment(seg)) { this.stats.ignoredOwn++; return undefined; }
    const key = connectionKey(seg.dst, seg.src);
    const e = this.entries.get(key);
    if (!e) { this.stats.unmatched++; return undefined; }
    this.entries.delete(key);
    this.stats.resets++;
    return { src: e.conn.client, dst: e.conn.server, seq: seg.ack, ack: seg.seq, rst: true };
  }

  /**
   * True when there is nothing more to do at `nowMs`: every connection reset,
   * or all rounds used and one more interval given for late answers.
   */
  isFinished(nowMs: number): boolean {
    if (this.entries.size === 0) return true;
    return this.rounds >= this.limits.maxRounds && nowMs >= this.lastRoundMs + this.limits.roundIntervalMs;
  }
}
