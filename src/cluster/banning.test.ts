import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../protocol/constants.js';
import { BanCredits, type BanRules } from './banning.js';

const rules: BanRules = { gracePeriodSec: 120, banPeriodSec: 300, enabled: true };

describe('BanCredits', () => {
  it('adds credits per node', () => {
    const b = new BanCredits();
    b.add(1, 1, 0, rules);
    b.add(1, 2, 1000, rules);
    b.add(2, 1, 1000, rules);
    expect(b.list()).toEqual([{ pnn: 1, count: 3 }, { pnn: 2, count: 1 }]);
  });

  it.each([
    { gapSec: 119, expected: 2 },
    { gapSec: 120, expected: 2 },
    { gapSec: 121, expected: 1 },
  ])('forgives credits older than the grace period (gap $gapSec s → $expected)', ({ gapSec, expected }) => {
    const b = new BanCredits();
    b.add(0, 1, 0, rules);
    b.add(0, 1, gapSec * 1000, rules);
    expect(b.count(0)).toBe(expected);
  });

  it('ignores credits while the leader itself is inactive', () => {
    const b = new BanCredits();
    b.add(1, 5, 0, rules, NodeFlag.BANNED);
    expect(b.count(1)).toBe(0);
  });

  it.each([
    { numNodes: 3, credits: 5, banned: false },
    { numNodes: 3, credits: 6, banned: true },
    { numNodes: 1, credits: 2, banned: true },
    { numNodes: 16, credits: 31, banned: false },
  ])('bans at 2 × numNodes credits ($numNodes nodes, $credits credits → $banned)', ({ numNodes, credits, banned }) => {
    const b = new BanCredits();
    b.add(2, credits, 0, rules);
    expect(b.overThreshold(numNodes)).toBe(banned);
    const bans = b.takeBans(numNodes, rules);
    expect(bans).toEqual(banned ? [{ pnn: 2, seconds: 300, credits }] : []);
    expect(b.count(2)).toBe(banned ? 0 : credits);
  });

  it('bans nothing when bans are disabled, and keeps the credits', () => {
    const b = new BanCredits();
    b.add(0, 10, 0, rules);
    expect(b.takeBans(3, { ...rules, enabled: false })).toEqual([]);
    expect(b.count(0)).toBe(10);
  });

  it('bans several nodes in PNN order and clear() forgets everything', () => {
    const b = new BanCredits();
    b.add(2, 4, 0, rules);
    b.add(0, 4, 0, rules);
    b.add(1, 1, 0, rules);
    expect(b.takeBans(2, rules).map((d) => d.pnn)).toEqual([0, 2]);
    b.clear();
    expect(b.list()).toEqual([]);
  });
});
