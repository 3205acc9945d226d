import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../../src/protocol/constants.js';
import { optionsForSeed } from './run.js';
import { FAULT_KINDS, runSeed, World, type FaultKind, type SeedResult, type SimOptions } from './world.js';

const BASE = { nodesMin: 3, nodesMax: 7, faultMs: 20_000, settleMs: 25_000, faultEveryMs: 1500, ips: 8, hostile: false };

function runMany(seeds: number[]): { bad: SeedResult[]; faults: number } {
  const bad: SeedResult[] = [];
  let faults = 0;
  for (const seed of seeds) {
    const r = runSeed(seed, optionsForSeed(seed, BASE));
    faults += Object.values(r.faults).reduce((a, b) => a + b, 0);
    if (r.violation) bad.push(r);
  }
  return { bad, faults };
}

const describeViolations = (bad: SeedResult[]): string[] =>
  bad.map((r) => `seed=${r.seed} ${r.violation!.invariant}: ${r.violation!.detail} (replay: npx tsx test/sim/run.ts --seed ${r.seed} --nodes 3..7 --fault-ms 20000 --settle-ms 25000 --fault-every-ms 1500)`);

describe('deterministic simulator', () => {
  it('a seed replays exactly (same trace, same number of steps)', () => {
    const o = optionsForSeed(42, BASE);
    const a = runSeed(42, o);
    const b = runSeed(42, o);
    expect(a.trace.length).toBeGreaterThan(0);
    expect(b.trace).toEqual(a.trace);
    expect(b.steps).toBe(a.steps);
    expect(b.state).toEqual(a.state);
    expect(runSeed(43, optionsForSeed(43, BASE)).trace).not.toEqual(a.trace);
  });

  it('the settled checks catch an address hosted twice', () => {
    // Sabotage one run: after it settles, a second node claims an address.
    const w = new World(5, optionsForSeed(5, { ...BASE, faultMs: 0 }));
    const slots = (w as unknown as { slots: Array<{ node: { hosted: Set<string>; membership: { ownFlags: number } } }> }).slots;
    const orig = (w as unknown as { checkSettled: () => void }).checkSettled.bind(w);
    (w as unknown as { checkSettled: () => void }).checkSettled = () => {
      const ip = w.publicIps[0]!;
      const other = slots.find((s) => !s.node.hosted.has(ip) && (s.node.membership.ownFlags & NodeFlag.DISABLED) === 0)!;
      other.node.hosted.add(ip);
      orig();
    };
    expect(w.run().violation?.invariant).toBe('ip-hosted-once');
  });

  it('1,000 fixed seeds (3..7 nodes, with and without cluster lock; kill, stop, partition, cut, resets, disable, ban, lock loss) break no invariant', () => {
    const seeds = Array.from({ length: 1000 }, (_, i) => i + 1);
    const { bad, faults } = runMany(seeds);
    expect(faults).toBeGreaterThan(5000);
    expect(describeViolations(bad)).toEqual([]);
  }, 120_000);

  it('a fresh random batch of seeds breaks no invariant (seeds printed)', () => {
    const first = randomInt(1_000_000, 2_000_000_000);
    const seeds = Array.from({ length: 100 }, (_, i) => first + i);
    process.stdout.write(`sim random batch: seeds ${first}..${first + 99} (replay one with: npx tsx test/sim/run.ts --seed N --nodes 3..7 --fault-ms 20000 --settle-ms 25000 --fault-every-ms 1500)\n`);
    const { bad } = runMany(seeds);
    expect(describeViolations(bad)).toEqual([]);
  }, 60_000);

  it('32 nodes settle after faults', () => {
    const r = runSeed(7, optionsForSeed(7, { ...BASE, nodesMin: 32, nodesMax: 32 }));
    expect(r.violation).toBeUndefined();
    expect(r.recoveries).toBeGreaterThan(0);
  }, 60_000);

  it('hostile network (silent drops, duplicates, reordering): still one leader with the lock, and one leader agreed after healing', () => {
    const seeds = Array.from({ length: 100 }, (_, i) => 10_000 + i);
    const bad: SeedResult[] = [];
    for (const seed of seeds) {
      const r = runSeed(seed, optionsForSeed(seed, { ...BASE, hostile: true }));
      if (r.violation) bad.push(r);
    }
    expect(describeViolations(bad)).toEqual([]);
  }, 60_000);

  // Known finding (not a simulator artefact): a leader that is stopped (SIGSTOP)
  // while its cluster lock is lost (an expired lease) resumes, handles replies
  // that were queued while it was stopped before it learns of the loss, and
  // installs a new generation while another node holds the lock. Election has
  // no way to know the lock is gone until the helper's EOF is read; fixing it
  // needs the leader loop to confirm the lock just before SETVNNMAP (or a
  // fencing token). Replay: npx tsx test/sim/run.ts --seed 492 --nodes 3..5 --lock
  // --lock-lost-while-stopped --faults stop,lock-lost,chaos --fault-every-ms 700
  it.fails('lock lost while its holder is stopped: no generation from a node without the lock (known finding)', () => {
    const bad: string[] = [];
    for (let seed = 1; seed <= 100 && bad.length === 0; seed++) {
      const o = { ...optionsForSeed(seed, { ...BASE, nodesMin: 3, nodesMax: 5, lock: true, faultEveryMs: 700 }), lockLostWhileStopped: true, faults: ['stop', 'lock-lost', 'chaos'] as FaultKind[] };
      const r = runSeed(seed, o);
      if (r.violation) bad.push(`seed=${seed} ${r.violation.invariant}: ${r.violation.detail}`);
    }
    expect(bad).toEqual([]);
  }, 60_000);

  describe('persistent commits (TRANS3_COMMIT / UPDATE_RECORD rules of the daemon, recovery source by pickPersistentSource)', () => {
    // With the cluster lock (without it a partition is a split brain: both sides commit, CTDB documents the loss).
    const PERS = { ...BASE, lock: true };
    const opts = (seed: number, extra: Partial<SimOptions> = {}): SimOptions => ({ ...optionsForSeed(seed, PERS), faults: ['stop', 'partition', 'kill'], ...extra });
    const firstViolation = (extra: Partial<SimOptions>, faults?: FaultKind[]): string[] => {
      for (let seed = 1; seed <= 300; seed++) {
        const r = runSeed(seed, { ...opts(seed, extra), ...(faults ? { faults } : {}) });
        if (r.violation) return [`seed=${seed} ${r.violation.invariant}: ${r.violation.detail}`];
      }
      return [];
    };

    it('200 seeds of stop, partition and kill -9 faults: every acknowledged transaction is on every active node after each recovery and when settled', () => {
      const bad: SeedResult[] = []; let acked = 0; let checked = 0; let forked = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const r = runSeed(seed, opts(seed));
        acked += r.commitsAcked; checked += r.recoveriesChecked; forked += r.forked ? 1 : 0;
        if (r.violation) bad.push(r);
      }
      expect(acked).toBeGreaterThan(5000);
      expect(checked).toBeGreaterThan(500);
      // Most runs keep a linear history (the check stops at a fork: see World.recovered).
      expect(forked).toBeLessThan(40);
      expect(describeViolations(bad)).toEqual([]);
    }, 60_000);

    it('the check catches the old rule (copy from the highest seqnum): an acknowledged transaction lost to failed-commit residue', () => {
      const found = firstViolation({ sourceRule: 'seqnum' });
      expect(found.length).toBe(1);
      expect(found[0]).toMatch(/persistent-committed/);
    }, 60_000);

    // Finding (fixed in src/recovery/driver.ts nextEpoch): the epoch recovery stamped was one more
    // than the highest epoch of the nodes it recovered. A node that recovered alone (the others dead
    // or stopped) from an old copy got a low epoch and acknowledged commits; a node with failed-commit
    // residue of another history at the same epoch and a higher seqnum then won, and they were lost.
    // The daemon now stamps at least the recovery's time ('clock'), which the cluster lock orders.
    // Replay the old rule: npx tsx test/sim/run.ts --seed 235 --nodes 3..7 --lock --faults stop,partition,kill
    // --fault-ms 20000 --settle-ms 25000 --fault-every-ms 1500 --epoch-rule max+1
    it('finding: the earlier epoch rule (max + 1 of the recovered nodes) loses an acknowledged transaction on seed 235; the daemon\'s clock-ordered epoch keeps it', () => {
      expect(runSeed(235, opts(235, { epochRule: 'max+1' })).violation?.invariant).toBe('persistent-committed');
      expect(runSeed(235, opts(235)).violation).toBeUndefined();
    });

    // Finding (fixed in src/daemon/databases.ts trans3Commit): a commit went to
    // Membership.activeNodes(), so a node of the generation whose link to the origin was down (a
    // cut link, before the recovery it triggers) was skipped and the commit acknowledged without
    // it; that node committed its own transactions at the same epoch and seqnum, and recovery could
    // copy from it. The daemon now sends UPDATE_RECORD to every vnnmap member and active node, so an
    // unreachable member fails the commit. Replay the old rule: npx tsx test/sim/run.ts --seed 19
    // --nodes 3..7 --lock --fault-ms 20000 --settle-ms 25000 --fault-every-ms 1500 --commit-peers active
    it('finding: the earlier commit peers (connected active nodes only) lose an acknowledged transaction on seed 19; the daemon\'s rule (generation members too) keeps it', () => {
      const all = { faults: [...FAULT_KINDS] };
      expect(runSeed(19, opts(19, { ...all, commitPeers: 'active' })).violation?.invariant).toBe('persistent-committed');
      expect(runSeed(19, opts(19, all)).violation).toBeUndefined();
    });
  });

  describe('record migration (the daemon\'s CallEngine and RecordLocks, recovery merge by RecoveryDb)', () => {
    const REC = { ...BASE, nodesMin: 3, nodesMax: 8, faultMs: 30_000, settleMs: 30_000, faultEveryMs: 2000 };
    const run = (seeds: number[], faults: FaultKind[] | undefined, extra: Partial<SimOptions> = {}): { bad: SeedResult[]; fetches: number; fetched: number; maxHop: number } => {
      const bad: SeedResult[] = []; let fetches = 0; let fetched = 0; let maxHop = 0;
      for (const seed of seeds) {
        const o: SimOptions = { ...optionsForSeed(seed, REC), recordKeys: 6, ...(faults ? { faults } : { faultEveryMs: 0 }), ...extra };
        const r = runSeed(seed, o);
        fetches += r.fetches; fetched += r.fetched; maxHop = Math.max(maxHop, r.maxHopCount);
        if (r.violation) bad.push(r);
      }
      return { bad, fetches, fetched, maxHop };
    };
    const seeds = Array.from({ length: 100 }, (_, i) => i + 1);

    it('without faults every fetch completes within a few hops', () => {
      const r = run(seeds.slice(0, 40), undefined);
      expect(r.fetches).toBeGreaterThan(5000);
      expect(r.fetched).toBe(r.fetches);
      expect(r.maxHop).toBeLessThan(10);
      expect(describeViolations(r.bad)).toEqual([]);
    }, 60_000);

    it('kill -9 and restart of nodes: every request completes, hopcount stays small', () => {
      const r = run(seeds, ['kill']);
      expect(r.fetches).toBeGreaterThan(10_000);
      expect(r.maxHop).toBeLessThan(20);
      expect(describeViolations(r.bad)).toEqual([]);
    }, 60_000);

    // Was a known finding: record work queued while a database was frozen for
    // recovery ran after the recovery had wiped and re-pushed it, and call
    // packets of another generation were not dropped, so a request bounced
    // between an lmaster and a dmaster whose copy was gone (hopcount 1137 on
    // seed 77). CallEngine now drops migration packets of another generation
    // (on arrival and when queued work runs) and re-sends its own pending
    // calls after the recovery; a node that loses a connection freezes and
    // asks for a recovery (a REPLY_DMASTER lost with it left a record without
    // a dmaster); and a call unanswered for CALL_RETRY_MS is sent again.
    // hopcount counts redirects too. Replay: npx tsx test/sim/run.ts --seed 77
    // --nodes 3..8 --records 6 --faults stop
    it('SIGSTOP faults: no request bounces (hopcount stays small) and every request completes', () => {
      const r = run(seeds, ['stop']);
      expect(r.fetches).toBeGreaterThan(10_000);
      expect(r.maxHop).toBeLessThan(20);
      expect(describeViolations(r.bad)).toEqual([]);
    }, 60_000);
  });
});
