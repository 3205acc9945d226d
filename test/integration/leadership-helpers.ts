/** Shared checks and scenarios for the leadership and banning integration tests. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster, type LocalClusterOptions } from '../harness/cluster.js';

const ALL = [0, 1, 2];

/** Fast failure detection for tests: 1 s keepalives, dead after 3 missed. */
export const FAST_TUNABLES = 'KeepaliveInterval=1\nKeepaliveLimit=3\nRecoverInterval=1\n';

/** A cluster with a 2 s leader timeout and, optionally, a cluster lock line (computed from the cluster's folder). */
export function leadershipCluster(opts: Omit<LocalClusterOptions, 'extraConf'> & {
  lock?: (dir: string) => string;
  conf?: (pnn: number) => string;
}): LocalCluster {
  let dir = '';
  const c = new LocalCluster({
    ...opts,
    tunables: opts.tunables ?? FAST_TUNABLES,
    extraConf: (pnn) => '[cluster]\n\tleader timeout = 2\n'
      + (opts.lock ? `\tcluster lock = ${opts.lock(dir)}\n` : '') + (opts.conf?.(pnn) ?? ''),
  });
  // The lock path lives in the cluster's own folder, known only after construction: write the bases again.
  if (opts.lock) {
    dir = c.dir;
    const rewrite = (c as unknown as { writeBase(pnn: number): void }).writeBase.bind(c);
    for (let pnn = 0; pnn < opts.nodes; pnn++) rewrite(pnn);
  }
  return c;
}

/** What `ctdb leader` and `ctdb status` say on one node. */
export interface LeaderView { pnn: number; leader: string; statusLeader: string; recmode: string }

/** Asks every node in `pnns` for the leader, through `ctdb leader` and `ctdb status`. */
export async function leaderViews(c: LocalCluster, pnns: number[]): Promise<LeaderView[]> {
  return Promise.all(pnns.map(async (pnn) => {
    const [l, s] = await Promise.all([
      c.ctdbAsync(pnn, ['leader'], { timeoutMs: 10_000 }),
      c.ctdbAsync(pnn, ['status'], { timeoutMs: 10_000 }),
    ]);
    return {
      pnn,
      leader: l.stdout.trim(),
      statusLeader: /^Leader:(\S+)/m.exec(s.stdout)?.[1] ?? '?',
      recmode: /^Recovery mode:(\S+)/m.exec(s.stdout)?.[1] ?? '?',
    };
  }));
}

/**
 * Waits until every node in `pnns` names the same leader (not UNKNOWN,
 * not in `not`) in both `ctdb leader` and `ctdb status`; returns it, or
 * undefined (with the last views) when that does not happen in time.
 */
export async function waitOneLeader(c: LocalCluster, pnns: number[], opts: { not?: number[]; timeoutMs?: number } = {}):
  Promise<{ leader: number | undefined; views: LeaderView[] }> {
  let views: LeaderView[] = [];
  let leader: number | undefined;
  await c.waitFor(async () => {
    views = await leaderViews(c, pnns);
    const names = new Set(views.flatMap((v) => [v.leader, v.statusLeader]));
    if (names.size !== 1) return false;
    const [only] = [...names];
    if (!/^\d+$/.test(only!)) return false;
    if (opts.not?.includes(Number(only))) return false;
    leader = Number(only);
    return true;
  }, opts.timeoutMs ?? 25_000, 300);
  return { leader, views };
}

/** Waits until no node in `pnns` reports a leader (every answer UNKNOWN) for two checks in a row. */
export async function waitNoLeader(c: LocalCluster, pnns: number[], timeoutMs = 15_000): Promise<boolean> {
  let quiet = 0;
  return c.waitFor(async () => {
    const views = await leaderViews(c, pnns);
    quiet = views.every((v) => v.leader === 'UNKNOWN' && v.statusLeader === 'UNKNOWN') ? quiet + 1 : 0;
    return quiet >= 2;
  }, timeoutMs, 500);
}

/**
 * The yield scenarios on one 3-node cluster at 127.0.0.<firstOctet>..+2:
 * stop, ban and LEADER-capability loss of the leader each hand leadership on.
 */
export function describeLeaderYields(title: string, firstOctet: number, lock?: (dir: string) => string): void {
describe(title, () => {
  let c: LocalCluster;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'ctdbd.js'))) throw new Error('run npm run build first');
    c = leadershipCluster({ nodes: 3, firstOctet, lock });
    c.startAll();
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
  }, 40_000);
  afterAll(async () => { await c?.stop(); });

  it('elects one leader that every node names, with recovery mode NORMAL', async () => {
    const { leader, views } = await waitOneLeader(c, ALL);
    expect(leader, JSON.stringify(views)).toBeDefined();
    await c.waitFor(async () => (await c.ctdbAsync(0, ['status'])).stdout.includes('Recovery mode:NORMAL'), 15_000);
    // Debian's own tool hears the same leader announcements.
    if (existsSync('/usr/bin/ctdb')) {
      for (const pnn of ALL) expect(c.ctdb(pnn, ['leader'], { real: true }).stdout.trim()).toBe(String(leader));
    }
    if (lock) {
      const r = c.ctdb(leader!, ['getreclock']);
      expect(r.stdout.trim()).toBe(join(c.dir, 'cluster.lock'));
    }
  });

  it('a stopped leader yields and another node leads', async () => {
    const { leader: old } = await waitOneLeader(c, ALL);
    expect(c.ctdb(old!, ['-t', '3', 'stop']).code).toBe(0);
    const { leader, views } = await waitOneLeader(c, ALL, { not: [old!] });
    expect(leader, JSON.stringify(views)).toBeDefined();
    expect(c.ctdb(old!, ['-t', '3', 'continue']).code).toBe(0);
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
  });

  it('a banned leader yields and another node leads; the ban expires and the node rejoins', async () => {
    const { leader: old } = await waitOneLeader(c, ALL);
    expect(c.ctdb(old!, ['-t', '3', 'ban', '10']).code).toBe(0);
    expect(c.ctdb(old!, ['nodestatus']).stdout).toMatch(/BANNED/);
    const { leader, views } = await waitOneLeader(c, ALL, { not: [old!] });
    expect(leader, JSON.stringify(views)).toBeDefined();
    // Timed unban on the banned node, then it rejoins through a recovery.
    expect(await c.waitAllOk(leader!, 30_000)).toBe(true);
  });

  it('a leader without the LEADER capability yields and another node leads', async () => {
    const { leader: old } = await waitOneLeader(c, ALL);
    expect(c.ctdb(old!, ['setleaderrole', 'off']).code).toBe(0);
    const { leader, views } = await waitOneLeader(c, ALL, { not: [old!] });
    expect(leader, JSON.stringify(views)).toBeDefined();
    const caps = c.ctdb(old!, ['getcapabilities']);
    expect(caps.stdout, caps.stderr).toMatch(/LEADER: NO/);
    // It never takes leadership back while it lacks the capability.
    const again = await waitOneLeader(c, ALL);
    expect(again.leader).toBe(leader);
    expect(c.ctdb(old!, ['setleaderrole', 'on']).code).toBe(0);
  });
});
}
