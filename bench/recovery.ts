/**
 * Recovery and vacuum benchmark, ours beside Debian's ctdbd (when installed).
 *
 * Recovery: RECORDS records spread over 3 nodes and DBS volatile databases,
 * planted straight into each node's TDB; then the time from `ctdb recover`
 * until every node is back in NORMAL mode on a new generation. Both sides
 * run with RerecoveryTimeout=0 and start the recovery only once the start-up
 * recoveries are over, so the figure is the recovery itself (a recovery
 * asked for within RerecoveryTimeout of the last one is held back).
 *
 * Vacuum: N deleted (empty) records planted on each node while timer-driven
 * vacuuming runs (VacuumInterval=1, every run a full run); the time from the
 * end of planting until no node's file holds any of them: deleted records removed per second, ours and real
 * (CTDB 4.17's tool has no vacuum command). Ours also via `ctdb vacuum`.
 *
 * Run: npm run build && npx tsx bench/recovery.ts [RECORDS] [DBS]
 * Environment: BENCH_RECOVERY_1M=1 adds the 1M-record run (several minutes);
 * BENCH_NO_REAL=1 skips real CTDB; BENCH_ONLY=recovery or vacuum runs one half.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CtdbClient } from '../src/client/client.js';
import { getPnn, getVnnmap } from '../src/client/controls.js';
import { ClusterDb, attachDb } from '../src/client/db.js';
import { TdbFile } from '../src/db/tdb.js';
import { Pnn } from '../src/protocol/constants.js';
import { jenkinsHash } from '../src/protocol/hash.js';
import { joinLtdb } from '../src/protocol/payloads.js';
import { LocalCluster } from '../test/harness/cluster.js';
import { waitSettled } from '../test/harness/settled.js';

const RECORDS = Number(process.argv[2] ?? 100_000);
const DBS = Number(process.argv[3] ?? 10);
const REAL = existsSync('/usr/sbin/ctdbd') && !process.env.BENCH_NO_REAL;
const TUNABLES = 'VacuumInterval=0\nRerecoveryTimeout=0\n';

const sock = (cl: LocalCluster, pnn: number): string => join(cl.base(pnn), 'run', 'ctdbd.socket');

/**
 * Writes `count` records straight into node `pnn`'s file of volatile `name`
 * (attached first), 50,000 to a TDB transaction; `recordAt(i)` gives the
 * key and the value (ltdb header included).
 */
async function storeDirect(cl: LocalCluster, pnn: number, name: string, count: number, recordAt: (i: number) => [Buffer, Buffer]): Promise<void> {
  const c = await CtdbClient.connect(sock(cl, pnn));
  try {
    c.pnn = await getPnn(c, Pnn.CURRENT);
    const id = await attachDb(c, Pnn.CURRENT, name);
    const db = await ClusterDb.open(c, { id, name, flags: 0 });
    try {
      for (let from = 0; from < count; from += 50_000) {
        db.tdb.transaction(() => {
          for (let i = from; i < Math.min(count, from + 50_000); i++) db.tdb.store(...recordAt(i));
        });
      }
    } finally { db.close(); }
  } finally { c.close(); }
}

/** Plants `keys` records on node `pnn` (dmaster = pnn), with data or empty. */
function plant(cl: LocalCluster, pnn: number, name: string, keys: number, empty: boolean): Promise<void> {
  return storeDirect(cl, pnn, name, keys, (i) => [
    Buffer.from(`${name}-n${pnn}-k${i}`),
    joinLtdb({ rsn: 1n, dmaster: pnn, flags: 0 }, empty ? Buffer.alloc(0) : Buffer.from(`value-${i}-padding-padding`)),
  ]);
}

/**
 * Plants `keys` deleted records on each node as if each node had deleted
 * records it held: empty, dmaster = that node; where another node is the
 * key's lmaster, that node gets the header-only copy pointing at the
 * dmaster that an lmaster always keeps (without it CTDB's lmaster believes
 * it is dmaster itself and its vacuum fetch never migrates the record).
 */
