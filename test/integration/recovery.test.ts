import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbClient } from '../../src/client/client.js';
import { getPnn } from '../../src/client/controls.js';
import { ClusterDb, attachDb, type DbKindName } from '../../src/client/db.js';
import { DbFlag, Pnn, RecordFlag } from '../../src/protocol/constants.js';
import { joinLtdb, splitLtdb, type LtdbHeader } from '../../src/protocol/payloads.js';
import { DIST, LocalCluster } from '../harness/cluster.js';
import { waitSettled } from '../harness/settled.js';

/**
 * Database recovery on a 3-node local cluster (127.0.0.200–202): the leader's
 * ctdb_recovery_helper merges every node's copies (newest rsn / highest
 * seqnum wins), pushes them everywhere, and survives being killed and nodes
 * dying under it. Records are planted straight into each node's TDB, as if
 * they had migrated there, so every node holds different copies.
 */
const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb_recovery_helper.js'));

interface Rec { header: LtdbHeader; data: string }

describe.skipIf(!built)('database recovery (3 nodes)', () => {
  let cl: LocalCluster;
  const socket = (pnn: number): string => join(cl.base(pnn), 'run', 'ctdbd.socket');

  async function withDb<T>(pnn: number, name: string, kind: DbKindName, fn: (db: ClusterDb) => T | Promise<T>): Promise<T> {
    const c = await CtdbClient.connect(socket(pnn));
    try {
      c.pnn = await getPnn(c, Pnn.CURRENT);
      const id = await attachDb(c, Pnn.CURRENT, name, kind);
      const flags = kind === 'persistent' ? DbFlag.PERSISTENT : 0;
      const db = await ClusterDb.open(c, { id, name, flags });
      try { return await fn(db); } finally { db.close(); }
    } finally { c.close(); }
  }
  const plant = (pnn: number, name: string, recs: Array<[string, number, string]>, kind: DbKindName = 'volatile') =>
    withDb(pnn, name, kind, (db) => db.tdb.transaction(() => {
      for (const [k, rsn, v] of recs) db.tdb.store(Buffer.from(k), joinLtdb({ rsn: BigInt(rsn), dmaster: pnn, flags: 0 }, Buffer.from(v)));
    }));
  const dump = (pnn: number, name: string, kind: DbKindName = 'volatile') => withDb(pnn, name, kind, (db) => {
    const m = new Map<string, Rec>();
    db.tdb.traverse((k, v) => { const r = splitLtdb(v); m.set(k.toString('latin1'), { header: r.header, data: r.data.toString('latin1') }); }, { readOnly: true });
    return m;
  });
  const leader = (): number => Number(cl.ctdb(0, ['leader']).stdout.trim());

  /** Forces a recovery and waits until every live node is back in NORMAL mode on one new generation. */
  async function recover(nodes = [0, 1, 2]): Promise<void> {
    const r = await cl.ctdbAsync(nodes[0]!, ['recover'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await settled(nodes)).toBe(true);
  }
  const settled = (nodes: number[]): Promise<boolean> => waitSettled(cl, nodes, undefined, 90_000);

  beforeAll(async () => {
    cl = new LocalCluster({ nodes: 3, firstOctet: 200 });
    cl.startAll();
    expect(await cl.waitAllOk(0, 90_000)).toBe(true);
  }, 120_000);
  afterAll(async () => { await cl?.stop(); });

  it('merges a volatile database: newest rsn wins, deleted records stay deleted', async () => {
    expect(cl.ctdb(0, ['attach', 'recvol.tdb']).code).toBe(0);
    await plant(0, 'recvol.tdb', [['a', 5, 'from0'], ['c', 3, 'stale']]);
    await plant(1, 'recvol.tdb', [['a', 7, 'from1'], ['c', 9, '']]);
    await plant(2, 'recvol.tdb', [['b', 1, 'only2']]);
    await recover();
    const l = leader();
    for (const pnn of [0, 1, 2]) {
      const m = await dump(pnn, 'recvol.tdb');
      expect([...m.keys()].sort(), `node ${pnn}`).toEqual(['a', 'b']);
      expect(m.get('a')).toEqual({ header: { rsn: 7n, dmaster: l, flags: RecordFlag.MIGRATED_WITH_DATA }, data: 'from1' });
      expect(m.get('b')?.data).toBe('only2');
    }
    // The records are usable afterwards: a read through the daemon migrates and returns them.
    expect(cl.ctdb(2, ['readkey', 'recvol.tdb', 'a']).stdout).toBe('Data: size:5 ptr:[from1]\n');
  }, 120_000);

  it('persistent recovery takes the whole database of the node with the highest seqnum', async () => {
    expect(cl.ctdb(0, ['attach', 'recpers.tdb', 'persistent']).code).toBe(0);
    expect(cl.ctdb(0, ['pstore', 'recpers.tdb', 'k', 'v0']).code).toBe(0);
    const seq = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
    const plantP = (pnn: number, n: number, v: string, extra: string) => withDb(pnn, 'recpers.tdb', 'persistent', (db) => db.tdb.transaction(() => {
      const h = { rsn: BigInt(n), dmaster: pnn, flags: 0 };
      db.tdb.store(Buffer.from('__db_sequence_number__\0', 'latin1'), joinLtdb(h, seq(n)));
      db.tdb.store(Buffer.from('k'), joinLtdb(h, Buffer.from(v)));
      db.tdb.store(Buffer.from(extra), joinLtdb(h, Buffer.from('x')));
    }));
    await plantP(1, 3, 'older', 'only-on-1');
    await plantP(2, 5, 'newest', 'only-on-2');
    await recover();
    for (const pnn of [0, 1, 2]) {
      expect(cl.ctdb(pnn, ['pfetch', 'recpers.tdb', 'k']).stdout, `node ${pnn}`).toBe('newest\n');
      expect(cl.ctdb(pnn, ['getdbseqnum', 'recpers.tdb']).stdout).toBe('0x5\n');
      const m = await dump(pnn, 'recpers.tdb', 'persistent');
      expect(m.has('only-on-2')).toBe(true);
      expect(m.has('only-on-1')).toBe(false);
    }
  }, 120_000);

  const BIG = 7_000;
  const bigKeys = (pnn: number): Array<[string, number, string]> =>
    Array.from({ length: BIG }, (_, i) => [`n${pnn}-key-${i}`, 1 + (i % 5), `value-${pnn}-${i}-${'z'.repeat(i % 40)}`]);

  it(`recovers a large database (${3 * BIG} records) onto every node`, async () => {
    expect(cl.ctdb(0, ['attach', 'recbig.tdb']).code).toBe(0);
    for (const pnn of [0, 1, 2]) await plant(pnn, 'recbig.tdb', bigKeys(pnn));
    const t0 = Date.now();
    await recover();
    process.stderr.write(`recovery of ${3 * BIG} records: ${Date.now() - t0} ms\n`);
    for (const pnn of [0, 1, 2]) {
      const m = await dump(pnn, 'recbig.tdb');
      expect(m.size, `node ${pnn}`).toBe(3 * BIG);
      expect(m.get('n2-key-17')?.data).toBe(`value-2-17-${'z'.repeat(17)}`);
    }
  }, 180_000);

  it('a helper killed mid-recovery: the leader runs recovery again and nothing is lost', async () => {
    const l = leader();
    const pattern = `ctdb_recovery_helper.js - ${socket(l)}`;
    const rec = cl.ctdbAsync(l, ['recover'], { timeoutMs: 120_000 });
    let killed = 0;
    for (let i = 0; i < 400 && killed === 0; i++) {
      const r = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
      const pid = Number((r.stdout ?? '').trim().split('\n')[0]);
      if (pid > 0) { process.kill(pid, 'SIGKILL'); killed = pid; break; }
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(killed, 'the recovery helper was seen running').toBeGreaterThan(0);
    expect((await rec).code).toBe(0);
    expect(await settled([0, 1, 2])).toBe(true);
    for (const pnn of [0, 1, 2]) {
      expect((await dump(pnn, 'recbig.tdb')).size, `node ${pnn}`).toBe(3 * BIG);
      expect((await dump(pnn, 'recvol.tdb')).get('b')?.data).toBe('only2');
    }
  }, 180_000);

  it('recovery continues when a node dies during it; the node rejoins with every record', async () => {
    const victim = leader() === 2 ? 1 : 2;
    const live = [0, 1, 2].filter((p) => p !== victim);
    const rec = cl.ctdbAsync(live[0]!, ['recover'], { timeoutMs: 120_000 });
    await new Promise((res) => setTimeout(res, 150));
    await cl.kill(victim);
    await rec;
    expect(await settled(live)).toBe(true);
    for (const pnn of live) expect((await dump(pnn, 'recbig.tdb')).size).toBe(3 * BIG);
    cl.start(victim);
    expect(await cl.waitAllOk(live[0]!, 90_000)).toBe(true);
    expect(await settled([0, 1, 2])).toBe(true);
    // Its volatile files were wiped at start; recovery refilled them from the others.
    expect((await dump(victim, 'recbig.tdb')).size).toBe(3 * BIG);
  }, 240_000);
});
