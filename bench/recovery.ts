/**
 * Recovery and vacuum benchmark: RECORDS records spread over 3 nodes and
 * DBS volatile databases, planted straight into each node's TDB; then the
 * time of `ctdb recover` until every node is back in NORMAL mode. Same
 * workload on Debian's ctdbd when installed, and the ratio. Vacuum
 * throughput: deleted records removed per second by `ctdb vacuum` (ours only:
 * CTDB 4.17's tool has no vacuum command).
 * Run: npm run build && npx tsx bench/recovery.ts [RECORDS] [DBS]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CtdbClient } from '../src/client/client.js';
import { getPnn, getRecmode, getVnnmap } from '../src/client/controls.js';
import { ClusterDb, attachDb } from '../src/client/db.js';
import { Pnn, RecMode } from '../src/protocol/constants.js';
import { joinLtdb } from '../src/protocol/payloads.js';
import { LocalCluster } from '../test/harness/cluster.js';

const RECORDS = Number(process.argv[2] ?? 100_000);
const DBS = Number(process.argv[3] ?? 10);

async function plant(cl: LocalCluster, pnn: number, name: string, keys: number, empty: boolean): Promise<void> {
  const c = await CtdbClient.connect(join(cl.base(pnn), 'run', 'ctdbd.socket'));
  try {
    c.pnn = await getPnn(c, Pnn.CURRENT);
    const id = await attachDb(c, Pnn.CURRENT, name);
    const db = await ClusterDb.open(c, { id, name, flags: 0 });
    db.tdb.transaction(() => {
      for (let i = 0; i < keys; i++) {
        db.tdb.store(Buffer.from(`${name}-n${pnn}-k${i}`), joinLtdb({ rsn: 1n, dmaster: pnn, flags: 0 }, empty ? Buffer.alloc(0) : Buffer.from(`value-${i}-padding-padding`)));
      }
    });
    db.close();
  } finally { c.close(); }
}

async function settled(cl: LocalCluster, before: number): Promise<boolean> {
  return cl.waitFor(async () => {
    const gens = new Set<number>();
    for (const pnn of [0, 1, 2]) {
      const c = await CtdbClient.connect(join(cl.base(pnn), 'run', 'ctdbd.socket')).catch(() => undefined);
      if (!c) return false;
      try {
        if (await getRecmode(c, Pnn.CURRENT) !== RecMode.NORMAL) return false;
        gens.add((await getVnnmap(c, Pnn.CURRENT)).generation);
      } catch { return false; } finally { c.close(); }
    }
    return gens.size === 1 && !gens.has(before);
  }, 300_000, 50);
}

async function generation(cl: LocalCluster): Promise<number> {
  const c = await CtdbClient.connect(join(cl.base(0), 'run', 'ctdbd.socket'));
  try { return (await getVnnmap(c, Pnn.CURRENT)).generation; } finally { c.close(); }
}

async function recoveryTime(real: boolean, octet: number): Promise<number> {
  const cl = new LocalCluster({ nodes: 3, firstOctet: octet, real, tunables: 'VacuumInterval=0\n' });
  try {
    cl.startAll();
    if (!await cl.waitAllOk(0, 120_000)) throw new Error(`${real ? 'real' : 'our'} cluster did not come up`);
    const per = Math.ceil(RECORDS / DBS / 3);
    for (let d = 0; d < DBS; d++) {
      const name = `bench${d}.tdb`;
      if (cl.ctdb(0, ['attach', name]).code !== 0) throw new Error(`attach ${name} failed`);
      for (const pnn of [0, 1, 2]) await plant(cl, pnn, name, per, false);
    }
    const before = await generation(cl);
    const t0 = performance.now();
    const r = await cl.ctdbAsync(0, ['recover'], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`recover failed: ${r.stderr}`);
    if (!await settled(cl, before)) throw new Error('recovery did not settle');
    return performance.now() - t0;
  } finally { await cl.stop(); }
}

async function vacuumRate(octet: number): Promise<{ n: number; ms: number }> {
  const cl = new LocalCluster({ nodes: 3, firstOctet: octet, tunables: 'VacuumInterval=0\n' });
  try {
    cl.startAll();
    if (!await cl.waitAllOk(0, 120_000)) throw new Error('cluster did not come up');
    cl.ctdb(0, ['attach', 'vbench.tdb']);
    const per = Math.ceil(RECORDS / 3);
    for (const pnn of [0, 1, 2]) await plant(cl, pnn, 'vbench.tdb', per, true);
    const t0 = performance.now();
    const r = await cl.ctdbAsync(0, ['vacuum', 'vbench.tdb'], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`vacuum failed: ${r.stderr}`);
    return { n: per * 3, ms: performance.now() - t0 };
  } finally { await cl.stop(); }
}

const ours = await recoveryTime(false, 220);
process.stdout.write(`recovery, ${RECORDS} records, 3 nodes, ${DBS} dbs: ours ${ours.toFixed(0)} ms\n`);
if (existsSync('/usr/sbin/ctdbd')) {
  try {
    const real = await recoveryTime(true, 224);
    process.stdout.write(`recovery, same workload: real CTDB ${real.toFixed(0)} ms; ours/real = ${(ours / real).toFixed(2)}\n`);
  } catch (err) {
    process.stdout.write(`real CTDB run failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  }
} else process.stdout.write('real CTDB not installed: no comparison\n');
const v = await vacuumRate(227);
process.stdout.write(`vacuum: ${v.n} deleted records in ${v.ms.toFixed(0)} ms = ${(v.n / (v.ms / 1000)).toFixed(0)} records/s (full run, ctdb vacuum)\n`);
