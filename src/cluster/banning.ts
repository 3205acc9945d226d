import { NodeFlag } from '../protocol/constants.js';

/** Ban rules, from the tunables of the same names (seconds). */
export interface BanRules {
  /** Credits older than this are forgotten before new ones are added (RecoveryGracePeriod). */
  gracePeriodSec: number;
  /** How long a node that reached the threshold is banned (RecoveryBanPeriod). */
  banPeriodSec: number;
  /** EnableBans: false turns every ban decision off. */
  enabled: boolean;
}

/** A ban the leader should send (SET_BAN_STATE to `pnn` for `seconds`). */
export interface BanDecision { pnn: number; seconds: number; credits: number }

interface Credit { count: number; lastAt: number }

/**
 * Ban credits ("culprit counts") kept by the leader. A misbehaving node
 * collects credits; at the start of a recovery any node with at least twice
 * the number of nodes in credits is banned for the ban period and its count
 * reset. Credits older than the grace period are forgiven when the next one
 * arrives, and a successful recovery clears them all. Pure: time comes in as
 * milliseconds.
 */
export class BanCredits {
  private readonly credits = new Map<number, Credit>();

  /**
   * Adds `n` credits to `pnn` at `now` (ms). Ignored when the leader itself
   * is inactive (`leaderFlags` has an INACTIVE bit): it cannot judge others.
   */
  add(pnn: number, n: number, now: number, rules: BanRules, leaderFlags = 0): void {
    if ((leaderFlags & NodeFlag.INACTIVE) !== 0 || n <= 0) return;
    const c = this.credits.get(pnn);
    const fresh = c && now - c.lastAt <= rules.gracePeriodSec * 1000 ? c.count : 0;
    this.credits.set(pnn, { count: fresh + n, lastAt: now });
  }

  /** The credits `pnn` holds now (0 when none). */
  count(pnn: number): number { return this.credits.get(pnn)?.count ?? 0; }

  /** Every node with credits, in PNN order. */
  list(): Array<{ pnn: number; count: number }> {
    return [...this.credits].map(([pnn, c]) => ({ pnn, count: c.count })).sort((a, b) => a.pnn - b.pnn);
  }

  /** True when some node has reached the ban threshold for a cluster of `numNodes`. */
  overThreshold(numNodes: number): boolean {
    return [...this.credits.values()].some((c) => c.count >= 2 * numNodes);
  }

  /**
   * The bans to apply at the start of a recovery (threshold 2 × numNodes);
   * the counts of the chosen nodes are reset. Empty when bans are disabled.
   */
  takeBans(numNodes: number, rules: BanRules): BanDecision[] {
    if (!rules.enabled) return [];
    const out: BanDecision[] = [];
    for (const [pnn, c] of [...this.credits].sort((a, b) => a[0] - b[0])) {
      if (c.count < 2 * numNodes) continue;
      out.push({ pnn, seconds: rules.banPeriodSec, credits: c.count });
      this.credits.delete(pnn);
    }
    return out;
  }

  /** Forgets every credit (after a successful recovery, or on losing leadership). */
  clear(): void { this.credits.clear(); }
}
