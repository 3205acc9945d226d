import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbClient } from '../../src/client/client.js';
import { ClusterDb } from '../../src/client/db.js';
import { resolvePaths } from '../../src/common/paths.js';
import { DbFlag } from '../../src/protocol/constants.js';
import { dbIdForName } from '../../src/protocol/hash.js';
import { DIST, LocalCluster, type RunResult } from '../harness/cluster.js';

/**
 * Read-only delegations on a 3-node local cluster (127.0.0.150–152): two
 * nodes read a record of a READONLY database and keep read-only copies, a
 * third node writes, the copies are revoked and the readers see the new
 * value. Driven through `ctdb readkey … readonly`, `writekey`, `cattdb`,
 * `catdb`, `dbstatistics`, and the client's fetchReadonly.
 */
const built = existsSync(join(DIST, 'ctdbd.js'));
const haveReal = existsSync('/usr/bin/ctdb');

interface Rec { key: string; dmaster: number; rsn: bigint; flags: string; data: string }

/** Parses catdb/cattdb output into records (flags with their names). */
function parseDump(out: string): Rec[] {
  const recs: Rec[] = [];
  const re = /key\(\d+\) = "(.*)"\ndmaster: (\d+)\nrsn: (\d+)\nflags: ([^\n]*)\ndata\(\d+\) = "(.*)"\n\n/g;
  for (const m of out.matchAll(re)) recs.push({ key: m[1]!, dmaster: Number(m[2]), rsn: BigInt(m[3]!), flags: m[4]!, data: m[5]! });
  return recs;
}

