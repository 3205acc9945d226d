// Foundation benchmark: time from start to all-OK for a 3-node cluster, and the
// wall time of `ctdb pnn` beside `node -e 0` — for our daemons and, when Debian's
// ctdb package is installed, for real CTDB on the same machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, LocalCluster } from '../test/harness/cluster.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const haveReal = existsSync('/usr/sbin/ctdbd') && existsSync('/usr/bin/ctdb');

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const ms = (n: number): string => `${n.toFixed(1)} ms`;

/** Median wall time of each command, runs interleaved so machine load hits all alike. */
function timeCommands(cmds: Record<string, string[]>, env: NodeJS.ProcessEnv): Record<string, number> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, argv] of Object.entries(cmds)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
      samples[name]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

async function startupToAllOk(real: boolean, firstOctet: number): Promise<{ ms: number; cluster: LocalCluster }> {
  const c = new LocalCluster({ nodes: 3, firstOctet, real });
  const t0 = Date.now();
  c.startAll();
  if (!(await c.waitAllOk(0, 120_000))) { await c.stop(); throw new Error(`${real ? 'real' : 'our'} cluster never reached all-OK`); }
  return { ms: Date.now() - t0, cluster: c };
}

async function main(): Promise<void> {
  if (!existsSync(join(DIST, 'ctdb.js'))) throw new Error('run `npm run build` first');
  console.log(`# startup benchmark (${RUNS} runs per command, medians)`);
  const ours = await startupToAllOk(false, 161);
  let real: { ms: number; cluster: LocalCluster } | undefined;
  try {
    console.log(`start to all-OK, 3 nodes, ours:          ${ms(ours.ms)}`);
    if (haveReal) {
      real = await startupToAllOk(true, 164);
      console.log(`start to all-OK, 3 nodes, real CTDB:     ${ms(real.ms)}   (ours/real = ${(ours.ms / real.ms).toFixed(2)})`);
    }
    const cmds: Record<string, string[]> = {
      'node -e 0': [process.execPath, '-e', '0'],
      'ctdb pnn (ours)': [process.execPath, join(DIST, 'ctdb.js'), 'pnn'],
    };
    const t = timeCommands(cmds, ours.cluster.env(0));
    console.log(`node -e 0:                               ${ms(t['node -e 0']!)}`);
    console.log(`ctdb pnn, our tool + our daemon:         ${ms(t['ctdb pnn (ours)']!)}   (x${(t['ctdb pnn (ours)']! / t['node -e 0']!).toFixed(2)} of node -e 0; target <= 1.5)`);
    if (real) {
      const r = timeCommands({ 'ctdb pnn (real)': ['/usr/bin/ctdb', 'pnn'] }, real.cluster.env(0));
      console.log(`ctdb pnn, Debian tool + Debian daemon:   ${ms(r['ctdb pnn (real)']!)}   (ours/real = ${(t['ctdb pnn (ours)']! / r['ctdb pnn (real)']!).toFixed(2)})`);
    }
  } finally {
    await ours.cluster.stop();
    await real?.cluster.stop();
  }
}

main().catch((err) => { console.error(`bench/startup: ${(err as Error).message}`); process.exitCode = 1; });
