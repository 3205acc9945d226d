import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbClient } from '../../src/client/client.js';
import { getPnn, getVnnmap } from '../../src/client/controls.js';
import { ClusterDb, attachDb } from '../../src/client/db.js';
import { Pnn } from '../../src/protocol/constants.js';
import { joinLtdb, splitLtdb } from '../../src/protocol/payloads.js';
import { FAULTS_ENV } from '../../src/recovery/test-faults.js';
import { DIST, LocalCluster } from '../harness/cluster.js';
import { waitSettled } from '../harness/settled.js';

/**
 * Recovery and vacuuming under injected faults, on a 3-node local cluster
 * (127.0.0.213–215). Faults come from the test-only CTDB_TEST_FAULTS file
 * (src/recovery/test-faults.ts): a node that answers DB_PULL with garbage,
 * and a vacuum run held in the middle while a recovery changes the generation.
 */
const built = ['ctdbd.js', 'ctdb_vacuum.js', 'ctdb_recovery_helper.js'].every((f) => existsSync(join(DIST, f)));

describe.skipIf(!built)('recovery and vacuuming with injected faults (3 nodes)', () => {
  let cl: LocalCluster;
  let faults: string;
  const socket = (pnn: number): string => join(cl.base(pnn), 'run', 'ctdbd.socket');
  const setFaults = (text: string): void => { writeFileSync(faults, text); writeFileSync(`${faults}.fired`, ''); };
  const fired = (): string => { try { return readFileSync(`${faults}.fired`, 'utf8'); } catch { return ''; } };

  async function withDb<T>(pnn: number, name: string, fn: (db: ClusterDb) => T | Promise<T>): Promise<T> {
    const c = await CtdbClient.connect(socket(pnn));
    try {
      c.pnn = await getPnn(c, Pnn.CURRENT);
      const id = await attachDb(c, Pnn.CURRENT, name);
      const db = await ClusterDb.open(c, { id, name, flags: 0 });
      try { return await fn(db); } finally { db.close(); }
    } finally { c.close(); }
  }
  const plant = (pnn: number, name: string, recs: Array<[string, string]>) => withDb(pnn, name, (db) => db.tdb.transaction(() => {
    for (const [k, v] of recs) db.tdb.store(Buffer.from(k), joinLtdb({ rsn: 3n, dmaster: pnn, flags: 0 }, Buffer.from(v)));
  }));
  const dump = (pnn: number, name: string) => withDb(pnn, name, (db) => {
    const m = new Map<string, string>();
    db.tdb.traverse((k, v) => { m.set(k.toString(), splitLtdb(v).data.toString()); }, { readOnly: true });
    return m;
  });
  const leader = (): number => Number(cl.ctdb(0, ['leader']).stdout.trim());
  const generationOf = async (pnn: number): Promise<number> => {
    const c = await CtdbClient.connect(socket(pnn));
    try { return (await getVnnmap(c, Pnn.CURRENT, { timeoutMs: 5000 })).generation; } finally { c.close(); }
  };
  const settled = (nodes: number[], notGeneration?: number): Promise<boolean> => waitSettled(cl, nodes, notGeneration);
  const status = (pnn: number, of: number): string => cl.ctdb(pnn, ['nodestatus', String(of)]).stdout;

  beforeAll(async () => {
    cl = new LocalCluster({ nodes: 3, firstOctet: 213, tunables: 'VacuumInterval=0\nRecoveryBanPeriod=15\n' });
    faults = join(cl.dir, 'faults');
    setFaults('');
    const saved = process.env[FAULTS_ENV];
    process.env[FAULTS_ENV] = faults;
    try { cl.startAll(); } finally { if (saved === undefined) delete process.env[FAULTS_ENV]; else process.env[FAULTS_ENV] = saved; }
    expect(await cl.waitAllOk(0, 90_000)).toBe(true);
  }, 120_000);
  afterAll(async () => { await cl?.stop(); });

  it('a node that returns garbage for DB_PULL is blamed and banned; the other nodes keep their records', async () => {
    expect(cl.ctdb(0, ['attach', 'garbage.tdb']).code).toBe(0);
    const l = leader();
    const bad = l === 2 ? 1 : 2;
    const good = [0, 1, 2].filter((p) => p !== bad);
    for (const pnn of [0, 1, 2]) await plant(pnn, 'garbage.tdb', [[`only-${pnn}`, `v${pnn}`], ['shared', `s${pnn}`]]);
    setFaults(`pull-garbage pnn=${bad}\n`);
    const before = await generationOf(l);
    const rec = cl.ctdbAsync(good[0]!, ['recover'], { timeoutMs: 120_000 });
    expect(await cl.waitFor(() => status(l, bad).includes('BANNED'), 120_000), `node ${bad} banned`).toBe(true);
    await rec;
    expect(fired()).toContain(`pull-garbage pnn=${bad}`);
    // The recovery without the banned node completed on the others.
    expect(await settled(good, before)).toBe(true);
    const log = readFileSync(join(cl.base(l), 'log.ctdb'), 'utf8');
    expect(log).toMatch(new RegExp(`bad records[^\\n]*|"pnn":${bad}[^\\n]*ban credits given`));
    for (const pnn of good) {
      const m = await dump(pnn, 'garbage.tdb');
      for (const g of good) expect(m.get(`only-${g}`), `only-${g} on node ${pnn}`).toBe(`v${g}`);
      expect(m.has('shared'), `shared on node ${pnn}`).toBe(true);
    }
    // Fault cleared: after its ban the node is taken back and gets the records.
    setFaults('');
    expect(await cl.waitAllOk(good[0]!, 120_000)).toBe(true);
    expect(await settled([0, 1, 2])).toBe(true);
    const back = await dump(bad, 'garbage.tdb');
    for (const g of good) expect(back.get(`only-${g}`), `only-${g} on returned node ${bad}`).toBe(`v${g}`);
  }, 300_000);

  it('a vacuum run aborts cleanly when the generation changes in the middle of it', async () => {
    expect(cl.ctdb(0, ['attach', 'vacabort.tdb']).code).toBe(0);
    const live = ['live0', 'live1', 'live2'];
    const doomed = ['gone0', 'gone1', 'gone2', 'gone3'];
    for (const k of [...live, ...doomed]) {
      expect(cl.ctdb(0, ['writekey', 'vacabort.tdb', k, `v-${k}`]).code).toBe(0);
      expect(cl.ctdb(1, ['readkey', 'vacabort.tdb', k]).code).toBe(0);
      expect(cl.ctdb(2, ['readkey', 'vacabort.tdb', k]).code).toBe(0);
    }
    for (const k of doomed) expect(cl.ctdb(1, ['deletekey', 'vacabort.tdb', k]).code).toBe(0);
    setFaults('vacuum-stall 20000 pnn=1\n');
    const before = await generationOf(1);
    const run = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const p = spawn(process.execPath, [join(DIST, 'ctdb_vacuum.js'), '--fast', 'vacabort.tdb'], { env: cl.env(1), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = ''; let stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      const t = setTimeout(() => p.kill('SIGKILL'), 150_000);
      p.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    });
    // The run has chosen its candidates and waits: change the generation under it.
    expect(await cl.waitFor(() => fired().includes('vacuum-stall pnn=1'), 60_000), 'the vacuum run reached the stall').toBe(true);
    expect((await cl.ctdbAsync(0, ['recover'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(await settled([0, 1, 2], before)).toBe(true);
    const r = await run;
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr).toContain('vacuum of vacabort.tdb aborted: generation changed');
    expect(r.stdout).not.toContain('vacuumed');
    setFaults('');
    // Nothing half-deleted: every node agrees on every key, and live records keep their data.
    const maps = await Promise.all([0, 1, 2].map((p) => dump(p, 'vacabort.tdb')));
    for (const k of doomed) expect(new Set(maps.map((m) => m.has(k))).size, `${k} is on all nodes or none`).toBe(1);
    for (const k of live) for (const pnn of [0, 1, 2]) expect(maps[pnn]!.get(k) ?? cl.ctdb(pnn, ['readkey', 'vacabort.tdb', k]).stdout, `${k} on node ${pnn}`).toContain(`v-${k}`);
    for (const k of doomed) expect(cl.ctdb(2, ['readkey', 'vacabort.tdb', k]).stdout).toBe('Data: size:0 ptr:[]\n');
    // A later run (no fault) completes.
    const again = await cl.ctdbAsync(1, ['vacuum', 'vacabort.tdb'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect((await dump(0, 'vacabort.tdb')).get('live1')).toBe('v-live1');
  }, 300_000);

  it('vacuum of a missing database: one clear line naming it, non-zero exit (ctdb vacuum and ctdb_vacuum)', async () => {
    const r = cl.ctdb(0, ['vacuum', 'missing-db.tdb']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('missing-db.tdb');
    const h = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [join(DIST, 'ctdb_vacuum.js'), '--fast', 'missing-db.tdb'], { env: cl.env(0), stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(h.code).not.toBe(0);
    const lines = h.stderr.trim().split('\n').filter((x) => !x.startsWith('{'));
    expect(lines).toEqual(["ctdb_vacuum: No database matching 'missing-db.tdb' found"]);
  });
});
