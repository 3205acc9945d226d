/**
 * Cluster lock helpers that cannot run, print garbage or hang, and a lock file
 * in a missing folder (one per node):
 * a clear log line, no leader with a false lock, and the daemons keep running
 * and retry.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../harness/cluster.js';
import { leaderViews, leadershipCluster, waitNoLeader, waitOneLeader } from './leadership-helpers.js';

function logOf(c: LocalCluster, pnn: number): string {
  try { return readFileSync(join(c.base(pnn), 'log.ctdb'), 'utf8'); } catch { return ''; }
}

describe('bad cluster lock helpers', () => {
  const shared = mkdtempSync(join(tmpdir(), 'ctdb-lock-'));
  const clusters: LocalCluster[] = [];
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    rmSync(shared, { recursive: true, force: true });
  });

  it('a helper that cannot run, prints garbage or hangs, or a missing lock folder: no leader, daemons keep running and retry', async () => {
    const fx = join(shared, 'fixtures');
    rmSync(fx, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', fx]);
    const notExec = join(fx, 'not-executable');
    writeFileSync(notExec, '#!/bin/sh\nprintf 0\nexec sleep 1000\n');
    chmodSync(notExec, 0o644);
    const garbage = join(fx, 'garbage');
    writeFileSync(garbage, '#!/bin/sh\nprintf x\nexec sleep 1000\n');
    chmodSync(garbage, 0o755);
    const hang = join(fx, 'hang');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 1000\n');
    chmodSync(hang, 0o755);
    const locks = [`!${notExec}`, `!${garbage}`, `!${hang}`, join(shared, 'no-such-folder', 'cluster.lock')];
    const c = leadershipCluster({ nodes: 4, firstOctet: 123, conf: (pnn) => `\tcluster lock = ${locks[pnn]}\n` });
    clusters.push(c);
    c.startAll();
    expect(await waitNoLeader(c, [0, 1, 2, 3], 30_000)).toBe(true);
    const expected = [/cannot run helper/, /helper printed garbage/, /no answer within \d+ ms/, /helper reported an error/];
    for (const pnn of [0, 1, 2, 3]) {
      const ok = await c.waitFor(() => (logOf(c, pnn).match(expected[pnn]!) ?? []).length > 0
        && (logOf(c, pnn).match(/cluster lock not taken/g) ?? []).length >= 2, 25_000, 500);
      expect(ok, `node ${pnn} log:\n${logOf(c, pnn).slice(-2000)}`).toBe(true);
      expect(c.procs.get(pnn)?.exitCode).toBeNull();
    }
    const views = await leaderViews(c, [0, 1, 2, 3]);
    expect(views.map((v) => v.leader)).toEqual(['UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
    // The retries pay off once the problem is fixed: the folder appears, node 3 takes the lock.
    mkdirSync(join(shared, 'no-such-folder'));
    const { leader, views: after } = await waitOneLeader(c, [0, 1, 2, 3], { timeoutMs: 20_000 });
    expect(leader, JSON.stringify(after)).toBe(3);
    await c.stop();
  });
});
