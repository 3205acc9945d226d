import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TdbFile, robustMutexesSupported } from '../../src/db/tdb.js';
import { volatileOpenFlags } from '../../src/db/tdb-flags.js';
import { CtdbClient } from '../../src/client/client.js';
import { getPnn, registerSrvid } from '../../src/client/controls.js';
import { ClusterDb, persistentTransaction } from '../../src/client/db.js';
import { resolvePaths } from '../../src/common/paths.js';
import { Reader, writeAll } from '../../src/protocol/buffer.js';
import { CallId, Operation, Pnn } from '../../src/protocol/constants.js';
import { dbIdForName } from '../../src/protocol/hash.js';
import { Opcode } from '../../src/protocol/opcodes.js';
import { decodeRecBuffer, decodeRecData, encodePulldbExt, encodeTraverseStart } from '../../src/protocol/payloads.js';
import { DIST, LocalCluster, type RunResult } from '../harness/cluster.js';

/**
 * Clustered databases on a 3-node local cluster (127.0.0.46–48): attach and
 * dbmap controls, volatile record migration, persistent transactions, backup
 * and restore — driven through our `ctdb` and, where installed, Debian's.
 */
const haveReal = existsSync('/usr/bin/ctdb');
const built = existsSync(join(DIST, 'ctdbd.js'));
const hasTool = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;

interface Rec { key: string; dmaster: number; rsn: bigint; flags: string; data: string }

/** Parses catdb/cattdb output into records. */
function parseDump(out: string): Rec[] {
  const recs: Rec[] = [];
  const re = /key\(\d+\) = "(.*)"\ndmaster: (\d+)\nrsn: (\d+)\nflags: (\S+)[^\n]*\ndata\(\d+\) = "(.*)"\n\n/g;
  for (const m of out.matchAll(re)) recs.push({ key: m[1]!, dmaster: Number(m[2]), rsn: BigInt(m[3]!), flags: m[4]!, data: m[5]! });
  return recs;
}

