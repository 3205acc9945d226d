/**
 * Public IP failover with real addresses: three node namespaces and a client
 * namespace on a bridge (see netns-cluster.ts). Needs root; skipped otherwise.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST } from '../harness/cluster.js';
import { canUseNetns, NetnsCluster } from './netns-cluster.js';

const PUBLIC = ['10.78.0.11', '10.78.0.12', '10.78.0.13', '10.78.0.14', '10.78.0.15', '10.78.0.16'];
const ready = existsSync(join(DIST, 'ctdbd.js')) && canUseNetns();
const PORT = 4455;

describe.skipIf(!ready)('public IP failover in network namespaces (needs root)', () => {
  const c = new NetnsCluster({ nodes: 3, publicIps: PUBLIC, tunables: 'TickleUpdateInterval=1\nKeepaliveInterval=1\nKeepaliveLimit=3\n' });

  /** Waits until `ctdb ip all` agrees with the addresses really present in every namespace. */
  const consistent = async (from: number, live: number[]): Promise<Map<string, number> | undefined> => {
    let last: Map<string, number> | undefined;
    const ok = await c.waitFor(() => {
      const owners = c.owners(from);
      if (owners.size !== PUBLIC.length || [...owners.values()].some((p) => !live.includes(p))) return false;
      for (const p of live) {
        const want = [...owners].filter(([, o]) => o === p).map(([a]) => a).sort();
        if (JSON.stringify(c.hosted(p)) !== JSON.stringify(want)) return false;
      }
      last = owners;
      return true;
    }, 30_000, 300);
    return ok ? last : undefined;
  };

  beforeAll(async () => {
    c.setup();
    c.startAll();
    c.startServers(PORT);
    expect(await c.cl.waitFor(() => c.ctdb(0, ['nodestatus', 'all']).code === 0, 60_000, 300)).toBe(true);
  });
  afterAll(async () => { await c.teardown(); });

  it('hosts every public IP after start, each on exactly one node', async () => {
    const owners = await consistent(0, [0, 1, 2]);
    expect(owners).toBeDefined();
    expect([...owners!.values()].every((p) => p >= 0 && p <= 2)).toBe(true);
    for (const p of [0, 1, 2]) expect(c.hosted(p).length).toBe(2);
  });

  it('kill -9 of a node moves its IPs to the survivors and resets a tracked client at once', async () => {
    const owners = (await consistent(0, [0, 1, 2]))!;
    const victim = 2;
    const ipOfVictim = [...owners].find(([, p]) => p === victim)![0];
    // An idle client connected to the victim's address: it would hang until a TCP timeout without the tickle ACK.
    const client = c.spawnInClient([process.execPath, '-e', `
      const s = require('net').connect(${PORT}, '${ipOfVictim}', () => console.log('port', s.localPort));
      s.on('error', (e) => { console.log('reset', e.code); process.exit(0); });
      s.on('close', () => { console.log('closed'); process.exit(0); });
      setTimeout(() => { console.log('timeout'); process.exit(1); }, 60000);`]);
    let out = '';
    client.stdout!.on('data', (d) => { out += d; });
    try {
      expect(await c.waitFor(() => /port \d+/.test(out), 10_000, 100)).toBe(true);
      const port = /port (\d+)/.exec(out)![1];
      expect(c.ctdb(victim, ['ip', 'connection', 'add', `${ipOfVictim}:${PORT}`, `10.78.0.100:${port}`]).code).toBe(0);
      // Replicated to the other nodes by the victim's periodic tickle update.
      expect(await c.waitFor(() => c.ctdb(0, ['gettickles', ipOfVictim]).stdout.includes(`SRC: 10.78.0.100:${port}`), 15_000)).toBe(true);
      await c.crash(victim);
      const after = await consistent(0, [0, 1]);
      expect(after).toBeDefined();
      expect([...after!.values()].includes(victim)).toBe(false);
      expect(c.hosted(0).length + c.hosted(1).length).toBe(PUBLIC.length);
      expect(await c.waitFor(() => out.includes('reset') || out.includes('closed'), 20_000, 200)).toBe(true);
      expect(out).toMatch(/reset ECONNRESET/);
    } finally { client.kill('SIGKILL'); }
  });

  it('a returning node gets a share of the addresses again (LCP2 rebalance)', async () => {
    c.revive(2);
    expect(await c.waitFor(() => c.ctdb(0, ['nodestatus', 'all']).code === 0, 60_000, 300)).toBe(true);
    expect(await c.waitFor(() => c.hosted(2).length > 0, 30_000)).toBe(true);
    const owners = await consistent(0, [0, 1, 2]);
    expect(owners).toBeDefined();
    expect(c.hosted(2).length).toBe([...owners!.values()].filter((p) => p === 2).length);
  });

  it('moveip moves an address to the named node', async () => {
    const owners = (await consistent(0, [0, 1, 2]))!;
    const [ipToMove, from] = [...owners].find(([, p]) => p !== 1)!;
    expect(c.ctdb(0, ['moveip', ipToMove, '1']).code).toBe(0);
    expect(c.hosted(1)).toContain(ipToMove);
    expect(c.hosted(from)).not.toContain(ipToMove);
    expect(c.owners(2).get(ipToMove)).toBe(1);
  });

  it('disable and stop move the node\'s addresses away; enable and continue take some back', async () => {
    expect(c.ctdb(1, ['disable']).code).toBe(0);
    expect((await consistent(0, [0, 1, 2]))).toBeDefined();
    expect(c.hosted(1)).toEqual([]);
    expect(c.ctdb(1, ['enable']).code).toBe(0);
    expect(await c.waitFor(() => c.hosted(1).length > 0, 30_000)).toBe(true);
    expect(c.ctdb(0, ['stop']).code).toBe(0);
    expect((await consistent(1, [0, 1, 2]))).toBeDefined();
    expect(c.hosted(0)).toEqual([]);
    expect(c.ctdb(0, ['continue']).code).toBe(0);
    expect(await c.waitFor(() => c.hosted(0).length > 0, 30_000)).toBe(true);
  });

  it('NoIPTakeover: addresses of a stopped node stay unassigned until the tunable is cleared', async () => {
    await consistent(0, [0, 1, 2]);
    for (const p of [0, 1, 2]) expect(c.ctdb(p, ['setvar', 'NoIPTakeover', '1']).code).toBe(0);
    const before = c.hosted(2);
    expect(before.length).toBeGreaterThan(0);
    expect(c.ctdb(2, ['stop']).code).toBe(0);
    expect(c.hosted(2)).toEqual([]);
    const owners = c.owners(0);
    for (const a of before) expect(owners.get(a)).toBe(-1);
    expect(c.hosted(0).concat(c.hosted(1)).some((a) => before.includes(a))).toBe(false);
    for (const p of [0, 1, 2]) expect(c.ctdb(p, ['setvar', 'NoIPTakeover', '0']).code).toBe(0);
    expect(c.ctdb(0, ['ipreallocate']).code).toBe(0);
    expect(c.hosted(0).length + c.hosted(1).length).toBe(PUBLIC.length);
    expect(c.ctdb(2, ['continue']).code).toBe(0);
  });

  it('an address on a missing interface: the node turns unhealthy saying why and hosts nothing; fixed, it hosts again', async () => {
    const file = join(c.cl.base(2), 'public_addresses');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}10.78.0.17/24 eth9\n`);
    // The run that reload starts fails once (takeip on eth9), as in CTDB; eth9 is then down on node 2.
    c.ctdb(0, ['reloadips', '2']);
    expect(await c.waitFor(() => /UNHEALTHY/.test(c.ctdb(0, ['nodestatus', '2']).stdout), 30_000)).toBe(true);
    expect(await c.waitFor(() => c.hosted(2).length === 0, 30_000)).toBe(true);
    expect(c.ctdb(2, ['scriptstatus']).stdout).toContain('eth9 does not exist');
    expect(c.hosted(0).length + c.hosted(1).length).toBe(PUBLIC.length);
    expect(c.ctdb(2, ['ifaces']).stdout).toContain('name:eth9 link:down');
    writeFileSync(file, good);
    expect(c.ctdb(0, ['reloadips', '2']).code).toBe(0);
    expect(await c.waitFor(() => c.hosted(2).length > 0, 30_000)).toBe(true);
  });

  it('a node shut down cleanly releases its addresses and the others take them', async () => {
    expect(await c.waitFor(() => c.hosted(1).length > 0, 30_000)).toBe(true);
    const had = c.hosted(1);
    expect(c.ctdb(1, ['shutdown']).code).toBe(0);
    expect(await c.waitFor(() => c.procs.get(1)?.exitCode !== null, 30_000)).toBe(true);
    expect(c.hosted(1)).toEqual([]);
    expect(await c.waitFor(() => had.every((a) => c.hosted(0).includes(a) || c.hosted(2).includes(a)), 30_000)).toBe(true);
  });
});
