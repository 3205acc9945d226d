/**
 * Banning on real daemons: SRVID_BANNING messages give ban credits to a node
 * (number of nodes each); at twice the number of nodes the leader bans it for
 * RecoveryBanPeriod at the next recovery; the ban expires and the node
 * rejoins. EnableBans=0 stops the leader from banning.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbClient } from '../../src/client/client.js';
import { Srvid } from '../../src/protocol/constants.js';
import type { LocalCluster } from '../harness/cluster.js';
import { FAST_TUNABLES, leadershipCluster, waitOneLeader } from './leadership-helpers.js';

const ALL = [0, 1, 2];
const BAN_SECONDS = 6;

/** Sends SRVID_BANNING(culprit) to the leader through node `via`'s socket, `times` times. */
async function sendBanning(c: LocalCluster, via: number, leader: number, culprit: number, times: number): Promise<void> {
  const client = await CtdbClient.connect(join(c.base(via), 'run', 'ctdbd.socket'), 5000);
  try {
    const data = Buffer.alloc(4); data.writeUInt32LE(culprit);
    for (let i = 0; i < times; i++) client.message(leader, Srvid.BANNING, data);
    await new Promise((r) => setTimeout(r, 200));
  } finally { client.close(); }
}

const flagsLine = (c: LocalCluster, from: number, pnn: number): Promise<string> =>
  c.ctdbAsync(from, ['nodestatus', String(pnn)]).then((r) => r.stdout);

describe('banning by ban credits', () => {
  let c: LocalCluster;
  beforeAll(async () => {
    c = leadershipCluster({ nodes: 3, firstOctet: 140, tunables: `${FAST_TUNABLES}RecoveryBanPeriod=${BAN_SECONDS}\n` });
    c.startAll();
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
  }, 40_000);
  afterAll(async () => { await c?.stop(); });

  it('with EnableBans=0 the leader bans nobody, even past the threshold', async () => {
    const { leader } = await waitOneLeader(c, ALL);
    const culprit = (leader! + 1) % 3;
    for (const pnn of ALL) expect(c.ctdb(pnn, ['setvar', 'EnableBans', '0']).code).toBe(0);
    await sendBanning(c, culprit, leader!, culprit, 2);
    expect(c.ctdb(leader!, ['recover']).code).toBe(0);
    expect(await flagsLine(c, leader!, culprit)).not.toMatch(/BANNED/);
    expect(await c.waitAllOk(leader!, 15_000)).toBe(true);
    for (const pnn of ALL) expect(c.ctdb(pnn, ['setvar', 'EnableBans', '1']).code).toBe(0);
  });

  it('one message is below the threshold: no ban', async () => {
    const { leader } = await waitOneLeader(c, ALL);
    const culprit = (leader! + 1) % 3;
    await sendBanning(c, culprit, leader!, culprit, 1);
    expect(c.ctdb(leader!, ['recover']).code).toBe(0);
    expect(await flagsLine(c, leader!, culprit)).not.toMatch(/BANNED/);
  });

  it('2 x num_nodes credits: the node is banned for RecoveryBanPeriod, then rejoins', async () => {
    const { leader } = await waitOneLeader(c, ALL);
    const culprit = (leader! + 2) % 3;
    await sendBanning(c, culprit, leader!, culprit, 2);
    const banned = await c.waitFor(async () => /BANNED/.test(await flagsLine(c, leader!, culprit)), 10_000, 200);
    expect(banned).toBe(true);
    const own = await c.ctdbAsync(culprit, ['status']);
    expect(own.stdout).toMatch(/Recovery mode:RECOVERY/);
    // The leader is unchanged and still leads.
    expect((await waitOneLeader(c, ALL)).leader).toBe(leader);
    // Timed unban, then a recovery brings the node back.
    expect(await c.waitAllOk(leader!, 30_000)).toBe(true);
    expect(await flagsLine(c, leader!, culprit)).not.toMatch(/BANNED/);
  });
});
