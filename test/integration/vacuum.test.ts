import { TdbFile } from '../../src/db/tdb.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbClient } from '../../src/client/client.js';
import { getPnn } from '../../src/client/controls.js';
import { ClusterDb, attachDb } from '../../src/client/db.js';
import { writeAll } from '../../src/protocol/buffer.js';
import { Pnn } from '../../src/protocol/constants.js';
import { Opcode } from '../../src/protocol/opcodes.js';
import { encodeKeyData, splitLtdb, type LtdbHeader } from '../../src/protocol/payloads.js';
import { DIST, LocalCluster } from '../harness/cluster.js';

/**
 * Vacuuming on a 3-node local cluster (127.0.0.210–212): deleted records go
 * from every node (fast run from the delete queue, full run by traverse), a
 * locked record waits for the next run, and a node that was stopped while a
 * record was deleted cannot bring it back at recovery.
 */
const built = ['ctdbd.js', 'ctdb_vacuum.js', 'ctdb_recovery_helper.js'].every((f) => existsSync(join(DIST, f)));

describe.skipIf(!built)('vacuuming (3 nodes)', () => {
  let cl: LocalCluster;
  const socket = (pnn: number): string => join(cl.base(pnn), 'run', 'ctdbd.socket');
  const ok = (pnn: number, args: string[]): string => {
    const r = cl.ctdb(pnn, args);
    expect(r.code, `ctdb ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const okAsync = async (pnn: number, args: string[]): Promise<string> => {
    const r = await cl.ctdbAsync(pnn, args, { timeoutMs: 120_000 });
    expect(r.code, `ctdb ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  async function withDb<T>(pnn: number, fn: (db: ClusterDb, c: CtdbClient) => T | Promise<T>): Promise<T> {
    const c = await CtdbClient.connect(socket(pnn));
    try {
      c.pnn = await getPnn(c, Pnn.CURRENT);
      const id = await attachDb(c, Pnn.CURRENT, 'vac.tdb');
      const db = await ClusterDb.open(c, { id, name: 'vac.tdb', flags: 0 });
      try { return await fn(db, c); } finally { db.close(); }
    } finally { c.close(); }
  }
  /** Keys present in node `pnn`'s local file (with or without data). */
  const localKeys = (pnn: number): Promise<Map<string, { header: LtdbHeader; data: string }>> => withDb(pnn, (db) => {
    const m = new Map<string, { header: LtdbHeader; data: string }>();
    db.tdb.traverse((k, v) => { const r = splitLtdb(v); m.set(k.toString(), { header: r.header, data: r.data.toString() }); }, { readOnly: true });
    return m;
  });
  /**
   * Keys in node `pnn`'s file read without taking TDB locks: a stopped node
   * keeps its databases frozen (whole-database lock), so a locking read would wait.
   */
  const rawKeys = (pnn: number): Map<string, string> => {
    const t = TdbFile.open(join(cl.base(pnn), 'db/volatile', `vac.tdb.${pnn}`), { tdbFlags: 4 /* TDB_NOLOCK */, openFlags: 0 /* O_RDONLY */ });
    try {
      const m = new Map<string, string>();
      t.traverse((k, v) => { m.set(k.toString(), splitLtdb(v).data.toString()); }, { readOnly: true });
      return m;
    } finally { t.close(); }
  };
  const everywhere = async (pred: (m: Map<string, unknown>) => boolean): Promise<boolean[]> =>
    Promise.all([0, 1, 2].map(async (p) => pred(await localKeys(p))));

  beforeAll(async () => {
    cl = new LocalCluster({ nodes: 3, firstOctet: 210, tunables: 'VacuumInterval=0\n' });
    cl.startAll();
    expect(await cl.waitAllOk(0, 90_000)).toBe(true);
    ok(0, ['attach', 'vac.tdb']);
  }, 120_000);
  afterAll(async () => { await cl?.stop(); });

  /** Writes `keys` on node 0 and reads them on 1 and 2, so copies (with data) sit on every node. */
  function spread(keys: string[]): void {
    for (const k of keys) {
      ok(0, ['writekey', 'vac.tdb', k, `v-${k}`]);
      ok(1, ['readkey', 'vac.tdb', k]);
      ok(2, ['readkey', 'vac.tdb', k]);
    }
  }

  it('a full vacuum removes deleted records from every node and keeps the rest', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `full${i}`);
    spread(keys);
    for (const k of keys.slice(0, 5)) ok(1, ['deletekey', 'vac.tdb', k]);
    expect((await everywhere((m) => m.has('full0'))).some(Boolean)).toBe(true);
    await okAsync(0, ['vacuum', 'vac.tdb']);
    for (const pnn of [0, 1, 2]) {
      const m = await localKeys(pnn);
      for (const k of keys.slice(0, 5)) expect(m.has(k), `${k} on node ${pnn}`).toBe(false);
    }
    for (const k of keys.slice(5)) expect(ok(2, ['readkey', 'vac.tdb', k])).toBe(`Data: size:${k.length + 2} ptr:[v-${k}]\n`);
  }, 120_000);

  it('deletekey feeds the delete queue: one fast vacuum removes the record from every node', async () => {
    const keys = ['fast0', 'fast1', 'fast2', 'fast3'];
    spread(keys);
    for (const k of keys) ok(2, ['deletekey', 'vac.tdb', k]);
    // Deleted but not yet vacuumed: node 2 holds each record empty, as its dmaster.
    const before = await localKeys(2);
    for (const k of keys) expect(before.get(k)?.data, `${k} on node 2 before vacuuming`).toBe('');
    expect(before.get('fast0')?.header.dmaster).toBe(2);
    // A fast run does not traverse: only the delete queue can name these records.
    await okAsync(0, ['vacuum', 'vac.tdb', 'fast']);
    for (const pnn of [0, 1, 2]) {
      const m = await localKeys(pnn);
      for (const k of keys) expect(m.has(k), `${k} on node ${pnn}`).toBe(false);
    }
  }, 120_000);

  it('store rule: a deleted record migrated empty to another node is queued there and goes on a fast run', async () => {
    spread(['moved0', 'moved1']);
    for (const k of ['moved0', 'moved1']) ok(1, ['deletekey', 'vac.tdb', k]);
    // Node 0 takes the empty records over (it becomes dmaster of empty records: they go on its queue).
    for (const k of ['moved0', 'moved1']) expect(ok(0, ['readkey', 'vac.tdb', k])).toBe('Data: size:0 ptr:[]\n');
    expect((await localKeys(0)).get('moved0')?.header.dmaster).toBe(0);
    await okAsync(0, ['vacuum', 'vac.tdb', 'fast']);
    expect(await everywhere((m) => !m.has('moved0') && !m.has('moved1'))).toEqual([true, true, true]);
  }, 120_000);

  it('a locked record survives a vacuum run and goes on the next one', async () => {
    spread(['locked']);
    ok(1, ['deletekey', 'vac.tdb', 'locked']);
    const key = Buffer.from('locked');
    await withDb(1, async (db) => {
      expect(db.tdb.chainLock(key, { nonblock: true })).toBe(true);
      try {
        // A fast run (a full run's traverse would wait for the lock, as CTDB's does).
        await okAsync(0, ['vacuum', 'vac.tdb', 'fast']);
        const v = db.tdb.fetch(key);
        expect(v?.length, 'the deleted record is still on its dmaster').toBe(24);
      } finally { db.tdb.chainUnlock(key); }
    });
    // The record went back on the delete queue: the next fast run takes it.
    await okAsync(0, ['vacuum', 'vac.tdb', 'fast']);
    expect(await everywhere((m) => !m.has('locked'))).toEqual([true, true, true]);
  }, 180_000);

  it('no resurrection: a record deleted and vacuumed while a node was stopped stays deleted when it returns', async () => {
    spread(['zombie']);
    ok(2, ['writekey', 'vac.tdb', 'zombie', 'last-write-on-2']);
    ok(2, ['stop']);
    expect(await cl.waitFor(() => cl.ctdb(0, ['nodestatus', '2']).stdout.includes('STOPPED'), 30_000)).toBe(true);
    expect(await cl.waitFor(() => cl.ctdb(0, ['status']).stdout.includes('Recovery mode:NORMAL'), 60_000)).toBe(true);
    ok(0, ['deletekey', 'vac.tdb', 'zombie']);
    await okAsync(0, ['vacuum', 'vac.tdb']);
    expect(rawKeys(2).get('zombie'), 'the stopped node still holds its copy').toBe('last-write-on-2');
    ok(2, ['continue']);
    expect(await cl.waitAllOk(0, 90_000)).toBe(true);
    expect(await cl.waitFor(async () => (await cl.ctdbAsync(0, ['status'])).stdout.includes('Recovery mode:NORMAL'), 60_000)).toBe(true);
    for (const pnn of [0, 1, 2]) expect(ok(pnn, ['readkey', 'vac.tdb', 'zombie']), `node ${pnn}`).toBe('Data: size:0 ptr:[]\n');
    expect(ok(0, ['catdb', 'vac.tdb'])).not.toContain('zombie');
  }, 240_000);

  it('vacuum of a missing database fails with a clear error and non-zero exit', () => {
    const r = cl.ctdb(0, ['vacuum', 'nosuch.tdb']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("No database matching 'nosuch.tdb' found");
    const h = spawnSync(process.execPath, [join(DIST, 'ctdb_vacuum.js'), 'nosuch.tdb'], { env: cl.env(0), encoding: 'utf8' });
    expect(h.status).not.toBe(0);
    expect(h.stderr).toContain("ctdb_vacuum: No database matching 'nosuch.tdb' found");
    const p = cl.ctdb(0, ['attach', 'vacpers.tdb', 'persistent']);
    expect(p.code).toBe(0);
    const rp = cl.ctdb(0, ['vacuum', 'vacpers.tdb']);
    expect(rp.code).not.toBe(0);
    expect(rp.stderr).toContain('not volatile');
  });
});
