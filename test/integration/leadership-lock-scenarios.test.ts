/**
 * Cluster lock scenarios on real daemons: two clusters sharing one lock
 * file, and a lock file deleted under a running cluster.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../harness/cluster.js';
import { leadershipCluster, waitNoLeader, waitOneLeader } from './leadership-helpers.js';

const DEBIAN_HELPER = '/usr/libexec/ctdb/ctdb_mutex_fcntl_helper';

/** What Debian's fcntl helper answers for `file` ('1' = held by someone else). */
function probeWithDebianHelper(file: string): string {
  const r = spawnSync(DEBIAN_HELPER, [file], { encoding: 'utf8', timeout: 5000 });
  return (r.stdout ?? '').slice(0, 1);
}

function logOf(c: LocalCluster, pnn: number): string {
  try { return readFileSync(join(c.base(pnn), 'log.ctdb'), 'utf8'); } catch { return ''; }
}

describe('cluster lock scenarios', () => {
  const shared = mkdtempSync(join(tmpdir(), 'ctdb-lock-'));
  const clusters: LocalCluster[] = [];
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    rmSync(shared, { recursive: true, force: true });
  });

  it('two clusters pointed at one lock file: only one has a leader', async () => {
    const lockFile = join(shared, 'shared.lock');
    const a = leadershipCluster({ nodes: 3, firstOctet: 106, lock: () => lockFile });
    const b = leadershipCluster({ nodes: 3, firstOctet: 111, lock: () => lockFile });
    clusters.push(a, b);
    a.startAll();
    const first = await waitOneLeader(a, [0, 1, 2]);
    expect(first.leader, JSON.stringify(first.views)).toBeDefined();
    b.startAll();
    // b's nodes talk to each other but none may lead: the lock is a's.
    expect(await waitNoLeader(b, [0, 1, 2])).toBe(true);
    expect((await waitOneLeader(a, [0, 1, 2])).leader).toBe(first.leader);
    // Once a is gone entirely, b's race for the lock succeeds.
    await a.stop();
    const second = await waitOneLeader(b, [0, 1, 2], { timeoutMs: 25_000 });
    expect(second.leader, JSON.stringify(second.views)).toBeDefined();
    await b.stop();
  });

  it('a deleted lock file: the leader notices, steps down, and the lock is taken again', async () => {
    const c = leadershipCluster({ nodes: 3, firstOctet: 114, lock: (dir) => join(dir, 'cluster.lock') });
    clusters.push(c);
    c.startAll();
    const lockFile = join(c.dir, 'cluster.lock');
    const { leader: old } = await waitOneLeader(c, [0, 1, 2]);
    expect(old).toBeDefined();
    expect(probeWithDebianHelper(lockFile)).toBe('1');
    rmSync(lockFile);
    // The holder's helper re-checks the file (every 5 s by default) and gives the lock up.
    expect(await c.waitFor(() => /cluster lock lost/.test(logOf(c, old!)), 20_000, 500)).toBe(true);
    const again = await waitOneLeader(c, [0, 1, 2]);
    expect(again.leader, JSON.stringify(again.views)).toBeDefined();
    expect(existsSync(lockFile)).toBe(true);
    expect(probeWithDebianHelper(lockFile)).toBe('1');
    await c.stop();
  });
});
