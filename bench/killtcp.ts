/**
 * Benchmark: connections reset per second by ctdb_killtcp (dist/) and, when
 * installed, Debian's /usr/libexec/ctdb/ctdb_killtcp, on the same workload in
 * the same namespaces. Run as root: `npx tsx bench/killtcp.ts [RUNS]`.
 * Prints one line per tool and size, then the ratio.
 */
import { existsSync } from 'node:fs';
import {
  closeConnections, createNsPair, deleteNsPair, openConnections, pollUntil, run, type NsPair,
} from '../test/fixtures/killtcp/netns.js';

const ours = new URL('../dist/ctdb_killtcp.js', import.meta.url).pathname;
const theirs = '/usr/libexec/ctdb/ctdb_killtcp';
const runs = Number(process.argv[2] ?? 3);

interface Sample { ms: number; missed: number; code: number | null }

let port = 9000;
async function measure(ns: NsPair, count: number, cmd: string[]): Promise<Sample> {
  const set = await openConnections(ns, { family: 'inet', count, port: port++ });
  try {
    const r = await run('ip', ['netns', 'exec', ns.serverNs, ...cmd, ns.serverIf], { input: set.list, timeoutMs: 60_000 });
    const srv = await pollUntil(() => set.server.stats(), (v) => v.resets >= count, 5_000);
    return { ms: r.ms, missed: count - srv.resets, code: r.code };
  } finally {
    closeConnections(set);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) { process.stderr.write('bench/killtcp: needs root (network namespaces)\n'); process.exitCode = 1; return; }
  if (!existsSync(ours)) { process.stderr.write('bench/killtcp: run npm run build first\n'); process.exitCode = 1; return; }
  const haveTheirs = existsSync(theirs);
  const ns = await createNsPair('b');
  try {
    process.stdout.write(`killtcp: connections reset per second (median of ${runs} runs, wall time of the whole helper process)\n`);
    for (const count of [1_000, 10_000]) {
      const tools: [string, string[]][] = [['ctdb-ts', ['node', ours]]];
      if (haveTheirs) tools.push(['ctdb 4.17', [theirs]]);
      const rates: Record<string, number> = {};
      for (const [name, cmd] of tools) {
        const samples: Sample[] = [];
        for (let i = 0; i < runs; i++) samples.push(await measure(ns, count, cmd));
        const ms = median(samples.map((s) => s.ms));
        const missed = Math.max(...samples.map((s) => s.missed));
        rates[name] = count / (ms / 1000);
        process.stdout.write(`  ${name.padEnd(10)} N=${String(count).padStart(6)}  ${ms.toFixed(0).padStart(6)} ms  ` +
          `${rates[name]!.toFixed(0).padStart(8)} conn/s  missed(max)=${missed}  exit=${samples.map((s) => s.code).join(',')}\n`);
      }
      if (haveTheirs) {
        process.stdout.write(`  ratio N=${count}: ctdb-ts is ${(rates['ctdb-ts']! / rates['ctdb 4.17']!).toFixed(2)}x ctdb 4.17\n`);
      }
    }
    if (!haveTheirs) process.stdout.write(`  (${theirs} not installed: no comparison)\n`);
  } finally {
    await deleteNsPair(ns);
  }
}

await main();
