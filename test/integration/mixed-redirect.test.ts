import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster, type RunResult } from '../harness/cluster.js';

/**
 * A mixed cluster on 127.0.0.153–155: nodes 0 and 1 run our ctdbd, node 2
 * Debian's CTDB 4.17. Key "k1" has lmaster 0, so a request from the node
 * that is not dmaster goes to node 0, which redirects it to the dmaster
 * keeping the requester in srcnode, as CTDB does. Checked: a real CTDB
 * request redirected by us to our node, our request redirected by us to
 * the real node, and (k2, lmaster 2) our request redirected by the real
 * lmaster to our node.
 */
const haveReal = existsSync('/usr/sbin/ctdbd') && existsSync('/usr/bin/ctdb');
const built = existsSync(join(DIST, 'ctdbd.js'));

describe.skipIf(!haveReal || !built)('redirected REQ_CALL keeps its requester (mixed cluster with Debian ctdbd)', () => {
  let c: LocalCluster;
  let real: ChildProcess | undefined;
  const ok = (pnn: number, args: string[], isReal = false): string => {
    const r: RunResult = c.ctdb(pnn, args, { real: isReal });
    expect(r, `ctdb ${args.join(' ')} on node ${pnn}: ${r.stderr}`).toMatchObject({ code: 0 });
    return r.stdout;
  };
  const hop1 = (pnn: number, isReal: boolean): number => {
    const m = /hop_count_buckets:((?: \d+)+)/.exec(ok(pnn, ['dbstatistics', 'm.tdb'], isReal));
    expect(m).not.toBeNull();
    return Number(m![1]!.trim().split(/ +/)[1]);
  };
  const dump = (pnn: number, isReal: boolean): string => ok(pnn, ['cattdb', 'm.tdb'], isReal);

  beforeAll(async () => {
    c = new LocalCluster({ nodes: 3, firstOctet: 153 });
    real = spawn('/usr/sbin/ctdbd', ['-i'], { env: c.env(2), stdio: ['ignore', 'ignore', 'pipe'] });
    real.stderr?.on('data', () => {});
    c.start(0); c.start(1);
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
    ok(0, ['attach', 'm.tdb']);
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
    if (real && real.exitCode === null && real.signalCode === null) {
      const gone = new Promise((r) => real!.once('exit', r));
      real.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (real.exitCode === null && real.signalCode === null) real.kill('SIGKILL');
    }
  });

  it('the vnnmap spans all three nodes (ours and the real one)', () => {
    expect(ok(0, ['status'])).toMatch(/Size:3\n/);
  });

  it('a real node\'s request, redirected by our lmaster, migrates the record from our dmaster to the real node', () => {
    ok(1, ['writekey', 'm.tdb', 'k1', 'a1']);
    const before = hop1(1, false);
    ok(2, ['writekey', 'm.tdb', 'k1', 'a2'], true);
    expect(dump(2, true)).toMatch(/key\(2\) = "k1"\ndmaster: 2\n[^]*data\(2\) = "a2"/);
    expect(hop1(1, false)).toBeGreaterThan(before); // node 1 answered a request that had been redirected once
  });

  it('our request, redirected by our lmaster to the real dmaster, reaches us (not the lmaster)', () => {
    const before = hop1(2, true);
    ok(1, ['writekey', 'm.tdb', 'k1', 'a3']);
    expect(dump(1, false)).toMatch(/key\(2\) = "k1"\ndmaster: 1\n[^]*data\(2\) = "a3"/);
    expect(hop1(2, true)).toBeGreaterThan(before);
    expect(ok(0, ['catdb', 'm.tdb'])).toMatch(/dmaster: 1\n[^]*data\(2\) = "a3"/);
    // The record went straight to the requester: the lmaster never became dmaster of k1 on the way
    // (with the requester carried only in our own call-data trailer, the real node migrated it to the lmaster).
    expect(ok(0, ['dbstatistics', 'm.tdb'])).not.toMatch(/Count:\d+ Key:6b31\n/);
  });

  it('a request redirected by the real lmaster (srcnode kept) is accepted by our dmaster', () => {
    // k2 hashes to lmaster 2, the real node. Node 1 becomes dmaster; node 0 then asks the real lmaster,
    // which redirects to node 1 with srcnode 0 on its own connection (our transport used to drop that).
    ok(1, ['writekey', 'm.tdb', 'k2', 'b1']);
    expect(dump(1, false)).toMatch(/key\(2\) = "k2"\ndmaster: 1\n/);
    const before = hop1(1, false);
    ok(0, ['writekey', 'm.tdb', 'k2', 'b2']);
    expect(dump(0, false)).toMatch(/key\(2\) = "k2"\ndmaster: 0\n[^]*data\(2\) = "b2"/);
    expect(hop1(1, false)).toBeGreaterThan(before);
    expect(dump(2, true)).toMatch(/key\(2\) = "k2"\ndmaster: 0\n/);
  });
});
