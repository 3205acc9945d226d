import { describe, expect, it } from 'vitest';
import { CtdbError } from '../common/errors.js';
import { NodeFlag, RunState } from '../protocol/constants.js';
import { allocateIps, allocateIpsWithWarnings } from './allocate.js';
import { ipDistance, ipKey } from './ip-key.js';
import { lcp2Imbalance } from './lcp2.js';
import { mergePublicIps } from './merge.js';
import type { IpAllocInput, IpAllocNode, IpAllocTunables, PublicIpState } from './types.js';

type Row = [ip: string, owner: number, availableOn?: number[]];

const nodesOf = (flags: number[]): IpAllocNode[] => flags.map((f) => ({ flags: f }));
const ipsOf = (rows: Row[]): PublicIpState[] =>
  rows.map(([ip, owner, availableOn]) => (availableOn ? { ip, owner, availableOn } : { ip, owner }));

function alloc(flags: number[], rows: Row[], tunables: Partial<IpAllocTunables> = {},
  extra: Partial<IpAllocInput> = {}): Record<string, number> {
  return Object.fromEntries(allocateIps({ nodes: nodesOf(flags), ips: ipsOf(rows), tunables, ...extra }));
}
const DET = { IPAllocAlgorithm: 0 };
const NONDET = { IPAllocAlgorithm: 1 };
const LCP2 = { IPAllocAlgorithm: 2 };
const four = (owners: number[]): Row[] => owners.map((o, i) => [`10.0.0.${owners.length - i}`, o]);

describe('list order and keys', () => {
  it('puts IPv6 first, then IPv4, each highest first', () => {
    const m = allocateIps({ nodes: nodesOf([0]), ips: ipsOf([
      ['10.0.0.1', -1], ['10.0.0.10', -1], ['fd00::1', -1], ['10.0.0.2', -1], ['2001:db8::5', -1],
    ]) });
    expect([...m.keys()]).toEqual(['fd00::1', '2001:db8::5', '10.0.0.10', '10.0.0.2', '10.0.0.1']);
  });
  it('canonicalises addresses and keys IPv4-mapped IPv6 apart from IPv4', () => {
    expect(ipKey('2001:0DB8:0:0::1').text).toBe('2001:db8::1');
    expect(ipKey('::ffff:10.0.0.1').text).toBe('::ffff:10.0.0.1');
    expect(ipKey('::ffff:10.0.0.1').words).toEqual([0, 0, 0xffff, 0x0a000001]);
    expect(ipKey('10.0.0.1').words).toEqual([0, 0, 0, 0x0a000001]);
  });
  it('counts every word in the LCP2 distance, not only up to the first difference', () => {
    const d = (a: string, b: string) => ipDistance(ipKey(a).words, ipKey(b).words);
    expect(d('1.2.3.4', '1.2.3.5')).toBe(96 + 31);
    expect(d('10.0.0.1', '192.168.0.1')).toBe(96);
    expect(d('2001:db8::1', '2001:db9::1')).toBe(31 + 96);
    expect(d('fd00::1', '10.0.0.1')).toBe(0 + 32 + 32 + 4);
    expect(d('10.0.0.1', '10.0.0.1')).toBe(128);
  });
  it('sums imbalance in uint32, wrapping as CTDB does', () => {
    const keys = [...Array(800).keys()].map((i) => ipKey(`10.0.${i >> 8}.${i & 255}`));
    const owner = keys.map(() => 0);
    let exact = 0n;
    for (let a = 0; a < keys.length; a++) {
      for (let b = a + 1; b < keys.length; b++) exact += BigInt(ipDistance(keys[a]!.words, keys[b]!.words) ** 2);
    }
    expect(exact > 2n ** 32n).toBe(true);
    expect(lcp2Imbalance(keys, owner, 0)).toBe(Number(exact % 2n ** 32n));
  });
});

describe('deterministic', () => {
  it('gives list index i to node i % num, ignoring current owners', () => {
    const want = { '10.0.0.5': 0, '10.0.0.4': 1, '10.0.0.3': 2, '10.0.0.2': 0, '10.0.0.1': 1 };
    expect(alloc([0, 0, 0], four([-1, -1, -1, -1, -1]), DET)).toEqual(want);
    expect(alloc([0, 0, 0], four([2, 2, 0, 1, 1]), DET)).toEqual(want);
  });
  it('re-places addresses of a node that may not host them by coverage, lowest PNN on ties', () => {
    expect(alloc([0, NodeFlag.UNHEALTHY, 0], four([-1, -1, -1, -1, -1]), DET))
      .toEqual({ '10.0.0.5': 0, '10.0.0.4': 2, '10.0.0.3': 2, '10.0.0.2': 0, '10.0.0.1': 0 });
  });
  it('follows home_nodes inside the nodemap and ignores PNNs outside it', () => {
    const homeNodes = new Map([['10.0.0.3', 0], ['10.0.0.1', 7]]);
    expect(alloc([0, 0, 0], four([-1, -1, -1, -1, -1]), DET, { homeNodes }))
      .toEqual({ '10.0.0.5': 0, '10.0.0.4': 1, '10.0.0.3': 0, '10.0.0.2': 0, '10.0.0.1': 1 });
  });
  it('ignores NoIPFailback with a warning', () => {
    const r = allocateIpsWithWarnings({ nodes: nodesOf([0, 0, 0]), ips: ipsOf(four([-1, -1, -1, -1, -1])),
      tunables: { ...DET, NoIPFailback: true } });
    expect(Object.fromEntries(r.owners)).toEqual(alloc([0, 0, 0], four([-1, -1, -1, -1, -1]), DET));
    expect(r.warnings).toEqual([expect.stringMatching(/NoIPFailback/)]);
  });
});

