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
    c.run(3000);
    const changes: number[][] = [];
    for (let i = 0; i < 50; i++) { c.run(200); changes.push(c.leaders()); }
    expect(new Set(changes.map((l) => l.join(','))).size).toBe(1);
    expect(c.leaders()).toEqual([0, 0, 0]);
  });
});
