// Clustered Samba benchmark: Debian's smbd (`clustering = yes`) on a 3-node
// cluster of our daemons and, when Debian's ctdb package is installed, on
// real CTDB — smbd start-up time to serving, and a small-file
// create/write/close loop through smbclient (files/s), with ratios.
// Standalone: `npx tsx bench/samba.ts` (after `npm run build`).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST } from '../test/harness/cluster.js';
import { SambaCluster, SHARE, SMB_PORT, sambaMissing } from '../test/samba/samba-cluster.js';

const STARTS = Number(process.env.BENCH_SMBD_STARTS ?? 3);
const FILES = Number(process.env.BENCH_SMB_FILES ?? 300);
const haveReal = existsSync('/usr/sbin/ctdbd') && existsSync('/usr/bin/ctdb');

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

interface Figures { startMs: number; oneNodeFps: number; twoNodeFps: number }

/** Puts `count` small files through one smbclient session on node `pnn`; resolves with the seconds it took. */
function putLoop(sc: SambaCluster, pnn: number, prefix: string, count: number, src: string): Promise<number> {
  const cmds = Array.from({ length: count }, (_, i) => `put ${src} ${prefix}-${i}.txt`).join('\n') + '\nexit\n';
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('/usr/bin/smbclient', ['-s', sc.conf(pnn), '-p', String(SMB_PORT), `//${sc.address(pnn)}/${SHARE}`, '-N'],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.on('data', () => {});
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 300_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0 || /NT_STATUS_/.test(err)) reject(new Error(`smbclient on node ${pnn} failed (${code}): ${err.slice(-500)}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e9);
    });
    p.stdin.end(cmds);
  });
}

/** One side (ours or real CTDB): a 3-node cluster with smbd on nodes 0 and 1. */
interface Side { name: string; sc: SambaCluster; src: string; starts: number[]; one: number[]; two: number[] }

async function setUp(name: string, real: boolean, firstOctet: number): Promise<Side> {
  const sc = new SambaCluster({ nodes: 3, real, firstOctet });
  await sc.startCluster();
  const src = join(sc.cluster.dir, 'small.txt');
  writeFileSync(src, 'x'.repeat(512));
  return { name, sc, src, starts: [], one: [], two: [] };
}

/** One round on one side: an smbd restart on node 0 timed to serving, then the put loops. */
async function round(s: Side, r: number): Promise<void> {
  if (!s.sc.smbd.has(1)) await s.sc.startSmbd(1);
  await s.sc.stopSmbd(0);
  s.starts.push(await s.sc.startSmbd(0));
  await putLoop(s.sc, 0, `warm${r}`, 20, s.src);
  s.one.push(FILES / await putLoop(s.sc, 0, `one${r}`, FILES, s.src));
  const both = await Promise.all([putLoop(s.sc, 0, `two${r}-a`, FILES, s.src), putLoop(s.sc, 1, `two${r}-b`, FILES, s.src)]);
  s.two.push((2 * FILES) / Math.max(...both));
}

const figures = (s: Side): Figures => ({ startMs: median(s.starts), oneNodeFps: Math.max(...s.one), twoNodeFps: Math.max(...s.two) });

async function main(): Promise<void> {
  const missing = sambaMissing();
  if (missing) { console.log(`# samba benchmark skipped: ${missing}`); return; }
  if (!existsSync(join(DIST, 'ctdbd.js'))) throw new Error('run `npm run build` first');
  console.log(`# clustered Samba benchmark (${STARTS} alternating rounds: smbd start median, best files/s; ${FILES} puts of 512 bytes per smbclient session)`);
  const sides = [await setUp('ours', false, 83)];
  if (haveReal) sides.push(await setUp('real', true, 86));
  try {
    // Rounds alternate between the two clusters (both running), so other load on the machine hits both alike.
    for (let r = 0; r < STARTS; r++) for (const s of sides) await round(s, r);
  } finally {
    for (const s of sides) await s.sc.stop();
  }
  const ours = figures(sides[0]!);
  const real = sides[1] ? figures(sides[1]) : undefined;
  const row = (name: string, f: (x: Figures) => number, unit: string, higherBetter: boolean): void => {
    const o = f(ours);
    let line = `${name.padEnd(38)} ours ${o.toFixed(1).padStart(8)} ${unit}`;
    if (real) {
      const r = f(real);
      line += `   real ${r.toFixed(1).padStart(8)} ${unit}   ours/real ${(o / r).toFixed(2)}${higherBetter ? ' (higher is better)' : ' (lower is better)'}`;
    }
    console.log(line);
  };
  row('smbd start to serving', (x) => x.startMs, 'ms   ', false);
  row('small files, one node', (x) => x.oneNodeFps, 'files/s', true);
  row('small files, two nodes at once', (x) => x.twoNodeFps, 'files/s', true);
  if (!real) console.log('(Debian ctdb not installed: no real-CTDB comparison)');
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
