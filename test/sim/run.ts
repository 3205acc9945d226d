/**
 * Simulator CLI: `npx tsx test/sim/run.ts --seeds 10000 --nodes 3..32`.
 * Runs seeds first..first+seeds-1 (or --seed N alone, with its fault trace),
 * prints seeds/s and every violation with its seed.
 * Options: --seeds N, --first N, --seed N (replay one), --nodes A..B,
 * --lock (cluster-lock mode; default: both modes alternate), --no-lock,
 * --fault-ms, --settle-ms, --fault-every-ms, --ips N, --hostile,
 * --lock-lost-while-stopped (the known lock finding), --records N (keys; 0 = no
 * record traffic), --faults kill,stop,... , --trace; persistent commits (on by
 * default, checked with the cluster lock): --no-persistent, --source-rule
 * epoch|seqnum (seqnum: the old rule), --epoch-rule clock|max+1 (max+1: the
 * daemon's), --commit-peers vnnmap|active (active: the daemon's); see the
 * known findings in sim.test.ts.
 * Exit code 1 when any seed broke an invariant.
 */
import { parseArgs } from 'node:util';
import type { EpochRule, SourceRule } from './persistent.js';
import { DEFAULT_TIMING, runSeed, type FaultKind, type SeedResult, type SimOptions } from './world.js';

/** The options of seed `seed` for a node range and mode (deterministic in the seed). */
export function optionsForSeed(seed: number, base: { nodesMin: number; nodesMax: number; lock?: boolean; faultMs: number; settleMs: number; faultEveryMs: number; ips: number; hostile: boolean }): SimOptions {
  const span = base.nodesMax - base.nodesMin + 1;
  const nodes = base.nodesMin + (Math.abs(seed) % span);
  const lock = base.lock ?? (Math.floor(Math.abs(seed) / span) % 2 === 1);
  return {
    nodes, faultMs: base.faultMs, settleMs: base.settleMs, faultEveryMs: base.faultEveryMs,
    publicIps: base.ips, hostile: base.hostile, timing: { ...DEFAULT_TIMING, lock },
  };
}

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1000' }, first: { type: 'string', default: '1' }, seed: { type: 'string' },
      nodes: { type: 'string', default: '3..8' }, lock: { type: 'boolean' }, 'no-lock': { type: 'boolean' },
      'fault-ms': { type: 'string', default: '30000' }, 'settle-ms': { type: 'string', default: '30000' },
      'fault-every-ms': { type: 'string', default: '2000' }, ips: { type: 'string', default: '8' },
      hostile: { type: 'boolean', default: false }, 'lock-lost-while-stopped': { type: 'boolean', default: false },
      faults: { type: 'string' }, 'source-rule': { type: 'string' }, 'epoch-rule': { type: 'string' }, 'commit-peers': { type: 'string' }, 'no-persistent': { type: 'boolean' }, records: { type: 'string' }, trace: { type: 'boolean', default: false }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: npx tsx test/sim/run.ts [--seeds N] [--first N] [--seed N] [--nodes A..B] [--lock|--no-lock] [--hostile] [--trace] [--records N] [--faults K,...] [--no-persistent] [--source-rule epoch|seqnum] [--epoch-rule clock|max+1] [--commit-peers vnnmap|active]\n');
    return 0;
  }
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(values.nodes!);
  if (!m) throw new Error(`--nodes wants A..B, got ${values.nodes}`);
  const base = {
    nodesMin: Number(m[1]), nodesMax: Number(m[2] ?? m[1]),
    lock: values.lock ? true : values['no-lock'] ? false : undefined,
    faultMs: Number(values['fault-ms']), settleMs: Number(values['settle-ms']), faultEveryMs: Number(values['fault-every-ms']),
    ips: Number(values.ips), hostile: values.hostile ?? false,
  };
  const oneOf = (name: string, v: string | undefined, allowed: string[]): void => {
    if (v !== undefined && !allowed.includes(v)) throw new Error(`--${name} wants ${allowed.join(' or ')}, got ${v}`);
  };
  oneOf('source-rule', values['source-rule'], ['epoch', 'seqnum']);
  oneOf('epoch-rule', values['epoch-rule'], ['clock', 'max+1']);
  oneOf('commit-peers', values['commit-peers'], ['vnnmap', 'active']);
  if (base.nodesMin < 2 || base.nodesMax < base.nodesMin) throw new Error('--nodes: need 2 <= A <= B');
  const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.first) + i);
  const t0 = performance.now();
  let bad = 0; let steps = 0; let acked = 0; let abandoned = 0; let forked = 0; let recChecked = 0; let fetches = 0; let fetched = 0; let maxHop = 0;
  const faults: Record<string, number> = {};
  const report = (r: SeedResult, o: SimOptions): void => {
    steps += r.steps; acked += r.commitsAcked; abandoned += r.commitsAbandoned; forked += r.forked ? 1 : 0; recChecked += r.recoveriesChecked; fetches += r.fetches; fetched += r.fetched; maxHop = Math.max(maxHop, r.maxHopCount);
    for (const [k, v] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + v;
    if (values.trace || seeds.length === 1) for (const line of r.trace) process.stdout.write(`  ${line}\n`);
    if (r.violation) {
      bad++;
      if (seeds.length === 1) for (const line of r.state) process.stdout.write(`  ${line}\n`);
      const v = r.violation;
      process.stdout.write(`VIOLATION seed=${v.seed} nodes=${o.nodes} lock=${o.timing.lock} at=${v.atMs}ms step=${v.step} ${v.invariant}: ${v.detail}\n`);
    }
  };
  for (const seed of seeds) {
    const o = {
      ...optionsForSeed(seed, base), lockLostWhileStopped: values['lock-lost-while-stopped'],
      ...(values.records !== undefined ? { recordKeys: Number(values.records) } : {}),
      ...(values.faults ? { faults: values.faults.split(',') as FaultKind[] } : {}),
      ...(values['source-rule'] ? { sourceRule: values['source-rule'] as SourceRule } : {}),
      ...(values['epoch-rule'] ? { epochRule: values['epoch-rule'] as EpochRule } : {}),
      ...(values['commit-peers'] ? { commitPeers: values['commit-peers'] as 'active' | 'vnnmap' } : {}),
      ...(values['no-persistent'] ? { persistentCommits: false } : {}),
    };
    report(runSeed(seed, o), o);
  }
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(`seeds=${seeds.length} violations=${bad} steps=${steps} seconds=${secs.toFixed(1)} seeds/s=${(seeds.length / secs).toFixed(1)}\n`);
  if (acked > 0) process.stdout.write(`persistent commits acknowledged=${acked} recoveries=${recChecked} abandoned=${abandoned} (seeds whose history forked: ${forked})\n`);
  if (fetches > 0) process.stdout.write(`record fetches=${fetches} completed=${fetched} max-hopcount=${maxHop}\n`);
  process.stdout.write(`faults ${Object.entries(faults).sort().map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  return bad > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try { process.exitCode = main(); } catch (err) {
    process.stderr.write(`sim: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
