import { describe, expect, it } from 'vitest';
import { NodeFlag, Pnn } from '../protocol/constants.js';
import { Election, type ElectionAction } from './election.js';

/** N elections on a lossless bus with a virtual clock. */
function cluster(priorities: number[], opts: { capable?: boolean[] } = {}) {
  const nodes = priorities.map((p, pnn) => {
    const e = new Election({ myPnn: pnn, priorityTime: p, leaderTimeoutMs: 5000, electionTimeoutMs: 3000 });
    e.capable = opts.capable?.[pnn] ?? true;
    return e;
  });
  const alive = nodes.map(() => true);
  let now = 0;
  const deliver = (from: number, acts: ElectionAction[]): void => {
    for (const a of acts) {
      if (!alive[from]) return;
      if (a.type === 'send-election') {
        nodes.forEach((n, i) => { if (i !== from && alive[i]) deliver(i, n.onElection(a.candidate, now, nodes.length - 1)); });
      } else if (a.type === 'send-leader') {
        nodes.forEach((n, i) => { if (i !== from && alive[i]) deliver(i, n.onLeader(a.pnn, now, nodes.length - 1)); });
      }
    }
  };
  const run = (ms: number): void => {
    for (let t = 0; t < ms; t += 100) {
      now += 100;
      nodes.forEach((n, i) => { if (alive[i]) deliver(i, n.tick(now, nodes.length - 1)); });
    }
  };
  const leaders = (): number[] => nodes.filter((_, i) => alive[i]).map((n) => n.leader);
  return { nodes, alive, run, leaders, now: () => now };
}

describe('Election', () => {
  it('elects the longest-running node and every node agrees', () => {
    const c = cluster([3000, 1000, 2000]);
    c.run(12_000);
    expect(c.leaders()).toEqual([1, 1, 1]);
  });

  it('breaks equal priority times by the higher PNN', () => {
    const c = cluster([1000, 1000, 1000]);
    c.run(12_000);
    expect(c.leaders()).toEqual([2, 2, 2]);
  });

  it('never elects a node without the LEADER capability', () => {
    const c = cluster([1000, 2000, 3000], { capable: [false, true, true] });
    c.run(12_000);
    expect(c.leaders()).toEqual([1, 1, 1]);
  });

  it('elects a new leader after the leader dies (leader timeout)', () => {
    const c = cluster([1000, 2000, 3000]);
    c.run(12_000);
    expect(c.leaders()).toEqual([0, 0, 0]);
    c.alive[0] = false;
    c.run(12_000);
    expect(c.leaders()).toEqual([1, 1]);
  });

  it('a leader that becomes inactive yields and another takes over', () => {
    const c = cluster([1000, 2000, 3000]);
    c.run(12_000);
    const e0 = c.nodes[0]!;
    e0.myFlags = NodeFlag.STOPPED;
    const acts = e0.checkLeader(c.now(), e0.myFlags, true, 2);
    expect(acts).toContainEqual({ type: 'send-leader', pnn: Pnn.UNKNOWN });
    for (const n of c.nodes.slice(1)) n.onLeader(Pnn.UNKNOWN, c.now(), 2);
    c.run(12_000);
    expect(c.leaders()).toEqual([1, 1, 1]);
  });

  it('a node prefers an active candidate over an inactive one', () => {
    const a = new Election({ myPnn: 0, priorityTime: 5000, leaderTimeoutMs: 5000, electionTimeoutMs: 3000 });
    const theirs = { pnn: 1, priorityTime: 1, nodeFlags: NodeFlag.BANNED, numConnected: 2 };
    expect(Election.wins(a.me(0, 2), theirs, true)).toBe(true);
    expect(Election.wins(a.me(0, 2), { ...theirs, nodeFlags: 0 }, true)).toBe(false);
  });
});

describe('Election with nodes starting at slightly different times', () => {
  it('settles on one leader with no flapping after the first election', () => {
    const c = cluster([835, 841, 894]);
    // Nodes listen for a leader timeout (5 s) before the first election (3 s).
    c.run(9000);
    const changes: number[][] = [];
    for (let i = 0; i < 50; i++) { c.run(200); changes.push(c.leaders()); }
    expect(new Set(changes.map((l) => l.join(','))).size).toBe(1);
    expect(c.leaders()).toEqual([0, 0, 0]);
  });

  it('a node joining a running cluster adopts its leader without an election', () => {
    const c = cluster([1000, 2000, 3000]);
    c.alive[0] = false;
    c.run(12_000);
    expect(c.leaders()).toEqual([1, 1]);
    // Node 0 restarts: it is now the youngest and must not disturb the leader.
    c.nodes[0] = new Election({ myPnn: 0, priorityTime: c.now(), leaderTimeoutMs: 5000, electionTimeoutMs: 3000 });
    c.alive[0] = true;
    const seen: number[][] = [];
    for (let i = 0; i < 60; i++) { c.run(200); seen.push(c.leaders()); }
    const undisturbed = new Set(['1,1,1', `${Pnn.UNKNOWN},1,1`]);
    expect(seen.filter((l) => !undisturbed.has(l.join(',')))).toEqual([]);
    expect(c.leaders()).toEqual([1, 1, 1]);
    expect(c.nodes[1]!.isLeader(c.now())).toBe(true);
  });
});