async function plantDeleted(cl: LocalCluster, name: string, keys: number): Promise<void> {
  const c0 = await CtdbClient.connect(sock(cl, 0));
  let map: number[];
  try { map = (await getVnnmap(c0, Pnn.CURRENT)).map; } finally { c0.close(); }
  const perNode = new Map<number, Array<[Buffer, number]>>([[0, []], [1, []], [2, []]]);
  for (const pnn of [0, 1, 2]) {
    for (let i = 0; i < keys; i++) {
      const key = Buffer.from(`${name}-n${pnn}-k${i}`);
      perNode.get(pnn)!.push([key, pnn]);
      const lm = map[jenkinsHash(key) % map.length]!;
      if (lm !== pnn) perNode.get(lm)!.push([key, pnn]);
    }
  }
  await Promise.all([0, 1, 2].map((pnn) => {
    const recs = perNode.get(pnn)!;
    return storeDirect(cl, pnn, name, recs.length, (i) => [recs[i]![0], joinLtdb({ rsn: 1n, dmaster: recs[i]![1], flags: 0 }, Buffer.alloc(0))]);
  }));
}

/** Every node in NORMAL mode on one generation (other than `not`), polled every 50 ms (the poll is part of the timing). */
const settled = (cl: LocalCluster, not?: number, timeoutMs = 600_000): Promise<boolean> => waitSettled(cl, [0, 1, 2], not, timeoutMs, 50);

async function generation(cl: LocalCluster): Promise<number> {
  const c = await CtdbClient.connect(sock(cl, 0));
  try { return (await getVnnmap(c, Pnn.CURRENT)).generation; } finally { c.close(); }
}

async function up(cl: LocalCluster, what: string): Promise<void> {
  cl.startAll();
  if (!await cl.waitAllOk(0, 120_000)) throw new Error(`${what} cluster did not come up`);
  // Start-up recoveries (and, on CTDB, its post-start-up hold-off) must be over.
  const g = await generation(cl);
  await new Promise((r) => setTimeout(r, 3000));
  if (!await settled(cl, undefined, 60_000) || await generation(cl) !== g) await settled(cl, undefined, 60_000);
}

async function recoveryTime(real: boolean, records: number, dbs: number, octet: number): Promise<number> {
  const cl = new LocalCluster({ nodes: 3, firstOctet: octet, real, tunables: TUNABLES });
  try {
    await up(cl, real ? 'real' : 'our');
    const per = Math.ceil(records / dbs / 3);
    for (let d = 0; d < dbs; d++) {
      const name = `bench${d}.tdb`;
      if (cl.ctdb(0, ['attach', name]).code !== 0) throw new Error(`attach ${name} failed`);
    }
    for (let d = 0; d < dbs; d++) await Promise.all([0, 1, 2].map((pnn) => plant(cl, pnn, `bench${d}.tdb`, per, false)));
    const before = await generation(cl);
    const t0 = performance.now();
    const r = await cl.ctdbAsync(0, ['recover'], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`recover failed (exit ${r.code}): ${r.stderr.trim() || 'no message'}`);
    if (!await settled(cl, before)) throw new Error('recovery did not settle');
    return performance.now() - t0;
  } finally { await cl.stop(); }
}

/**
 * Records left (any, deleted or not) in node `pnn`'s file of `name`, read
 * without locks (so the daemons are not held up); -1 when the walk met a
 * change in progress (try again).
 */
function leftIn(cl: LocalCluster, pnn: number, name: string): number {
  try {
    const t = TdbFile.open(join(cl.base(pnn), 'db/volatile', `${name}.${pnn}`), { tdbFlags: 4 /* TDB_NOLOCK */, openFlags: 0 });
    try { return t.traverse(() => {}, { readOnly: true }); } finally { t.close(); }
  } catch { return -1; }
}