describe('non-deterministic', () => {
  it('gives unassigned addresses to the least-covered node, lowest PNN on ties', () => {
    expect(alloc([0, 0, 0], four([-1, -1, -1, -1]), NONDET))
      .toEqual({ '10.0.0.4': 0, '10.0.0.3': 1, '10.0.0.2': 2, '10.0.0.1': 0 });
  });
  it('fails back by re-placing the first address of the busiest node', () => {
    const rows = four([0, 0, 0, 0, 1, -1]);
    expect(alloc([0, 0, 0], rows, NONDET)).toEqual(
      { '10.0.0.6': 1, '10.0.0.5': 2, '10.0.0.4': 0, '10.0.0.3': 0, '10.0.0.2': 1, '10.0.0.1': 2 });
    expect(alloc([0, 0, 0], rows, { ...NONDET, NoIPFailback: true })).toEqual(
      { '10.0.0.6': 0, '10.0.0.5': 0, '10.0.0.4': 0, '10.0.0.3': 0, '10.0.0.2': 1, '10.0.0.1': 2 });
  });
  it('gets stuck when the busiest node\'s first address can only stay where it is', () => {
    const rows: Row[] = [['10.0.0.4', 0, [0]], ['10.0.0.3', 0], ['10.0.0.2', 0]];
    expect(alloc([0, 0], rows, NONDET)).toEqual({ '10.0.0.4': 0, '10.0.0.3': 0, '10.0.0.2': 0 });
    // LCP2 is not stuck there: node 1 hosts nothing, so it is a candidate.
    expect(alloc([0, 0], rows, LCP2)['10.0.0.4']).toBe(0);
    expect(Object.values(alloc([0, 0], rows, LCP2))).toContain(1);
  });
});

describe('LCP2', () => {
  it('places unassigned addresses by smallest added distance, earliest address and lowest PNN on ties', () => {
    expect(alloc([0, 0], four([-1, -1, -1, -1]), LCP2))
      .toEqual({ '10.0.0.4': 0, '10.0.0.3': 1, '10.0.0.2': 0, '10.0.0.1': 1 });
  });
  it('is the default, also for unknown algorithm numbers', () => {
    const rows = four([1, 0, 0, 0, 0]);
    const want = { '10.0.0.5': 1, '10.0.0.4': 2, '10.0.0.3': 2, '10.0.0.2': 0, '10.0.0.1': 0 };
    expect(alloc([0, 0, 0], rows)).toEqual(want);
    expect(alloc([0, 0, 0], rows, { IPAllocAlgorithm: 7 })).toEqual(want);
  });
  it('rebalances only onto nodes that hosted nothing, unless force-rebalanced', () => {
    const rows = four([1, 0, 0, 0, 0]);
    expect(alloc([0, 0, 0], rows, LCP2, { forceRebalanceNodes: [1, 9] }))
      .toEqual({ '10.0.0.5': 1, '10.0.0.4': 0, '10.0.0.3': 2, '10.0.0.2': 1, '10.0.0.1': 0 });
  });
  it('never moves hosted addresses with NoIPFailback', () => {
    const rows = four([1, 0, 0, 0, 0]);
    expect(alloc([0, 0, 0], rows, { NoIPFailback: true }))
      .toEqual({ '10.0.0.5': 1, '10.0.0.4': 0, '10.0.0.3': 0, '10.0.0.2': 0, '10.0.0.1': 0 });
  });
  it('moves the addresses of a node that died and nothing else', () => {
    const rows = four([0, 1, 2, 0, 1, 2]);
    expect(alloc([0, 0, NodeFlag.DISCONNECTED], rows)).toEqual(
      { '10.0.0.6': 0, '10.0.0.5': 1, '10.0.0.4': 0, '10.0.0.3': 0, '10.0.0.2': 1, '10.0.0.1': 1 });
  });
});