/** N lock-mode elections sharing one virtual lock; lock answers arrive one step later. */
function lockCluster(n: number, opts: { lockAvailable?: () => boolean } = {}) {
  const nodes = Array.from({ length: n }, (_, pnn) =>
    new Election({ myPnn: pnn, priorityTime: 1000, leaderTimeoutMs: 2000, electionTimeoutMs: 500, lock: true }));
  const alive = nodes.map(() => true);
  let holder: number | undefined;
  let now = 0;
  const recmodeActive: number[] = [];
  const pendingTakes: number[] = [];
  const deliver = (from: number, acts: ElectionAction[]): void => {
    for (const a of acts) {
      if (!alive[from]) return;
      if (a.type === 'send-leader') {
        nodes.forEach((x, i) => { if (i !== from && alive[i]) deliver(i, x.onLeader(a.pnn, now, n - 1)); });
      } else if (a.type === 'take-lock') {
        pendingTakes.push(from);
      } else if (a.type === 'release-lock') {
        if (holder === from) holder = undefined;
      } else if (a.type === 'recmode-active') {
        recmodeActive.push(from);
      } else if (a.type === 'send-election') {
        throw new Error('lock mode must not send election messages');
      }
    }
  };
  const step = (): void => {
    now += 100;
    for (const pnn of pendingTakes.splice(0)) {
      if (!alive[pnn]) continue;
      const free = holder === undefined && (opts.lockAvailable?.() ?? true);
      if (free) holder = pnn;
      deliver(pnn, nodes[pnn]!.onLockResult(free ? 'held' : 'contended', now));
    }
    nodes.forEach((x, i) => { if (alive[i]) deliver(i, x.tick(now, n - 1)); });
  };
  const run = (ms: number): void => { for (let t = 0; t < ms; t += 100) step(); };
  const kill = (pnn: number): void => { alive[pnn] = false; if (holder === pnn) holder = undefined; };
  const loseLock = (pnn: number): void => {
    if (holder === pnn) holder = undefined;
    deliver(pnn, nodes[pnn]!.onLockLost(now, n - 1));
  };
  return {
    nodes, alive, run, kill, loseLock, recmodeActive, deliver,
    holder: () => holder, now: () => now,
    leaders: () => nodes.filter((_, i) => alive[i]).map((x) => x.leader),
    isLeader: () => nodes.map((x, i) => alive[i] && x.isLeader(now)),
  };
}

