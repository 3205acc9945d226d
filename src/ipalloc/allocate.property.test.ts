import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeFlag } from '../protocol/constants.js';
import { allocateIps } from './allocate.js';
import { nodeMayHost } from './state.js';
import type { IpAllocInput, PublicIpState } from './types.js';

const FLAGS = [0, 0, 0, NodeFlag.UNHEALTHY, NodeFlag.DISCONNECTED, NodeFlag.STOPPED, NodeFlag.BANNED,
  NodeFlag.PERMANENTLY_DISABLED];
const RUNS = { numRuns: 150 };

/** Addresses drawn from small IPv4 and IPv6 pools so keys share prefixes and collide. */
const ipArb = fc.oneof(
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 40 })).map(([a, b]) => `10.0.${a}.${b}`), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 40 }).map((b) => `fd00::${b.toString(16)}`), weight: 1 },
);

const inputArb = (algorithms: number[] = [0, 1, 2]) => fc.integer({ min: 1, max: 6 }).chain((num) => fc.record({
  nodes: fc.array(fc.constantFrom(...FLAGS).map((flags) => ({ flags })), { minLength: num, maxLength: num }),
  ips: fc.uniqueArray(ipArb, { maxLength: 24 }).chain((ips) => fc.tuple(...ips.map((ip) => fc.record({
    ip: fc.constant(ip),
    owner: fc.integer({ min: -1, max: num - 1 }),
    availableOn: fc.option(fc.subarray([...Array(num).keys()]), { nil: undefined }),
  }))).map((xs) => xs.map((x) => (x.availableOn ? x : { ip: x.ip, owner: x.owner })) as PublicIpState[])),
  tunables: fc.record({
    IPAllocAlgorithm: fc.constantFrom(...algorithms),
    NoIPTakeover: fc.boolean(),
    NoIPFailback: fc.boolean(),
  }),
  forceRebalanceNodes: fc.subarray([...Array(num).keys()]),
}));

const mayHost = (input: IpAllocInput, ip: PublicIpState, n: number): boolean =>
  nodeMayHost(input.nodes[n]!.flags) && (ip.availableOn ?? [n]).includes(n);
const ownerOf = (m: Map<string, number>, ip: string): number => m.get(ip)!;

describe('allocateIps properties', () => {
  it('never places an address on a node that may not host it', () => {
    fc.assert(fc.property(inputArb(), (input) => {
      const m = allocateIps(input);
      for (const ip of input.ips) {
        const o = ownerOf(m, ip.ip);
        if (o !== -1) expect(mayHost(input, ip, o)).toBe(true);
      }
    }), RUNS);
  });

  it('hosts every address some node may host, unless NoIPTakeover', () => {
    fc.assert(fc.property(inputArb(), (input) => {
      fc.pre(!input.tunables!.NoIPTakeover);
      const m = allocateIps(input);
      for (const ip of input.ips) {
        const hostable = input.nodes.some((_, n) => mayHost(input, ip, n));
        expect(ownerOf(m, ip.ip) !== -1).toBe(hostable);
      }
    }), RUNS);
  });

  it('with NoIPTakeover only keeps current hosts (LCP2, non-deterministic)', () => {
    fc.assert(fc.property(inputArb([1, 2]), (input) => {
      const m = allocateIps({ ...input, tunables: { ...input.tunables, NoIPTakeover: true } });
      for (const ip of input.ips) {
        const o = ownerOf(m, ip.ip);
        const keep = ip.owner !== -1 && mayHost(input, ip, ip.owner) ? ip.owner : -1;
        expect(o).toBe(keep);
      }
    }), RUNS);
  });

  it('gives the same answer for the same input, whatever the order of addresses', () => {
    fc.assert(fc.property(inputArb(), fc.integer(), (input, seed) => {
      const a = allocateIps(input);
      const shuffled = [...input.ips].sort((x, y) => ((hash(x.ip) ^ seed) - (hash(y.ip) ^ seed)));
      const b = allocateIps({ ...input, ips: shuffled });
      expect([...b]).toEqual([...a]);
      expect([...allocateIps(input)]).toEqual([...a]);
    }), RUNS);
  });

  it('changes nothing when run again on its own result (LCP2, deterministic)', () => {
    fc.assert(fc.property(inputArb([0, 2]), (input) => {
      const once = allocateIps(input);
      const again = allocateIps({ ...input, forceRebalanceNodes: [],
        ips: input.ips.map((ip) => ({ ...ip, owner: ownerOf(once, ip.ip) })) });
      expect([...again]).toEqual([...once]);
    }), RUNS);
  });

  it('LCP2 from scratch: every node gets an address, and no node more than 1.75 × the least + 1 (IPv4)', () => {
    // IPv4 distances lie in 96..127, so a node with a addresses is only chosen over
    // one with b when 96²·a <= 127²·b, i.e. a <= 1.75·b.
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { minLength: 8, maxLength: 60 }), (num, hosts) => {
        fc.pre(hosts.length >= num);
        const m = allocateIps({ nodes: Array.from({ length: num }, () => ({ flags: 0 })),
          ips: hosts.map((h) => ({ ip: `10.1.${h >> 8}.${h & 255}`, owner: -1 })) });
        const counts = Array<number>(num).fill(0);
        for (const o of m.values()) counts[o]!++;
        const min = Math.min(...counts);
        expect(min).toBeGreaterThan(0);
        expect(Math.max(...counts)).toBeLessThanOrEqual(1.75 * min + 1);
      }), RUNS);
  });

  it('non-deterministic with every node able to host everything balances to within one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 30 }),
      (num, owners) => {
        const m = allocateIps({ nodes: Array.from({ length: num }, () => ({ flags: 0 })),
          ips: owners.map((o, i) => ({ ip: `10.2.0.${i + 1}`, owner: o < num ? o : -1 })),
          tunables: { IPAllocAlgorithm: 1 } });
        const counts = Array<number>(num).fill(0);
        for (const o of m.values()) counts[o]!++;
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }), RUNS);
  });
});

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