describe('who may host', () => {
  const flagsThatBlock = [NodeFlag.DISCONNECTED, NodeFlag.UNHEALTHY, NodeFlag.PERMANENTLY_DISABLED,
    NodeFlag.BANNED, NodeFlag.DELETED, NodeFlag.STOPPED];
  it.each(flagsThatBlock.map((f) => [f.toString(16), f]))('a node with flag 0x%s never hosts', (_hex, flag) => {
    for (const algo of [DET, NONDET, LCP2]) {
      const got = alloc([flag, 0], four([0, 0, 0, -1]), algo);
      expect(Object.values(got)).toEqual([1, 1, 1, 1]);
    }
  });
  it('a node that is not RUNNING never hosts', () => {
    const m = allocateIps({ nodes: [{ flags: 0, runState: RunState.STARTUP }, { flags: 0 }], ips: ipsOf(four([0, -1])) });
    expect([...m.values()]).toEqual([1, 1]);
  });
  it('only nodes listed in availableOn host an address', () => {
    for (const algo of [DET, NONDET, LCP2]) {
      expect(alloc([0, 0, 0], [['10.0.0.2', 0, [2]], ['10.0.0.1', -1, [1]]], algo))
        .toEqual({ '10.0.0.2': 2, '10.0.0.1': 1 });
    }
  });
  it('with NoIPTakeover only keeps suitable hosts (deterministic still places by index)', () => {
    const rows = four([0, 1, -1]);
    const flags = [0, NodeFlag.UNHEALTHY, 0];
    const want = { '10.0.0.3': 0, '10.0.0.2': -1, '10.0.0.1': -1 };
    expect(alloc(flags, rows, { ...LCP2, NoIPTakeover: true })).toEqual(want);
    expect(alloc(flags, rows, { ...NONDET, NoIPTakeover: true })).toEqual(want);
    expect(alloc(flags, rows, { ...DET, NoIPTakeover: true })).toEqual({ ...want, '10.0.0.1': 2 });
  });
  it('accepts and ignores NoIPHostOnAllDisabled', () => {
    const all = [NodeFlag.UNHEALTHY, NodeFlag.UNHEALTHY];
    for (const v of [true, false]) {
      expect(alloc(all, four([0, 1]), { NoIPHostOnAllDisabled: v })).toEqual({ '10.0.0.2': -1, '10.0.0.1': -1 });
      expect(alloc([0, 0], four([0, 1]), { NoIPHostOnAllDisabled: v })).toEqual({ '10.0.0.2': 0, '10.0.0.1': 1 });
    }
  });
  it('takes CTDB\'s unknown PNN 0xFFFFFFFF as unassigned', () => {
    expect(alloc([0, 0], four([0xffffffff, 0]), { NoIPTakeover: true })).toEqual({ '10.0.0.2': -1, '10.0.0.1': 0 });
  });
  it('returns every address unassigned when there are no nodes', () => {
    expect(alloc([], four([-1, -1]))).toEqual({ '10.0.0.2': -1, '10.0.0.1': -1 });
  });
});

describe('bad input', () => {
  const bad = (input: IpAllocInput) => {
    try { allocateIps(input); } catch (e) { return e; }
    return undefined;
  };
  it.each([
    ['an invalid address', { nodes: nodesOf([0]), ips: ipsOf([['10.0.0.300', -1]]) }, /invalid IP address/],
    ['a duplicate address', { nodes: nodesOf([0]), ips: ipsOf([['fd00::1', -1], ['fd00:0::1', 0]]) }, /more than once/],
    ['an owner outside the nodemap', { nodes: nodesOf([0, 0]), ips: ipsOf([['10.0.0.1', 2]]) }, /PNN 2/],
    ['an available node outside the nodemap', { nodes: nodesOf([0]), ips: ipsOf([['10.0.0.1', -1, [0, 1]]]) }, /PNN 1/],
  ])('rejects %s with EINVAL', (_name, input, msg) => {
    const e = bad(input as IpAllocInput);
    expect(e).toBeInstanceOf(CtdbError);
    expect((e as CtdbError).code).toBe('EINVAL');
    expect((e as CtdbError).message).toMatch(msg);
  });
});

describe('mergePublicIps', () => {
  const U = 0xffffffff;
  it('trusts a node only about itself and keeps an earlier owner over a later unknown', () => {
    const merged = mergePublicIps([
      [{ ip: '10.0.0.1', pnn: 0 }, { ip: '10.0.0.2', pnn: 1 }, { ip: '10.0.0.3', pnn: 0 }, { ip: '10.0.0.4', pnn: 1 }],
      [{ ip: '10.0.0.1', pnn: 0 }, { ip: '10.0.0.2', pnn: U }, { ip: '10.0.0.3', pnn: 1 }, { ip: '10.0.0.4', pnn: 0 }],
    ], [[{ ip: '10.0.0.1', pnn: 0 }], [{ ip: '10.0.0.3', pnn: 1 }, { ip: '10.0.0.4', pnn: 0 }]]);
    expect(merged).toEqual([
      { ip: '10.0.0.4', owner: -1, knownOn: [0, 1], availableOn: [1] },
      { ip: '10.0.0.3', owner: 1, knownOn: [0, 1], availableOn: [1] },
      { ip: '10.0.0.2', owner: -1, knownOn: [0, 1], availableOn: [] },
      { ip: '10.0.0.1', owner: 0, knownOn: [0, 1], availableOn: [0] },
    ]);
  });
  it('ignores available addresses that no node knows', () => {
    expect(mergePublicIps([[]], [[{ ip: '10.0.0.9', pnn: 0 }]])).toEqual([]);
  });
});