describe('Election with a cluster lock', () => {
  it('the lock holder leads and every node agrees', () => {
    const c = lockCluster(3);
    c.run(5000);
    const h = c.holder();
    expect(h).toBeDefined();
    expect(c.leaders()).toEqual([h, h, h]);
    expect(c.isLeader().filter(Boolean)).toHaveLength(1);
    expect(c.recmodeActive.length).toBeGreaterThan(0);
  });

  it('nobody leads while the lock is held elsewhere, and a node leads once it frees up', () => {
    let available = false;
    const c = lockCluster(3, { lockAvailable: () => available });
    c.run(6000);
    expect(c.holder()).toBeUndefined();
    expect(c.isLeader().some(Boolean)).toBe(false);
    expect(c.leaders().every((l) => l === Pnn.UNKNOWN)).toBe(true);
    available = true;
    c.run(6000);
    const h = c.holder();
    expect(h).toBeDefined();
    expect(c.leaders()).toEqual([h, h, h]);
  });

  it('a node without the LEADER capability never takes the lock', () => {
    const c = lockCluster(3);
    c.nodes[0]!.capable = false;
    c.nodes[1]!.capable = false;
    c.run(5000);
    expect(c.holder()).toBe(2);
    expect(c.leaders()).toEqual([2, 2, 2]);
  });

  it('a leader losing the LEADER capability releases the lock and another node takes it', () => {
    const c = lockCluster(3);
    c.run(5000);
    const old = c.holder()!;
    const e = c.nodes[old]!;
    e.capable = false;
    const acts = e.checkLeader(c.now(), 0, true, 2);
    expect(acts[0]).toEqual({ type: 'recmode-active' });
    expect(acts.findIndex((a) => a.type === 'release-lock'))
      .toBeLessThan(acts.findIndex((a) => a.type === 'send-leader'));
    expect(e.lockHeld).toBe(false);
    c.deliver(old, acts);
    expect(c.holder()).toBeUndefined();
    c.run(6000);
    const h = c.holder();
    expect(h).toBeDefined();
    expect(h).not.toBe(old);
    expect(c.leaders()).toEqual([h, h, h]);
  });

  it('a banned leader yields', () => {
    const c = lockCluster(3);
    c.run(5000);
    const old = c.holder()!;
    const e = c.nodes[old]!;
    e.myFlags = NodeFlag.BANNED;
    c.deliver(old, e.checkLeader(c.now(), e.myFlags, true, 2));
    expect(c.holder()).toBeUndefined();
    c.run(6000);
    const h = c.holder();
    expect(h).not.toBe(old);
    expect(h).toBeDefined();
    expect(c.leaders()).toEqual([h, h, h]);
  });

  it('lock lost: the leader steps down, forces an election, and the lock is re-taken', () => {
    const c = lockCluster(3);
    c.run(5000);
    const old = c.holder()!;
    const before = c.recmodeActive.length;
    c.loseLock(old);
    expect(c.nodes[old]!.isLeader(c.now())).toBe(false);
    expect(c.recmodeActive.length).toBeGreaterThan(before);
    c.run(6000);
    const h = c.holder();
    expect(h).toBeDefined();
    expect(c.leaders()).toEqual([h, h, h]);
    expect(c.isLeader().filter(Boolean)).toHaveLength(1);
  });

  it('the leader dies: after the leader timeout another node takes the lock', () => {
    const c = lockCluster(3);
    c.run(5000);
    const old = c.holder()!;
    c.kill(old);
    c.run(8000);
    const h = c.holder();
    expect(h).toBeDefined();
    expect(h).not.toBe(old);
    expect(c.leaders()).toEqual([h, h]);
  });

  it('a lock answer arriving after the capability went away is released at once', () => {
    const e = new Election({ myPnn: 0, priorityTime: 0, leaderTimeoutMs: 2000, electionTimeoutMs: 500, lock: true });
    expect(e.startElection(0, 0)).toContainEqual({ type: 'take-lock' });
    e.capable = false;
    expect(e.onLockResult('held', 100)).toEqual([{ type: 'release-lock' }]);
    expect(e.isLeader(100)).toBe(false);
  });

  it('ignores election messages', () => {
    const e = new Election({ myPnn: 0, priorityTime: 0, leaderTimeoutMs: 2000, electionTimeoutMs: 500, lock: true });
    expect(e.onElection({ pnn: 1, priorityTime: 5, nodeFlags: 0, numConnected: 1 }, 0, 1)).toEqual([]);
    expect(e.leader).toBe(Pnn.UNKNOWN);
  });
});

describe('Election at 16 nodes over many seeds', () => {
  /** Small deterministic PRNG (mulberry32) so failures can be replayed by seed. */
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it.each(Array.from({ length: 20 }, (_, i) => i + 1))('messages, seed %i: the oldest capable node leads, and again after it dies', (seed) => {
    const r = rng(seed);
    const prio = Array.from({ length: 16 }, () => 1000 + Math.floor(r() * 400));
    const capable = prio.map(() => r() > 0.2);
    capable[Math.floor(r() * 16)] = true;
    const c = cluster(prio, { capable });
    const best = (alive: boolean[]): number => {
      const cands = prio.map((p, i) => ({ p, i })).filter(({ i }) => capable[i] && alive[i]);
      cands.sort((a, b) => a.p - b.p || b.i - a.i);
      return cands[0]!.i;
    };
    c.run(12_000);
    const first = best(c.alive);
    expect(new Set(c.leaders())).toEqual(new Set([first]));
    c.alive[first] = false;
    if (!capable.some((ok, i) => ok && c.alive[i])) return;
    c.run(12_000);
    expect(new Set(c.leaders())).toEqual(new Set([best(c.alive)]));
  });

  it.each(Array.from({ length: 20 }, (_, i) => i + 1))('lock, seed %i: exactly one holder leads, and again after it dies', (seed) => {
    const r = rng(seed);
    const c = lockCluster(16);
    c.nodes.forEach((n) => { n.capable = r() > 0.2; });
    c.nodes[Math.floor(r() * 16)]!.capable = true;
    c.run(6000);
    const h = c.holder()!;
    expect(c.nodes[h]!.capable).toBe(true);
    expect(new Set(c.leaders())).toEqual(new Set([h]));
    expect(c.isLeader().filter(Boolean)).toHaveLength(1);
    c.kill(h);
    if (!c.nodes.some((n, i) => n.capable && c.alive[i])) return;
    c.run(8000);
    const h2 = c.holder()!;
    expect(h2).not.toBe(h);
    expect(new Set(c.leaders())).toEqual(new Set([h2]));
  });
});
