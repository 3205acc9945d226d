/**
 * Fault injection on real daemons (a LocalCluster on 127.0.0.180+): each
 * round injects one fault chosen by a seeded rng — kill -9 and restart of a
 * node, SIGSTOP/SIGCONT of a node, kill -9 of a node's event daemon — while
 * a writer commits persistent records (`ctdb pstore`) on live nodes. After
 * each round: every node answers, all agree on leader, generation and
 * flags, no committed record is lost or stale, and no zombie is left.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, type RunResult } from '../harness/cluster.js';
import { leadershipCluster } from '../integration/leadership-helpers.js';
import { Rng } from '../sim/rng.js';

/** Fault kinds injected on real daemons. */
export const REAL_FAULTS = ['kill9', 'stop', 'eventd', 'lockfile'] as const;
export type RealFault = typeof REAL_FAULTS[number];

/** Options of a fault run. */
export interface FaultRunOptions {
  rounds: number;
  seed: number;
  nodes?: number;
  firstOctet?: number;
  faults?: RealFault[];
  /** Writes attempted during each fault. */
  writesPerRound?: number;
  /**
   * Configure a cluster lock (fcntl helper on a file in the cluster folder)
   * and allow the 'lockfile' fault (the lock file deleted under the holder).
   */
  lock?: boolean;
  /** How long a round may take to agree again (default 90 s). */
  settleMs?: number;
  /** Kill the daemons by PID on SIGINT/SIGTERM (command-line runs). */
  handleSignals?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What one round saw. */
export interface RoundResult {
  round: number; fault: RealFault; node: number;
  /** The cluster agreed again (leader, generation, flags all OK) within the deadline. */
  recovered: boolean;
  committed: number; failedWrites: number; lost: number; zombies: number;
  detail: string;
}

/** Totals of a run. */
export interface FaultSummary {
  seed: number; rounds: RoundResult[];
  faults: Record<string, number>;
  committed: number; failedWrites: number; lost: number; zombies: number; notRecovered: number;
}

const DB = 'faults.tdb';

/** Node view from `ctdb -X status` plus `ctdb status` (generation, leader). */
interface View { flags: string[]; generation: string; leader: string }

function parseView(x: RunResult, plain: RunResult): View | undefined {
  if (x.code !== 0 || plain.code !== 0) return undefined;
  const flags = x.stdout.trim().split('\n').slice(1).map((l) => l.split('|').slice(3, 11).join(''));
  const generation = /Generation:(\S+)/.exec(plain.stdout)?.[1] ?? '?';
  const leader = /Leader:(\S+)/.exec(plain.stdout)?.[1] ?? '?';
  return { flags, generation, leader };
}

/** PIDs of the children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch { return []; }
}

function stateOf(pid: number): string {
  try { return /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?'; } catch { return 'gone'; }
}

function commandOf(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; }
}

/** Zombie descendants of the daemons (two levels: daemon children and theirs). */
function countZombies(c: LocalCluster): number {
  let z = 0;
  for (const p of c.procs.values()) {
    if (!p.pid) continue;
    for (const ch of childrenOf(p.pid)) {
      if (stateOf(ch) === 'Z') z++;
      for (const g of childrenOf(ch)) if (stateOf(g) === 'Z') z++;
    }
  }
  return z;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the fault rounds on a fresh cluster; always stops every daemon it started. */
export async function runFaultRounds(o: FaultRunOptions): Promise<FaultSummary> {
  const rng = new Rng(o.seed);
  const n = o.nodes ?? 3;
  const log = o.log ?? (() => {});
  const c = o.lock
    ? leadershipCluster({ nodes: n, firstOctet: o.firstOctet ?? 180, lock: (dir) => join(dir, 'cluster.lock') })
    : new LocalCluster({ nodes: n, firstOctet: o.firstOctet ?? 180 });
  const committed = new Map<string, string>();
  const summary: FaultSummary = { seed: o.seed, rounds: [], faults: {}, committed: 0, failedWrites: 0, lost: 0, zombies: 0, notRecovered: 0 };
  const stopped = new Set<number>();
  const onSignal = (): void => {
    for (const p of c.procs.values()) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    process.exit(130);
  };
  if (o.handleSignals) { process.once('SIGINT', onSignal); process.once('SIGTERM', onSignal); }
  try {
    c.startAll();
    if (!(await c.waitAllOk(0, 90_000))) throw new Error('cluster did not come up');
    const at = await c.ctdbAsync(0, ['attach', DB, 'persistent'], { timeoutMs: 30_000 });
    if (at.code !== 0) throw new Error(`attach failed: ${at.stderr}`);

    /** Waits until every node answers and all agree; returns a reason when they do not. */
    const settle = async (deadlineMs: number): Promise<string | undefined> => {
      const until = Date.now() + deadlineMs;
      let why = 'not checked';
      while (Date.now() < until) {
        const views = await Promise.all(Array.from({ length: n }, async (_, p) => parseView(
          await c.ctdbAsync(p, ['-X', 'status'], { timeoutMs: 10_000 }), await c.ctdbAsync(p, ['status'], { timeoutMs: 10_000 }))));
        const missing = views.findIndex((v) => !v);
        if (missing >= 0) why = `node ${missing} does not answer`;
        else {
          const vs = views as View[];
          const bad = vs.flatMap((v, p) => v.flags.map((f, q) => (f !== '00000000' ? `node ${p} sees node ${q} flags ${f}` : ''))).filter((s) => s);
          const gens = new Set(vs.map((v) => v.generation));
          const leaders = new Set(vs.map((v) => v.leader));
          if (bad.length > 0) why = bad[0]!;
          else if (gens.size !== 1) why = `generations differ: ${[...gens].join(',')}`;
          else if (leaders.size !== 1 || [...leaders][0] === '?') why = `leaders differ: ${[...leaders].join(',')}`;
          else return undefined;
        }
        await sleep(500);
      }
      return why;
    };

    const write = async (round: number, i: number): Promise<'ok' | 'failed'> => {
      const live = Array.from({ length: n }, (_, p) => p).filter((p) => c.procs.has(p) && !stopped.has(p));
      if (live.length === 0) return 'failed';
      const p = rng.pick(live);
      const key = `r${round}-k${i % 3}`;
      const value = `v${round}-${i}-${rng.u32().toString(16)}`;
      const r = await c.ctdbAsync(p, ['pstore', DB, key, value], { timeoutMs: 30_000 });
      if (r.code !== 0) return 'failed';
      committed.set(key, value);
      return 'ok';
    };

    /** Committed records missing or stale on any node. */
    const countLost = async (): Promise<{ lost: number; detail: string }> => {
      let lost = 0; let detail = '';
      for (let p = 0; p < n; p++) {
        const r = await c.ctdbAsync(p, ['catdb', DB], { timeoutMs: 30_000 });
        const recs = new Map<string, string>();
        for (const m of r.stdout.matchAll(/key\(\d+\) = "(.*)"\n(?:.*\n){3}data\(\d+\) = "(.*)"\n/g)) recs.set(m[1]!, m[2]!);
        for (const [k, v] of committed) {
          if (recs.get(k) !== v) { lost++; if (!detail) detail = `node ${p}: ${k} is ${recs.get(k) ?? 'missing'}, committed ${v}`; }
        }
      }
      return { lost, detail };
    };

    for (let round = 1; round <= o.rounds; round++) {
      const fault = rng.pick(o.faults ?? REAL_FAULTS.filter((f) => f !== 'lockfile' || o.lock));
      const node = rng.int(n);
      summary.faults[fault] = (summary.faults[fault] ?? 0) + 1;
      const res: RoundResult = { round, fault, node, recovered: false, committed: 0, failedWrites: 0, lost: 0, zombies: 0, detail: '' };
      const writes = o.writesPerRound ?? 3;
      const writer = (async () => {
        for (let i = 0; i < writes; i++) {
          if ((await write(round, i)) === 'ok') res.committed++; else res.failedWrites++;
          await sleep(200 + rng.int(800));
        }
      })();
      if (fault === 'kill9') {
        await c.kill(node, 'SIGKILL');
        await sleep(1000 + rng.int(3000));
        c.start(node);
      } else if (fault === 'stop') {
        const pid = c.procs.get(node)!.pid!;
        process.kill(pid, 'SIGSTOP'); stopped.add(node);
        await sleep(1000 + rng.int(6000));
        process.kill(pid, 'SIGCONT'); stopped.delete(node);
      } else if (fault === 'lockfile') {
        // The lock file vanishes under its holder: the helper must notice, and one node must take a new lock.
        if (!o.lock) res.detail = 'no cluster lock configured';
        else rmSync(join(c.dir, 'cluster.lock'), { force: true });
        await sleep(2000 + rng.int(3000));
      } else {
        const pid = c.procs.get(node)!.pid!;
        const eventd = childrenOf(pid).find((ch) => commandOf(ch).includes('ctdb-eventd'));
        if (eventd) process.kill(eventd, 'SIGKILL');
        else res.detail = 'no event daemon found';
        await sleep(1000 + rng.int(2000));
        // The daemon may exit when its event daemon dies; a supervisor would restart it.
        const p = c.procs.get(node);
        if (!p || p.exitCode !== null || p.signalCode !== null) { res.detail ||= 'ctdbd exited after its event daemon was killed; restarted'; c.start(node); }
      }
      await writer;
      const why = await settle(o.settleMs ?? 90_000);
      res.recovered = why === undefined;
      if (why) res.detail = res.detail ? `${res.detail}; ${why}` : why;
      const l = await countLost();
      res.lost = l.lost;
      if (l.detail) res.detail = res.detail ? `${res.detail}; ${l.detail}` : l.detail;
      res.zombies = countZombies(c);
      summary.rounds.push(res);
      summary.committed += res.committed; summary.failedWrites += res.failedWrites;
      summary.lost += res.lost; summary.zombies += res.zombies; summary.notRecovered += res.recovered ? 0 : 1;
      log(`round ${round}: ${fault} node ${node}: recovered=${res.recovered} committed=${res.committed} failed-writes=${res.failedWrites} lost=${res.lost} zombies=${res.zombies}${res.detail ? ` (${res.detail})` : ''}`);
      if (!res.recovered) {
        // Repair as a service manager would (kill -9 and restart the faulted node) so later rounds still test something.
        await c.kill(node, 'SIGKILL');
        c.start(node);
        const again = await settle(o.settleMs ?? 90_000);
        log(`round ${round}: repaired by restarting node ${node}: ${again ?? 'cluster agrees again'}`);
        if (again) break;
      }
    }
    return summary;
  } finally {
    process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal);
    for (const p of stopped) { const pid = c.procs.get(p)?.pid; if (pid) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } } }
    await c.stop();
  }
}