describe.skipIf(!built)('read-only delegations (3 nodes)', () => {
  let c: LocalCluster;
  const ctdb = (pnn: number, args: string[], real = false): RunResult => c.ctdb(pnn, args, { real });
  const ok = (pnn: number, args: string[], real = false): string => {
    const r = ctdb(pnn, args, real);
    expect(r, `ctdb ${args.join(' ')} on node ${pnn}: ${r.stderr}`).toMatchObject({ code: 0 });
    return r.stdout;
  };
  const local = (pnn: number, key: string): Rec | undefined => parseDump(ok(pnn, ['cattdb', 'ro.tdb'])).find((r) => r.key === key);
  const stat = (pnn: number, name: string): number => {
    const m = new RegExp(`${name}\\s+(\\d+)`).exec(ok(pnn, ['dbstatistics', 'ro.tdb']));
    expect(m, `${name} in dbstatistics`).not.toBeNull();
    return Number(m![1]);
  };

  /** A counter of `ctdb statistics` (node-wide, every database). */
  const nodeStat = (pnn: number, name: string): number => {
    const m = new RegExp(`^ ${name}\\s+(\\d+)$`, 'm').exec(ok(pnn, ['statistics']));
    expect(m, `${name} in statistics`).not.toBeNull();
    return Number(m![1]);
  };

  beforeAll(async () => {
    c = new LocalCluster({ nodes: 3, firstOctet: 150 });
    c.startAll();
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
    ok(0, ['attach', 'ro.tdb']);
    ok(0, ['setdbreadonly', 'ro.tdb']);
  }, 120_000);
  afterAll(async () => { await c?.stop(); });

  it('setdbreadonly shows in getdbstatus and getdbmap on every node; persistent databases refuse it', () => {
    for (const pnn of [0, 1, 2]) {
      expect(ok(pnn, ['getdbstatus', 'ro.tdb'])).toContain('READONLY: yes\n');
      expect(ok(pnn, ['getdbmap'])).toMatch(/name:ro\.tdb path:\S+ READONLY\n/);
    }
    ok(0, ['attach', 'p.tdb', 'persistent']);
    const r = ctdb(0, ['setdbreadonly', 'p.tdb']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Cannot set READONLY on persistent database p.tdb');
    expect(ctdb(0, ['readkey', 'ro.tdb', 'k', 'sometimes'])).toMatchObject({ code: 1, stderr: "readkey: third argument must be 'readonly', got 'sometimes'\n" });
  });

  it('two nodes hold read-only copies, read them locally, a third node writes: copies revoked, new value read', async () => {
    ok(0, ['writekey', 'ro.tdb', 'k1', 'v1']);
    const rsn = local(0, 'k1')!.rsn;
    for (const pnn of [1, 2]) {
      expect(ok(pnn, ['readkey', 'ro.tdb', 'k1', 'readonly'])).toBe('Data: size:2 ptr:[v1]\n');
      expect(local(pnn, 'k1')).toMatchObject({ dmaster: 0, rsn, flags: '0x02000000 RO_HAVE_READONLY', data: 'v1' });
    }
    expect(local(0, 'k1')).toMatchObject({ dmaster: 0, rsn, data: 'v1' });
    expect(local(0, 'k1')!.flags).toContain('RO_HAVE_DELEGATIONS');
    // catdb shows the dmaster's copy with its delegation flag.
    const cat = parseDump(ok(1, ['catdb', 'ro.tdb'])).filter((r) => r.key === 'k1');
    expect(cat).toHaveLength(1);
    expect(cat[0]).toMatchObject({ dmaster: 0, data: 'v1' });
    expect(cat[0]!.flags).toContain('RO_HAVE_DELEGATIONS');
    expect(stat(0, 'db_ro_delegations')).toBe(2);
    expect(nodeStat(0, 'total_ro_delegations')).toBe(2);
    expect(nodeStat(0, 'total_ro_revokes')).toBe(0);

    // Repeated read-only reads on a delegate stay local: no call, no new delegation, nothing migrates.
    const cl = await CtdbClient.connect(resolvePaths(c.env(1)).socket);
    const db = await ClusterDb.open(cl, { id: dbIdForName('ro.tdb'), name: 'ro.tdb', flags: DbFlag.READONLY });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await db.fetchReadonly(Buffer.from('k1'));
        expect(r).toMatchObject({ local: true, data: Buffer.from('v1') });
      }
    } finally { db.close(); cl.close(); }
    expect(stat(0, 'db_ro_delegations')).toBe(2);
    expect(local(0, 'k1')!.dmaster).toBe(0);

    // A writer on node 2 (itself a delegate): revoke, then the record migrates to node 2.
    ok(2, ['writekey', 'ro.tdb', 'k1', 'v2']);
    expect(stat(0, 'db_ro_revokes')).toBe(1);
    expect(nodeStat(0, 'total_ro_revokes')).toBe(1);
    const w = local(2, 'k1')!;
    expect(w).toMatchObject({ dmaster: 2, data: 'v2' });
    expect(w.rsn).toBeGreaterThan(rsn + 1n);
    expect(w.flags).not.toContain('RO_');
    expect(local(1, 'k1')!.flags).not.toContain('RO_HAVE_READONLY');
    expect(local(0, 'k1')).toMatchObject({ dmaster: 2 });
    expect(local(0, 'k1')!.flags).not.toContain('RO_');

    // The former delegates read the new value (and hold fresh read-only copies of it).
    for (const pnn of [1, 0]) expect(ok(pnn, ['readkey', 'ro.tdb', 'k1', 'readonly'])).toBe('Data: size:2 ptr:[v2]\n');
    expect(local(1, 'k1')).toMatchObject({ dmaster: 2, flags: '0x02010000 MIGRATED_WITH_DATA RO_HAVE_READONLY', data: 'v2' });
    expect(stat(2, 'db_ro_delegations')).toBe(2);
    // A write on the dmaster itself revokes too; a plain readkey then migrates the record as before.
    ok(2, ['writekey', 'ro.tdb', 'k1', 'v3']);
    expect(stat(2, 'db_ro_revokes')).toBe(1);
    expect(nodeStat(2, 'total_ro_delegations')).toBe(2);
    expect(nodeStat(2, 'total_ro_revokes')).toBe(1);
    // statisticsreset clears the node counters; the per-database ones stay.
    ok(2, ['statisticsreset']);
    expect(nodeStat(2, 'total_ro_delegations')).toBe(0);
    expect(stat(2, 'db_ro_delegations')).toBe(2);
    expect(ok(1, ['readkey', 'ro.tdb', 'k1'])).toBe('Data: size:2 ptr:[v3]\n');
    expect(local(1, 'k1')).toMatchObject({ dmaster: 1, data: 'v3' });
  }, 120_000);

  it('a recovery drops every delegation: no read-only flags remain, and read-only reads work again after', async () => {
    ok(0, ['writekey', 'ro.tdb', 'k2', 'r1']);
    for (const pnn of [1, 2]) expect(ok(pnn, ['readkey', 'ro.tdb', 'k2', 'readonly'])).toBe('Data: size:2 ptr:[r1]\n');
    expect(local(1, 'k2')!.flags).toContain('RO_HAVE_READONLY');
    ok(0, ['recover']);
    expect(await c.waitFor(() => [0, 1, 2].every((p) => ctdb(p, ['status']).stdout.includes('Recovery mode:NORMAL (0)')), 30_000, 300)).toBe(true);
    for (const pnn of [0, 1, 2]) {
      const recs = parseDump(ok(pnn, ['cattdb', 'ro.tdb']));
      expect(recs.filter((r) => r.flags.includes('RO_')), `node ${pnn}`).toEqual([]);
    }
    // Recovery made the leader dmaster; another node reading gets a new read-only copy, and a write revokes it.
    const dm = local(0, 'k2')!.dmaster;
    const reader = dm === 1 ? 2 : 1;
    const writer = [0, 1, 2].find((p) => p !== dm && p !== reader)!;
    expect(ok(reader, ['readkey', 'ro.tdb', 'k2', 'readonly'])).toBe('Data: size:2 ptr:[r1]\n');
    expect(local(reader, 'k2')).toMatchObject({ dmaster: dm });
    expect(local(reader, 'k2')!.flags).toContain('RO_HAVE_READONLY');
    ok(writer, ['writekey', 'ro.tdb', 'k2', 'r2']);
    expect(local(reader, 'k2')!.flags).not.toContain('RO_HAVE_READONLY');
    expect(ok(reader, ['readkey', 'ro.tdb', 'k2', 'readonly'])).toBe('Data: size:2 ptr:[r2]\n');
  }, 120_000);

  it.skipIf(!haveReal)("Debian's ctdb reads through our delegations and its writes revoke them", () => {
    ok(0, ['writekey', 'ro.tdb', 'k3', 'd1']);
    const dm = local(0, 'k3')!.dmaster;
    const [a, b] = [0, 1, 2].filter((p) => p !== dm) as [number, number];
    expect(ok(a, ['readkey', 'ro.tdb', 'k3', 'readonly'], true)).toBe('Data: size:2 ptr:[d1]\n');
    expect(local(a, 'k3')!.flags).toContain('RO_HAVE_READONLY');
    const before = stat(dm, 'db_ro_delegations');
    expect(ok(a, ['readkey', 'ro.tdb', 'k3', 'readonly'], true)).toBe('Data: size:2 ptr:[d1]\n');
    expect(stat(dm, 'db_ro_delegations')).toBe(before); // read from the local copy
    ok(b, ['writekey', 'ro.tdb', 'k3', 'd2'], true);
    expect(local(a, 'k3')!.flags).not.toContain('RO_HAVE_READONLY');
    expect(ok(a, ['readkey', 'ro.tdb', 'k3', 'readonly'], true)).toBe('Data: size:2 ptr:[d2]\n');
    const cat = parseDump(ok(0, ['catdb', 'ro.tdb'], true)).find((r) => r.key === 'k3');
    expect(cat).toMatchObject({ dmaster: b, data: 'd2' });
    expect(cat!.flags).toContain('RO_HAVE_DELEGATIONS');
  }, 120_000);
});