/** Timer-driven vacuuming of `n` deleted records per node; ms until none is left anywhere. */
async function vacuumByTimer(real: boolean, n: number, octet: number): Promise<number> {
  // The interval is set from the start: CTDB re-arms its vacuum timer with the old value, so a later setvar would wait for it.
  const cl = new LocalCluster({ nodes: 3, firstOctet: octet, real, tunables: 'VacuumInterval=1\nVacuumFastPathCount=1\nRerecoveryTimeout=0\n' });
  try {
    await up(cl, real ? 'real' : 'our');
    if (cl.ctdb(0, ['attach', 'vbench.tdb']).code !== 0) throw new Error('attach failed');
    await plantDeleted(cl, 'vbench.tdb', n);
    const t0 = performance.now();
    const ok = await cl.waitFor(() => [0, 1, 2].every((pnn) => leftIn(cl, pnn, 'vbench.tdb') === 0), 300_000, 100);
    if (!ok) throw new Error(`deleted records still there: ${[0, 1, 2].map((p) => leftIn(cl, p, 'vbench.tdb')).join(',')}`);
    return performance.now() - t0;
  } finally { await cl.stop(); }
}

/** Ours: `ctdb vacuum DB` (full) of `n` deleted records per node. */
async function vacuumByCommand(n: number, octet: number): Promise<number> {
  const cl = new LocalCluster({ nodes: 3, firstOctet: octet, tunables: TUNABLES });
  try {
    await up(cl, 'our');
    cl.ctdb(0, ['attach', 'vbench.tdb']);
    await plantDeleted(cl, 'vbench.tdb', n);
    const t0 = performance.now();
    const r = await cl.ctdbAsync(0, ['vacuum', 'vbench.tdb'], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`vacuum failed: ${r.stderr}`);
    const left = [0, 1, 2].map((p) => leftIn(cl, p, 'vbench.tdb'));
    if (left.some((x) => x !== 0)) throw new Error(`ctdb vacuum left records: ${left.join(',')}`);
    return performance.now() - t0;
  } finally { await cl.stop(); }
}

const out = (s: string): void => { process.stdout.write(`${s}\n`); };
const fail = (err: unknown): string => (err instanceof Error ? err.message.split('\n')[0]! : String(err));

async function recoveryFigures(records: number, dbs: number): Promise<void> {
  const ours = await recoveryTime(false, records, dbs, 220);
  out(`recovery, ${records} records, 3 nodes, ${dbs} dbs: ours ${ours.toFixed(0)} ms`);
  if (!REAL) { out('real CTDB not installed (or BENCH_NO_REAL): no comparison'); return; }
  try {
    const real = await recoveryTime(true, records, dbs, 224);
    out(`recovery, ${records} records, 3 nodes, ${dbs} dbs: real CTDB ${real.toFixed(0)} ms; ours/real time = ${(ours / real).toFixed(2)} (below 1 = ours faster)`);
  } catch (err) { out(`real CTDB recovery run failed: ${fail(err)}`); }
}

const ONLY = process.env.BENCH_ONLY; // 'recovery' or 'vacuum'
if (ONLY !== 'vacuum') {
  await recoveryFigures(RECORDS, DBS);
  if (process.env.BENCH_RECOVERY_1M) await recoveryFigures(1_000_000, 10);
}
if (ONLY === 'recovery') process.exit(0);

const VN = Math.ceil(Math.min(RECORDS, 100_000) / 3);
const rate = (ms: number): string => `${(3 * VN / (ms / 1000)).toFixed(0)} records/s`;
const cmd = await vacuumByCommand(VN, 227);
out(`vacuum, ${3 * VN} deleted records on 3 nodes: ours, ctdb vacuum (full run) ${cmd.toFixed(0)} ms = ${rate(cmd)}`);
const oursTimer = await vacuumByTimer(false, VN, 220);
out(`vacuum, ${3 * VN} deleted records on 3 nodes: ours, VacuumInterval=1 timer ${oursTimer.toFixed(0)} ms = ${rate(oursTimer)}`);
if (REAL) {
  try {
    const realTimer = await vacuumByTimer(true, VN, 224);
    out(`vacuum, same workload: real CTDB, VacuumInterval=1 timer ${realTimer.toFixed(0)} ms = ${rate(realTimer)}; ours/real rate = ${(realTimer / oursTimer).toFixed(2)} (above 1 = ours faster)`);
  } catch (err) { out(`real CTDB vacuum run failed: ${fail(err)}`); }
}
