// Election benchmark: time from starting N daemons to one agreed leader (every
// node's last SRVID_LEADER broadcast names the same node and the node map is
// all-OK), then time from SIGKILL of that leader to a new agreed leader. For
// 3 and 16 nodes, without and with a cluster lock, and for Debian's real CTDB
// beside ours when it is installed. Run: npx tsx bench/election.ts
// Settings: KeepaliveInterval=1, KeepaliveLimit=3, leader timeout = 2 (as the tests).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtdbClient } from '../src/client/client.js';
import { getNodemap, registerSrvid } from '../src/client/controls.js';
import { resolvePaths } from '../src/common/paths.js';
import { NodeFlag, Pnn, Srvid } from '../src/protocol/constants.js';
import { DIST, LocalCluster } from '../test/harness/cluster.js';

const FIRST_OCTET = 170; // 127.0.0.170 – 127.0.0.185
const haveReal = existsSync('/usr/sbin/ctdbd') && existsSync('/usr/bin/ctdb');
const TIMEOUT_MS = 120_000;

interface Watch { clients: (CtdbClient | undefined)[]; last: { pnn: number; at: number }[] }

/** Connects to every node (retrying until its socket answers) and records each LEADER broadcast it sees. */
async function watchLeaders(c: LocalCluster, n: number, deadline: number): Promise<Watch> {
  const w: Watch = { clients: [], last: Array.from({ length: n }, () => ({ pnn: Pnn.UNKNOWN, at: 0 })) };
  await Promise.all(Array.from({ length: n }, async (_, pnn) => {
    const socket = resolvePaths(c.env(pnn)).socket;
    while (Date.now() < deadline) {
      try {
        const client = await CtdbClient.connect(socket, 2000);
        client.onMessage(Srvid.LEADER, (_s, data) => {
          if (data.length < 4) return;
          w.last[pnn] = { pnn: data.readUInt32LE(0), at: Date.now() };
          if (process.env.BENCH_DEBUG) console.log(`node ${pnn} heard LEADER(${data.readUInt32LE(0)}) at ${Date.now()}`);
        });
        await registerSrvid(client, Srvid.LEADER);
        w.clients[pnn] = client;
        return;
      } catch { await new Promise((r) => setTimeout(r, 50)); }
    }
  }));
  return w;
}

/** Polls until every node in `pnns` last heard the same leader (not in `not`), announced after `since`, and node `via` reports all of `pnns` OK. */
async function agreed(c: LocalCluster, w: Watch, pnns: number[], via: number, since: number, not: number[], deadline: number): Promise<number | undefined> {
  while (Date.now() < deadline) {
    const seen = pnns.map((p) => w.last[p]!);
    const leader = seen[0]!.pnn;
    if (leader !== Pnn.UNKNOWN && !not.includes(leader) && seen.every((s) => s.pnn === leader && s.at > since)) {
      const nm = await getNodemap(w.clients[via]!, via, { timeoutMs: 2000 }).catch(() => undefined);
      if (nm && pnns.every((p) => nm.nodes[p] !== undefined && nm.nodes[p]!.flags === 0)) return leader;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

async function measure(n: number, lock: boolean, real: boolean): Promise<string> {
  const lockDir = mkdtempSync(join(tmpdir(), 'ctdb-bench-lock-'));
  const c = new LocalCluster({
    nodes: n, firstOctet: FIRST_OCTET, real,
    tunables: 'KeepaliveInterval=1\nKeepaliveLimit=3\n',
    extraConf: () => '[cluster]\n\tleader timeout = 2\n' + (lock ? `\tcluster lock = ${join(lockDir, 'cluster.lock')}\n` : ''),
  });
  let w: Watch | undefined;
  try {
    const t0 = Date.now();
    c.startAll();
    const deadline = t0 + TIMEOUT_MS;
    w = await watchLeaders(c, n, deadline);
    const all = Array.from({ length: n }, (_, i) => i);
    const leader = await agreed(c, w, all, 0, t0, [], deadline);
    if (leader === undefined) return 'no agreed leader';
    const tStart = Date.now() - t0;
    // A figure only counts if the leader then stays: watch 3 s for a change.
    const settle = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const moved = w.last.filter((s) => s.at > settle && s.pnn !== leader).length;
    if (moved > 0) return `start→leader ${tStart} ms, but the leader changed afterwards (flapping)`;
    const t1 = Date.now();
    if (process.env.BENCH_DEBUG) console.log(`killing ${leader} at ${t1}`);
    await c.kill(leader, 'SIGKILL');
    w.clients[leader]?.close();
    const rest = all.filter((p) => p !== leader);
    const next = await agreed(c, w, rest, rest[0]!, t1, [leader], t1 + TIMEOUT_MS);
    // The dead node is DISCONNECTED now: only the survivors must be OK.
    const tFail = next === undefined ? undefined : Date.now() - t1;
    return `start→leader ${String(tStart).padStart(6)} ms   kill leader→new leader ${tFail === undefined ? '   n/a' : String(tFail).padStart(6)} ms`;
  } finally {
    for (const cl of w?.clients ?? []) cl?.close();
    await c.stop();
    rmSync(lockDir, { recursive: true, force: true });
  }
}


async function main(): Promise<void> {
  if (!existsSync(join(DIST, 'ctdbd.js'))) throw new Error('run `npm run build` first');
  console.log('# election benchmark (KeepaliveInterval=1, KeepaliveLimit=3, leader timeout=2; one run each)');
  const sizes = (process.env.BENCH_NODES ?? '3,16').split(',').map(Number);
  const locks = (process.env.BENCH_LOCK ?? 'no,yes').split(',').map((v) => v === 'yes');
  for (const n of sizes) {
    for (const lock of locks) {
      const name = `${String(n).padStart(2)} nodes, ${lock ? 'cluster lock   ' : 'no cluster lock'}`;
      console.log(`${name}, ours:      ${await measure(n, lock, false)}`);
      if (haveReal && !process.env.BENCH_NO_REAL) console.log(`${name}, real CTDB: ${await measure(n, lock, true)}`);
    }
  }
}

main().catch((err) => { console.error(`bench/election: ${(err as Error).message}`); process.exitCode = 1; });
