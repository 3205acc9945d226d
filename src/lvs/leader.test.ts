import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../natgw/node-status.js';
import { parseGroupNodesFile } from '../natgw/nodes-file.js';
import { chooseLvsLeader, filterLvsNodes, listLvsNodes } from './leader.js';

type Flag = 'D' | 'U' | 'B' | 'DIS' | 'UNH' | 'ST';
const node = (pnn: number, flags: Flag[] = []): NodeStatus => {
  const has = (f: Flag): boolean => flags.includes(f);
  return {
    pnn, ip: `10.0.0.${pnn + 1}`, disconnected: has('D'), unknown: has('U'), banned: has('B'),
    disabled: has('DIS'), unhealthy: has('UNH'), stopped: has('ST'),
    inactive: has('D') || has('B') || has('ST'), partiallyOnline: false, thisNode: false,
  };
};
const all = new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3']);

describe('filterLvsNodes', () => {
  it.each<[string, Flag[][], number[]]>([
    ['all healthy: all of them', [[], [], []], [0, 1, 2]],
    ['pass 1 drops unknown/disabled/unhealthy/inactive', [['U'], [], ['UNH']], [1]],
    ['pass 1 drops banned, stopped, disconnected', [['B'], ['ST'], []], [2]],
    ['pass 2 when nobody is healthy: unhealthy and unknown do', [['UNH'], ['U'], ['D']], [0, 1]],
    ['pass 2 still drops disabled and inactive', [['UNH', 'DIS'], ['UNH', 'B'], ['UNH']], [2]],
    ['none usable', [['D'], ['DIS'], ['ST']], []],
  ])('%s', (_n, flags, expected) => {
    expect(filterLvsNodes(flags.map((f, i) => node(i, f)), all).map((n) => n.pnn)).toEqual(expected);
  });
  it('only group members count', () => {
    expect(filterLvsNodes([node(0), node(1), node(2)], new Set(['10.0.0.2'])).map((n) => n.pnn)).toEqual([1]);
  });
});

describe('chooseLvsLeader / listLvsNodes', () => {
  const g = parseGroupNodesFile('10.0.0.1 follower-only\n10.0.0.2\n10.0.0.3\n', 'lvs_nodes');
  it('leader is the first usable non-follower-only node', () => {
    expect(chooseLvsLeader([node(0), node(1), node(2)], g)).toBe(1);
    expect(chooseLvsLeader([node(0), node(1, ['UNH']), node(2)], g)).toBe(2);
  });
  it('leader filter passes run over the candidates only', () => {
    // Node 0 is healthy but follower-only, so the candidates fall to pass 2.
    expect(chooseLvsLeader([node(0), node(1, ['UNH']), node(2, ['D'])], g)).toBe(1);
  });
  it('no leader when every candidate is disabled or inactive', () => {
    expect(chooseLvsLeader([node(0), node(1, ['DIS']), node(2, ['ST'])], g)).toBeUndefined();
  });
  it('list includes follower-only nodes', () => {
    expect(listLvsNodes([node(0), node(1, ['UNH']), node(2)], g).map((n) => n.pnn)).toEqual([0, 2]);
  });
});
