/**
 * Leader election by messages (no cluster lock) on real daemons: the leader
 * yields when stopped, banned or stripped of the LEADER capability, and
 * another node leads within seconds. LMASTER capability changes reach the
 * vnnmap through the leader's next recovery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../harness/cluster.js';
import { describeLeaderYields, leadershipCluster } from './leadership-helpers.js';

describeLeaderYields('leadership without a cluster lock', 100);

describe('LMASTER capability', () => {
  let c: LocalCluster;
  beforeAll(async () => {
    c = leadershipCluster({ nodes: 3, firstOctet: 120 });
    c.startAll();
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
  }, 40_000);
  afterAll(async () => { await c?.stop(); });

  /** The vnnmap lmasters each node reports in `ctdb status`. */
  const lmasters = async (): Promise<string[]> => Promise.all([0, 1, 2].map(async (pnn) => {
    const s = (await c.ctdbAsync(pnn, ['status'])).stdout;
    return [...s.matchAll(/^hash:\d+ lmaster:(\d+)$/gm)].map((m) => m[1]).join(',');
  }));

  it('setlmasterrole off takes the node out of the vnnmap at the next recovery, on puts it back', async () => {
    expect(await c.waitFor(async () => (await lmasters()).every((l) => l === '0,1,2'), 20_000)).toBe(true);
    expect(c.ctdb(1, ['setlmasterrole', 'off']).code).toBe(0);
    expect(await c.waitFor(async () => (await lmasters()).every((l) => l === '0,2'), 20_000)).toBe(true);
    expect(c.ctdb(1, ['getcapabilities']).stdout).toMatch(/LMASTER: NO/);
    expect(c.ctdb(1, ['setlmasterrole', 'on']).code).toBe(0);
    expect(await c.waitFor(async () => (await lmasters()).every((l) => l === '0,1,2'), 20_000)).toBe(true);
  });
});
