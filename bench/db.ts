/**
 * Clustered database benchmarks on a 3-node loopback cluster, ours and (when
 * Debian's ctdb package is installed) real CTDB 4.17 side by side, driven by
 * the same client code so only the daemons differ.
 *   - migration ring: one key fetch-locked and updated on node 0, 1, 2, 0, …
 *   - ptrans of 10,000 records (the `ctdb ptrans` tool of each side)
 *   - pstore one by one (persistent transactions through the client library)
 *   - RSS of ctdbd after loading 100,000 persistent records
 * Run: npm run build && npx tsx bench/db.ts [--quick]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CtdbClient } from '../src/client/client.js';
import { getPid, getPnn } from '../src/client/controls.js';
import { ClusterDb, attachDb, persistentTransaction } from '../src/client/db.js';
import { resolvePaths } from '../src/common/paths.js';
import { Pnn } from '../src/protocol/constants.js';
import { dbIdForName } from '../src/protocol/hash.js';
import { DIST, LocalCluster } from '../test/harness/cluster.js';

const quick = process.argv.includes('--quick');
const RING = quick ? 300 : 3000;
const PTRANS = 10_000;
const PSTORES = quick ? 100 : 500;
const RSS_RECORDS = 100_000;

interface Figures { ring: number; ptrans: number; pstore: number; rssMb: number }

async function connectAll(c: LocalCluster): Promise<CtdbClient[]> {
  const out: CtdbClient[] = [];
  for (let pnn = 0; pnn < 3; pnn++) {
    const cl = await CtdbClient.connect(resolvePaths(c.env(pnn)).socket, 30_000);
    cl.pnn = await getPnn(cl, Pnn.CURRENT);
    out.push(cl);
  }
  return out;
}

function batch(n: number, prefix: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `"${prefix}${i}" "value-${i}-${'x'.repeat(32)}"\n`;
  return s;
}

async function measure(real: boolean, firstOctet: number): Promise<Figures> {
  const c = new LocalCluster({ nodes: 3, firstOctet, real });
  try {
    c.startAll();
    if (!(await c.waitAllOk(0, 120_000))) throw new Error(`${real ? 'real' : 'our'} cluster did not become healthy`);
    const clients = await connectAll(c);
    try {
      // Migration ring.
      const vol = 'bench_vol.tdb';
      await attachDb(clients[0]!, Pnn.CURRENT, vol, 'volatile');
      await new Promise((r) => setTimeout(r, 500)); // the attach reaches the other nodes
      const dbs = await Promise.all(clients.map(async (cl) => {
        await attachDb(cl, Pnn.CURRENT, vol, 'volatile');
        return ClusterDb.open(cl, { id: dbIdForName(vol), name: vol, flags: 0 });
      }));
      const key = Buffer.from('hot-key');
      const t0 = performance.now();
      for (let i = 0; i < RING; i++) {
        const rec = await dbs[i % 3]!.fetchLock(key, { timeoutMs: 30_000 });
        rec.store(Buffer.from(`round ${i}`));
        rec.release();
      }
      const ring = RING / ((performance.now() - t0) / 1000);
      dbs.forEach((d) => d.close());

      // ptrans of 10,000 records with each side's own tool.
      const pers = 'bench_pers.tdb';
      const attach = c.ctdb(0, ['attach', pers, 'persistent']);
      if (attach.code !== 0) throw new Error(`attach failed: ${attach.stderr}`);
      await new Promise((r) => setTimeout(r, 500));
      const t1 = performance.now();
      const pt = c.ctdb(0, ['ptrans', pers], { input: batch(PTRANS, 'p'), timeoutMs: 300_000 });
      if (pt.code !== 0) throw new Error(`ptrans failed: ${pt.stderr}`);
      const ptrans = PTRANS / ((performance.now() - t1) / 1000);

      // pstore one by one through the client library.
      const pdb = await ClusterDb.open(clients[1]!, { id: dbIdForName(pers), name: pers, flags: 1 });
      const t2 = performance.now();
      for (let i = 0; i < PSTORES; i++) {
        await persistentTransaction(clients[1]!, pdb, () => [{ key: Buffer.from(`s${i}`), data: Buffer.from(`v${i}`) }], { timeoutMs: 30_000 });
      }
      const pstore = PSTORES / ((performance.now() - t2) / 1000);

      // RSS with 100k records loaded (10 ptrans batches).
      const big = 'bench_rss.tdb';
      c.ctdb(0, ['attach', big, 'persistent']);
      await new Promise((r) => setTimeout(r, 500));
      for (let b = 0; b < RSS_RECORDS / 10_000; b++) {
        const r = c.ctdb(0, ['ptrans', big], { input: batch(10_000, `r${b}-`), timeoutMs: 300_000 });
        if (r.code !== 0) throw new Error(`ptrans failed: ${r.stderr}`);
      }
      const pid = await getPid(clients[0]!, Pnn.CURRENT);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
      pdb.close();
      return { ring, ptrans, pstore, rssMb };
    } finally {
      clients.forEach((cl) => cl.close());
    }
  } finally {
    await c.stop();
  }
}

const fmt = (n: number): string => n.toFixed(n >= 100 ? 0 : 1);

if (!existsSync(join(DIST, 'ctdbd.js'))) {
  process.stderr.write('bench/db.ts: run `npm run build` first\n');
  process.exit(1);
}
const ours = await measure(false, 50);
const haveReal = existsSync('/usr/sbin/ctdbd') && existsSync('/usr/bin/ctdb');
const real = haveReal ? await measure(true, 53) : undefined;
const rows: Array<[string, keyof Figures, string, boolean]> = [
  [`migration ring (${RING} fetch-lock+store, 3 nodes)`, 'ring', 'migrations/s', true],
  [`ptrans ${PTRANS} records`, 'ptrans', 'records/s', true],
  [`pstore one by one (${PSTORES})`, 'pstore', 'records/s', true],
  [`ctdbd RSS with ${RSS_RECORDS} records`, 'rssMb', 'MiB', false],
];
for (const [name, k, unit, higherBetter] of rows) {
  let line = `${name.padEnd(46)} ours ${fmt(ours[k]).padStart(8)} ${unit}`;
  if (real) {
    const ratio = higherBetter ? ours[k] / real[k] : real[k] / ours[k];
    line += `   real ${fmt(real[k]).padStart(8)} ${unit}   ratio ${ratio.toFixed(2)}${higherBetter ? '' : ' (real/ours)'}`;
  }
  process.stdout.write(`${line}\n`);
}
if (!real) process.stdout.write('(Debian ctdb not installed: no comparison)\n');
