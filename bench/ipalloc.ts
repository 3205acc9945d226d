/**
 * LCP2 (and the other algorithms) compute time on clusters of realistic size.
 * Run: npx tsx bench/ipalloc.ts   Prints one line per scenario: median and min of N runs.
 */
import { performance } from 'node:perf_hooks';
import { allocateIps } from '../src/ipalloc/allocate.js';
import type { IpAllocInput, PublicIpState } from '../src/ipalloc/types.js';

/** `count` addresses packed into consecutive /24s: 10.0.0.0, 10.0.0.1, … */
const ipsFor = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

function cluster(nodes: number, count: number, owners?: Map<string, number>, flags: number[] = []): IpAllocInput {
  const ips: PublicIpState[] = ipsFor(count).map((ip) => ({ ip, owner: owners?.get(ip) ?? -1 }));
  return { nodes: Array.from({ length: nodes }, (_, n) => ({ flags: flags[n] ?? 0 })), ips };
}

function time(runs: number, f: () => unknown): { median: number; min: number } {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)]!, min: t[0]! };
}

function row(name: string, runs: number, input: IpAllocInput, algorithm = 2): Map<string, number> {
  const tunables = { IPAllocAlgorithm: algorithm };
  const result = allocateIps({ ...input, tunables });
  const { median, min } = time(runs, () => allocateIps({ ...input, tunables }));
  const moved = input.ips.filter((ip) => ip.owner !== result.get(ip.ip)).length;
  process.stdout.write(`${name.padEnd(46)} ${median.toFixed(1).padStart(8)} ms median ${min.toFixed(1).padStart(8)} ms min  (${runs} runs, ${moved} addresses placed/moved)\n`);
  return result;
}

process.stdout.write(`ipalloc benchmark (node ${process.version})\n`);
for (const [nodes, count, runs] of [[16, 256, 20], [64, 1024, 5]] as const) {
  const fresh = cluster(nodes, count);
  const placed = row(`lcp2 ${nodes}x${count} initial (all unassigned)`, runs, fresh);
  row(`lcp2 ${nodes}x${count} steady state (nothing changes)`, runs, cluster(nodes, count, placed));
  const dead = Array<number>(nodes).fill(0);
  dead[2] = 0x1;
  const afterDeath = row(`lcp2 ${nodes}x${count} node 2 dies`, runs, cluster(nodes, count, placed, dead));
  row(`lcp2 ${nodes}x${count} node 2 comes back (failback)`, runs, cluster(nodes, count, afterDeath));
  row(`nondeterministic ${nodes}x${count} node 2 dies`, runs, cluster(nodes, count, placed, dead), 1);
  row(`deterministic ${nodes}x${count} initial`, runs, fresh, 0);
}