describe.skipIf(!built)('clustered databases (3 nodes)', () => {
  let c: LocalCluster;
  const ctdb = (pnn: number, args: string[], opts: { real?: boolean; input?: string } = {}): RunResult => c.ctdb(pnn, args, opts);
  const ok = (pnn: number, args: string[], opts: { real?: boolean; input?: string } = {}): string => {
    const r = ctdb(pnn, args, opts);
    expect(r, `ctdb ${args.join(' ')}: ${r.stderr}`).toMatchObject({ code: 0 });
    return r.stdout;
  };

  beforeAll(async () => {
    c = new LocalCluster({ nodes: 3, firstOctet: 46 });
    c.startAll();
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
    ok(0, ['attach', 'vol.tdb']);
    ok(0, ['attach', 'pers.tdb', 'persistent']);
  });
  afterAll(async () => { await c?.stop(); });

  it('attaches on every node with the same id, newest first in the dbmap', () => {
    for (const pnn of [0, 1, 2]) {
      const out = ok(pnn, ['getdbmap']);
      expect(out).toMatch(/^Number of databases:2\n/);
      expect(out).toContain(`dbid:0x3880c3f1 name:pers.tdb path:${c.base(pnn)}/db/persistent/pers.tdb.${pnn} PERSISTENT\n`);
      expect(out.indexOf('pers.tdb')).toBeLessThan(out.indexOf('vol.tdb'));
    }
    // Re-attach returns the same database; a conflicting kind is refused.
    ok(1, ['attach', 'vol.tdb']);
    expect(ok(1, ['getdbmap'])).toMatch(/^Number of databases:2\n/);
    const bad = ctdb(1, ['attach', 'vol.tdb', 'persistent']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('already attached as volatile');
    expect(ctdb(0, ['getdbstatus', 'nosuch.tdb'])).toMatchObject({ code: 1, stderr: "No database matching 'nosuch.tdb' found\n" });
  });

  it.skipIf(!haveReal)("matches Debian's tool on the db listing commands", () => {
    for (const args of [['getdbmap'], ['-X', 'getdbmap'], ['getdbstatus', 'vol.tdb'], ['getdbstatus', '0x3880c3f1'],
      ['getdbseqnum', 'pers.tdb'], ['dbstatistics', 'vol.tdb'], ['getdbstatus', 'nosuch.tdb']]) {
      const ours = ctdb(1, args); const real = ctdb(1, args, { real: true });
      expect({ code: ours.code, out: ours.stdout, err: ours.stderr }, args.join(' '))
        .toEqual({ code: real.code, out: real.stdout, err: real.stderr });
    }
  });

  it('migrates a record between nodes; every write bumps its rsn', () => {
    ok(0, ['writekey', 'vol.tdb', 'k1', 'v1']);
    expect(ok(1, ['readkey', 'vol.tdb', 'k1'])).toBe('Data: size:2 ptr:[v1]\n');
    ok(2, ['writekey', 'vol.tdb', 'k1', 'v2']);
    expect(ok(0, ['readkey', 'vol.tdb', 'k1'])).toBe('Data: size:2 ptr:[v2]\n');
    const recs = parseDump(ok(1, ['catdb', 'vol.tdb'])).filter((r) => r.key === 'k1');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ dmaster: 0, data: 'v2', flags: '0x00010000' });
    expect(recs[0]!.rsn).toBeGreaterThanOrEqual(3n);
    // The node the record left keeps a stale copy that points at the new dmaster.
    const local2 = parseDump(ok(2, ['cattdb', 'vol.tdb'])).find((r) => r.key === 'k1');
    expect(local2?.dmaster).not.toBe(2);
    ok(1, ['deletekey', 'vol.tdb', 'k1']);
    expect(ok(2, ['readkey', 'vol.tdb', 'k1'])).toBe('Data: size:0 ptr:[]\n');
    expect(parseDump(ok(0, ['catdb', 'vol.tdb'])).some((r) => r.key === 'k1')).toBe(false);
  });

  it('concurrent writers on every node: one copy per key, last write wins with the highest rsn', async () => {
    const keys = ['c1', 'c2', 'c3', 'c4'];
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const runs = [0, 1, 2].flatMap((pnn) => keys.map((k) => c.ctdbAsync(pnn, ['writekey', 'vol.tdb', k, `n${pnn}r${round}`])));
      const results = await Promise.all(runs);
      for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    }
    const recs = parseDump(ok(0, ['catdb', 'vol.tdb']));
    for (const k of keys) {
      const mine = recs.filter((r) => r.key === k);
      expect(mine, k).toHaveLength(1);
      // Each of the 9 writes bumped the rsn once and each migration once more.
      expect(mine[0]!.rsn).toBeGreaterThanOrEqual(BigInt(3 * rounds));
      expect(mine[0]!.data).toMatch(new RegExp(`^n[012]r${rounds - 1}$`));
      // The dmaster's local copy is the one catdb reported.
      const local = parseDump(ok(mine[0]!.dmaster, ['cattdb', 'vol.tdb'])).find((r) => r.key === k);
      expect(local).toEqual(mine[0]);
    }
    // A write after the storm is seen by every node, with a higher rsn.
    const before = recs.find((r) => r.key === 'c1')!.rsn;
    ok(1, ['writekey', 'vol.tdb', 'c1', 'final']);
    for (const pnn of [0, 1, 2]) expect(ok(pnn, ['readkey', 'vol.tdb', 'c1'])).toBe('Data: size:5 ptr:[final]\n');
    expect(parseDump(ok(2, ['catdb', 'vol.tdb'])).find((r) => r.key === 'c1')!.rsn).toBeGreaterThan(before);
  });

  it('a hot key fetched around the ring keeps a low hopcount', async () => {
    for (let i = 0; i < 4; i++) {
      // Two writers per step race for the key, so requests meet migrations in flight.
      const step = await Promise.all([c.ctdbAsync(i % 3, ['writekey', 'vol.tdb', 'hot', `h${i}`]), c.ctdbAsync((i + 1) % 3, ['readkey', 'vol.tdb', 'hot'])]);
      for (const r of step) expect(r.code, r.stderr).toBe(0);
    }
    for (const pnn of [0, 1, 2]) {
      const m = /hop_count_buckets:((?: \d+)+)/.exec(ok(pnn, ['dbstatistics', 'vol.tdb']));
      const buckets = m![1]!.trim().split(' ').map(Number);
      // Bucket b counts requests that needed about 2^(b-1) hops: nothing beyond 3 hops.
      expect(buckets.slice(3).every((b) => b === 0), `node ${pnn}: ${buckets.join(' ')}`).toBe(true);
    }
  });

  it.skipIf(!haveReal)("Debian's tool reads, writes and dumps records held by our daemons", () => {
    ok(2, ['writekey', 'vol.tdb', 'rk', 'from-real'], { real: true });
    expect(ok(0, ['readkey', 'vol.tdb', 'rk'])).toBe('Data: size:9 ptr:[from-real]\n');
    expect(ok(1, ['readkey', 'vol.tdb', 'rk'], { real: true })).toBe('Data: size:9 ptr:[from-real]\n');
    ok(0, ['writekey', 'vol.tdb', 'rk2', 'ours']);
    // Records from different nodes arrive in any order: compare the sets and the totals.
    const sorted = (out: string) => parseDump(out).sort((a, b) => a.key.localeCompare(b.key));
    const realOut = ok(0, ['catdb', 'vol.tdb'], { real: true });
    const ourOut = ok(0, ['catdb', 'vol.tdb']);
    expect(sorted(realOut)).toEqual(sorted(ourOut));
    expect(realOut.split('\n').slice(-2)).toEqual(ourOut.split('\n').slice(-2));
    expect(ok(1, ['cattdb', 'vol.tdb'], { real: true })).toBe(ok(1, ['cattdb', 'vol.tdb']));
  });

  it('DB_PULL streams a node\'s records; TRAVERSE_START (as smbstatus sends it) ends with an empty record; bad db ids fail cleanly', async () => {
    ok(0, ['writekey', 'vol.tdb', 'pull1', 'a']);
    ok(2, ['writekey', 'vol.tdb', 'pull2', 'b']);
    const cl = await CtdbClient.connect(resolvePaths(c.env(1)).socket);
    try {
      cl.pnn = await getPnn(cl, Pnn.CURRENT);
      const id = dbIdForName('vol.tdb');
      // Pull node 2's copy to a srvid of ours.
      const pulled: string[] = [];
      const srvid = 0xF001000000000042n;
      cl.onMessage(srvid, (_s, data) => { for (const r of decodeRecBuffer(new Reader(data)).records) pulled.push(r.key.toString()); });
      await registerSrvid(cl, srvid);
      // As the recovery helper does: pull from a frozen database.
      const idBuf = Buffer.alloc(4); idBuf.writeUInt32LE(id);
      expect((await cl.control(2, Opcode.DB_FREEZE, idBuf)).status).toBe(0);
      const pull = await cl.control(2, Opcode.DB_PULL, writeAll(encodePulldbExt, { dbId: id, lmaster: 0xFFFFFFFF, srvid }));
      expect((await cl.control(2, Opcode.DB_THAW, idBuf)).status).toBe(0);
      expect(pull.status).toBe(0);
      await c.waitFor(() => pulled.length >= new Reader(pull.data).u32(), 5000, 20);
      expect(pulled.length).toBe(new Reader(pull.data).u32());
      expect(pulled).toContain('pull2');
      // A plain traverse to a random srvid.
      const tsrvid = 0x1234567890ABCDEFn;
      const seen: string[] = [];
      let ended = false;
      cl.onMessage(tsrvid, (_s, data) => {
        const r = decodeRecData(new Reader(data));
        if (r.key.length === 0 && r.data.length === 0) ended = true; else seen.push(r.key.toString());
      });
      await registerSrvid(cl, tsrvid);
      const t = await cl.control(Pnn.CURRENT, Opcode.TRAVERSE_START, writeAll(encodeTraverseStart, { dbId: id, reqid: 1, srvid: tsrvid }));
      expect(t.status).toBe(0);
      expect(await c.waitFor(() => ended, 10_000, 20)).toBe(true);
      expect(seen).toEqual(expect.arrayContaining(['pull1', 'pull2']));
      // Unknown db ids: controls fail, a call gets a failing REPLY_CALL.
      const bad = Buffer.alloc(4); bad.writeUInt32LE(0xdeadbeef);
      expect((await cl.control(Pnn.CURRENT, Opcode.GETDBPATH, bad)).status).toBe(-1);
      expect((await cl.control(Pnn.CURRENT, Opcode.GET_DB_STATISTICS, bad)).status).toBe(-1);
      const reply = await cl.request((reqid) => ({
        operation: Operation.REQ_CALL, generation: 0, destnode: Pnn.CURRENT, srcnode: cl.pnn, reqid,
        flags: 1, dbId: 0xdeadbeef, callId: CallId.NULL_FUNC, hopcount: 0, key: Buffer.from('k'), callData: Buffer.alloc(0),
      }));
      expect(reply).toMatchObject({ operation: Operation.REPLY_CALL, status: -1 });
    } finally { cl.close(); }
  });

  it('persistent transactions reach every node and bump the sequence number', async () => {
    const seq0 = BigInt(ok(0, ['getdbseqnum', 'pers.tdb']).trim());
    ok(0, ['pstore', 'pers.tdb', 'key1', 'value1']);
    ok(1, ['ptrans', 'pers.tdb'], { input: '"key2" "value2"\n  "key3"  "0x414243"\n"key1" ""\n' });
    for (const pnn of [0, 1, 2]) {
      expect(ok(pnn, ['pfetch', 'pers.tdb', 'key2'])).toBe('value2\n');
      expect(ok(pnn, ['pfetch', 'pers.tdb', 'key3'])).toBe('ABC\n');
      expect(ok(pnn, ['pfetch', 'pers.tdb', 'key1'])).toBe('\n');
      expect(BigInt(ok(pnn, ['getdbseqnum', 'pers.tdb']).trim())).toBe(seq0 + 2n);
    }
    // A FETCH call on a persistent database reads the local copy; nothing migrates.
    const cl = await CtdbClient.connect(resolvePaths(c.env(2)).socket);
    try {
      cl.pnn = await getPnn(cl, Pnn.CURRENT);
      const reply = await cl.request((reqid) => ({
        operation: Operation.REQ_CALL, generation: 0, destnode: Pnn.CURRENT, srcnode: cl.pnn, reqid,
        flags: 0, dbId: dbIdForName('pers.tdb'), callId: CallId.FETCH_FUNC, hopcount: 0, key: Buffer.from('key2'), callData: Buffer.alloc(0),
      }));
      expect(reply).toMatchObject({ operation: Operation.REPLY_CALL, status: 0, data: Buffer.from('value2') });
    } finally { cl.close(); }
    ok(2, ['pdelete', 'pers.tdb', 'key3']);
    expect(ok(0, ['pfetch', 'pers.tdb', 'key3'])).toBe('\n');
    expect(parseDump(ok(1, ['catdb', 'pers.tdb'])).map((r) => r.key).sort()).toEqual(['key2']);
  });

  it('concurrent persistent transactions from every node are serialised: no sequence number is lost', async () => {
    const seq0 = BigInt(ok(0, ['getdbseqnum', 'pers.tdb']).trim());
    const runs = [0, 1, 2].flatMap((pnn) => [0, 1, 2, 3].map((i) => c.ctdbAsync(pnn, ['pstore', 'pers.tdb', `cc-${pnn}-${i}`, `v${i}`])));
    for (const r of await Promise.all(runs)) expect(r.code, r.stderr).toBe(0);
    for (const pnn of [0, 1, 2]) {
      expect(BigInt(ok(pnn, ['getdbseqnum', 'pers.tdb']).trim())).toBe(seq0 + 12n);
      const keys = parseDump(ok(pnn, ['cattdb', 'pers.tdb'])).map((r) => r.key).filter((k) => k.startsWith('cc-'));
      expect(keys.sort()).toEqual([0, 1, 2].flatMap((p) => [0, 1, 2, 3].map((i) => `cc-${p}-${i}`)).sort());
    }
  });

  it('read-modify-write transactions racing from three nodes lose no update', async () => {
    const clients = await Promise.all([0, 1, 2].map(async (pnn) => {
      const cl = await CtdbClient.connect(resolvePaths(c.env(pnn)).socket);
      cl.pnn = await getPnn(cl, Pnn.CURRENT);
      return cl;
    }));
    const dbs = await Promise.all(clients.map((cl) => ClusterDb.open(cl, { id: dbIdForName('pers.tdb'), name: 'pers.tdb', flags: 1 })));
    try {
      const key = Buffer.from('counter');
      const bump = async (i: number): Promise<void> => {
        for (let n = 0; n < 10; n++) {
          await persistentTransaction(clients[i]!, dbs[i]!, async (read) => {
            const v = Number(read(key)?.toString() ?? '0');
            await new Promise((r) => setImmediate(r)); // widen the window between read and commit
            return [{ key, data: Buffer.from(String(v + 1)) }];
          });
        }
      };
      await Promise.all([0, 1, 2].map(bump));
      for (const pnn of [0, 1, 2]) expect(ok(pnn, ['pfetch', 'pers.tdb', 'counter'])).toBe('30\n');
    } finally {
      dbs.forEach((d) => d.close());
      clients.forEach((cl) => cl.close());
    }
  });

  it('a malformed ptrans batch names the line and commits nothing', () => {
    const seq = ok(0, ['getdbseqnum', 'pers.tdb']);
    const r = ctdb(0, ['ptrans', 'pers.tdb'], { input: '"good" "1"\n\n"bad line\n"also" "2"\n' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('line 3');
    expect(ok(0, ['pfetch', 'pers.tdb', 'good'])).toBe('\n');
    expect(ok(0, ['getdbseqnum', 'pers.tdb'])).toBe(seq);
    const big = ctdb(0, ['pstore', 'pers.tdb', 'k'.repeat(70_000), 'v']);
    expect(big.code).not.toBe(0);
    expect(big.stderr).toContain('larger than');
  });

  it.skipIf(!haveReal)("Debian's pstore/pfetch interoperate with ours", () => {
    ok(2, ['pstore', 'pers.tdb', 'realkey', 'realvalue'], { real: true });
    expect(ok(0, ['pfetch', 'pers.tdb', 'realkey'])).toBe('realvalue\n');
    ok(0, ['pstore', 'pers.tdb', 'ourkey', 'ourvalue']);
    expect(ok(1, ['pfetch', 'pers.tdb', 'ourkey'], { real: true })).toBe('ourvalue\n');
    expect(ok(1, ['getdbseqnum', 'pers.tdb'], { real: true })).toBe(ok(1, ['getdbseqnum', 'pers.tdb']));
  });

  it('tstore and tfetch give raw access to a TDB file with its record header', () => {
    const file = join(c.dir, 'raw.tdb');
    ok(0, ['tstore', file, 'k', 'data', '5', '1', '65536']);
    const out = ok(0, ['tfetch', file, 'k']);
    expect(out).toBe('dmaster: 1\nrsn: 5\nflags: 0x00010000 MIGRATED_WITH_DATA\ndata(4) = "data"\n');
    if (haveReal) expect(ok(0, ['tfetch', file, 'k'], { real: true })).toBe(out);
    expect(ctdb(0, ['tfetch', join(c.dir, 'missing.tdb'), 'k'])).toMatchObject({ code: 1, stderr: `Failed to open TDB file ${join(c.dir, 'missing.tdb')}\n` });
  });

  it('backupdb, wipedb, restoredb and dumpdbbackup round-trip a database', () => {
    const file = join(c.dir, 'pers.backup');
    const before = ok(0, ['cattdb', 'pers.tdb']);
    expect(ok(0, ['backupdb', 'pers.tdb', file])).toBe(`Database backed up to ${file}\n`);
    expect(ok(1, ['wipedb', 'pers.tdb'])).toBe('Database pers.tdb wiped\n');
    for (const pnn of [0, 1, 2]) expect(ok(pnn, ['cattdb', 'pers.tdb'])).toBe('Dumped 0 record(s)\n');
    expect(ok(2, ['restoredb', file])).toMatch(/^Restoring database pers.tdb from backup @ \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\nDatabase pers.tdb restored\n$/);
    for (const pnn of [0, 1, 2]) expect(ok(pnn, ['cattdb', 'pers.tdb'])).toBe(before);
    const dump = ok(0, ['dumpdbbackup', file]);
    if (haveReal) expect(dump).toBe(ok(0, ['dumpdbbackup', file], { real: true }));
    expect(dump).toContain(`Dumped ${parseDump(before).length} record(s)\n`);
  });

  it('a client holding a record lock fails only its own node\'s freeze; nobody is banned', async () => {
    ok(0, ['writekey', 'vol.tdb', 'held', 'x']);
    const path = join(c.base(0), 'db/volatile/vol.tdb.0');
    const tdb = TdbFile.open(path, { tdbFlags: volatileOpenFlags(robustMutexesSupported()) });
    try {
      expect(tdb.chainLock(Buffer.from('held'))).toBe(true);
      const wipe = c.ctdbAsync(1, ['wipedb', 'vol.tdb']);
      // While node 0 retries its freeze it keeps answering.
      expect(ok(0, ['ping'])).toMatch(/^response from 0 time=/);
      const r = await wipe;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('cannot freeze database vol.tdb');
    } finally {
      tdb.chainUnlock(Buffer.from('held'));
      tdb.close();
    }
    expect(ok(0, ['nodestatus', 'all'])).not.toMatch(/BANNED/);
    // Nothing stayed frozen: records still move, and the wipe works once the lock is gone.
    ok(2, ['writekey', 'vol.tdb', 'held', 'y']);
    expect(ok(1, ['wipedb', 'vol.tdb'])).toBe('Database vol.tdb wiped\n');
    expect(ok(0, ['catdb', 'vol.tdb'])).toBe('Dumped 0 records\n');
  });

  it('persistent records survive a daemon restart; tdbdump and ltdbtool read our files', async () => {
    ok(0, ['pstore', 'pers.tdb', 'durable', 'yes']);
    await c.kill(1, 'SIGTERM');
    c.start(1);
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
    // Attached again at start from the file on disk, before any client asks (as CTDB does).
    expect(ok(1, ['getdbmap'])).toMatch(/name:pers\.tdb path:\S+pers\.tdb\.1 PERSISTENT/);
    ok(1, ['attach', 'pers.tdb', 'persistent']);
    expect(ok(1, ['pfetch', 'pers.tdb', 'durable'])).toBe('yes\n');
    const file = join(c.base(1), 'db/persistent/pers.tdb.1');
    if (hasTool('tdbdump')) {
      const d = spawnSync('tdbdump', [file], { encoding: 'utf8' });
      expect(d.status).toBe(0);
      expect(d.stdout).toContain('key(7) = "durable"');
    }
    if (hasTool('ltdbtool')) {
      const d = spawnSync('ltdbtool', ['dump', file], { encoding: 'utf8' });
      expect(d.status).toBe(0);
      expect(d.stdout).toContain('key(7) = "durable"');
      expect(d.stdout).toContain('data(3) = "yes"');
    }
  });

  it('refuses a corrupt persistent TDB file by name and leaves it untouched', () => {
    const file = join(c.base(2), 'db/persistent/broken.tdb.2');
    writeFileSync(file, 'this is not a tdb file at all\n');
    const r = ctdb(2, ['attach', 'broken.tdb', 'persistent']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(file);
    expect(readFileSync(file, 'utf8')).toBe('this is not a tdb file at all\n');
    expect(ok(2, ['getdbmap'])).not.toContain('broken.tdb');
  });
});
