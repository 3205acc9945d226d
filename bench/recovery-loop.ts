/**
 * Responsiveness of ctdbd during the recovery of one big volatile database:
 * while `ctdb recover` runs, every node is pinged (PING control over its
 * Unix socket) every 20 ms; the slowest answer bounds how long a daemon's
 * event loop was blocked (a blocked loop also delays keepalives).
 * Run: npm run build && npx tsx bench/recovery-loop.ts [RECORDS]
 */
import { join } from 'node:path';
import { CtdbClient } from '../src/client/client.js';
import { getPnn, getVnnmap, getRecmode } from '../src/client/controls.js';
import { ClusterDb, attachDb } from '../src/client/db.js';
import { Opcode } from '../src/protocol/opcodes.js';
import { Pnn, RecMode } from '../src/protocol/constants.js';
import { joinLtdb } from '../src/protocol/payloads.js';
import { LocalCluster } from '../test/harness/cluster.js';

const RECORDS = Number(process.argv[2] ?? process.env.BENCH_LOOP_RECORDS ?? 300_000);

const sock = (cl: LocalCluster, pnn: number): string => join(cl.base(pnn), 'run', 'ctdbd.socket');

async function plant(cl: LocalCluster, pnn: number, name: string, keys: number): Promise<void> {
  const c = await CtdbClient.connect(sock(cl, pnn));
  try {
    c.pnn = await getPnn(c, Pnn.CURRENT);
    const id = await attachDb(c, Pnn.CURRENT, name);
    const db = await ClusterDb.open(c, { id, name, flags: 0 });
    for (let from = 0; from < keys; from += 50_000) {
      db.tdb.transaction(() => {
        for (let i = from; i < Math.min(keys, from + 50_000); i++) {
          db.tdb.store(Buffer.from(`${name}-n${pnn}-k${i}`), joinLtdb({ rsn: 1n, dmaster: pnn, flags: 0 }, Buffer.from(`value-${i}-padding-padding`)));
        }
      });
    }
    db.close();
  } finally { c.close(); }
}

export interface LoopFigures { records: number; recoveryMs: number; pings: number; maxMs: number; p99Ms: number; medianMs: number }

/** Recovers one DB of `records` records (spread over 3 nodes) while pinging every node; returns the figures. */
export async function measureLoop(records: number, octet: number): Promise<LoopFigures> {
  const cl = new LocalCluster({ nodes: 3, firstOctet: octet, tunables: 'VacuumInterval=0\n' });
  const clients: CtdbClient[] = [];
  try {
    cl.startAll();
    if (!await cl.waitAllOk(0, 120_000)) throw new Error('cluster did not come up');
    if (cl.ctdb(0, ['attach', 'loop.tdb']).code !== 0) throw new Error('attach failed');
    const per = Math.ceil(records / 3);
    await Promise.all([0, 1, 2].map((pnn) => plant(cl, pnn, 'loop.tdb', per)));
    for (const pnn of [0, 1, 2]) clients.push(await CtdbClient.connect(sock(cl, pnn)));
    const before = (await getVnnmap(clients[0]!, Pnn.CURRENT)).generation;
    const rtts: number[] = [];
    let stop = false;
    const pinger = async (c: CtdbClient): Promise<void> => {
      while (!stop) {
        const t = performance.now();
        await c.control(Pnn.CURRENT, Opcode.PING, Buffer.alloc(0), { timeoutMs: 60_000 });
        rtts.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const pingers = clients.map((c) => pinger(c));
    const t0 = performance.now();
    const rec = await cl.ctdbAsync(0, ['recover'], { timeoutMs: 600_000 });
    if (rec.code !== 0) throw new Error(`recover failed: ${rec.stderr}`);
    const ok = await cl.waitFor(async () => {
      for (const c of clients) {
        if (await getRecmode(c, Pnn.CURRENT) !== RecMode.NORMAL) return false;
        if ((await getVnnmap(c, Pnn.CURRENT)).generation === before) return false;
      }
      return true;
    }, 600_000, 50);
    const recoveryMs = performance.now() - t0;
    stop = true;
    await Promise.all(pingers);
    if (!ok) throw new Error('recovery did not settle');
    rtts.sort((a, b) => a - b);
    return {
      records, recoveryMs, pings: rtts.length, maxMs: rtts[rtts.length - 1] ?? 0,
      p99Ms: rtts[Math.floor(rtts.length * 0.99)] ?? 0, medianMs: rtts[Math.floor(rtts.length / 2)] ?? 0,
    };
  } finally {
    for (const c of clients) c.close();
    await cl.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await measureLoop(RECORDS, 216);
  process.stdout.write(`recovery of 1 db, ${f.records} records, 3 nodes: ${f.recoveryMs.toFixed(0)} ms; ` +
    `ctdbd PING during it: ${f.pings} pings, median ${f.medianMs.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(1)} ms\n`);
}
