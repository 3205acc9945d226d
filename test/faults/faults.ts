/**
 * Fault injection on real daemons (a LocalCluster on 127.0.0.180+, or with
 * `netns` a cluster in network namespaces with real public addresses): each
 * round injects one fault chosen by a seeded rng — kill -9 and restart of a
 * node, SIGSTOP/SIGCONT of a node, kill -9 of a node's event daemon, the
 * cluster lock file deleted, a full disk under a node's persistent database
 * folder (a small tmpfs), a node's link taken down (a partition) — while a
 * writer commits persistent records (`ctdb pstore`) on live nodes. After
 * each round: every node answers, all agree on leader, generation and
 * flags, no committed record is lost or stale, all nodes hold the same
 * value for every record, no zombie is left and (netns) every public
 * address is on exactly one node.
 *
 * Found by these rounds and fixed (issue #9): a persistent commit that
 * fails part-way stays applied on the nodes it reached and raises their
 * sequence number; a node left out of the next recovery (SIGSTOPped, or
 * partitioned while the lock holder recovered alone) could then win the
 * seqnum contest on rejoining and replace commits acknowledged meanwhile.
 * Recovery now ranks copies by (recovery epoch, seqnum) and a commit from
 * another generation is refused (ctdb-databases(7), commit rule). Replays:
 * `npx tsx test/faults/run.ts --netns --rounds 8 --seed 2027` (round 5),
 * `npm run faults -- --netns --rounds 3 --faults partition`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { LocalCluster, type RunResult } from '../harness/cluster.js';
import { FAST_TUNABLES, leadershipCluster } from '../integration/leadership-helpers.js';
import { FaultNetnsCluster, type IpCount } from '../netns/fault-cluster.js';
import { Rng } from '../sim/rng.js';

/** Fault kinds injected on real daemons. */
export const REAL_FAULTS = ['kill9', 'stop', 'eventd', 'lockfile', 'diskfull', 'partition'] as const;
export type RealFault = typeof REAL_FAULTS[number];

/** What the rounds need of a cluster (LocalCluster, or FaultNetnsCluster). */
interface FaultCluster {
  readonly dir: string;
  readonly procs: Map<number, ChildProcess>;
  base(pnn: number): string;
  startAll(): void;
  start(pnn: number): unknown;
  kill(pnn: number, signal?: NodeJS.Signals): Promise<void>;
  ctdbAsync(pnn: number, args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  waitAllOk(pnn?: number, timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** Public addresses of a namespace fault run (inside its namespaces only). */
const NETNS_PUBLIC_IPS = ['10.78.0.11', '10.78.0.12', '10.78.0.13', '10.78.0.14', '10.78.0.15'];

/** Size of the tmpfs under each node's persistent database folder (diskfull). */
const DB_TMPFS = '4m';

/** Fills the file system holding `dir` with one file until ENOSPC; returns its path and size. */
function fillDisk(dir: string): { path: string; bytes: number } {
  const path = join(dir, 'faults-filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let bytes = 0;
  try {
    for (let i = 0; i < 100_000; i++) {
      let n = chunk;
      try { bytes += writeSync(fd, n); } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // Finish off the last pages with small writes.
        n = Buffer.alloc(512, 0x5a);
        for (let j = 0; j < 200; j++) { try { bytes += writeSync(fd, n); } catch { break; } }
        break;
      }
    }
  } finally { closeSync(fd); }
  return { path, bytes };
}

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
  /**
   * Mount a small tmpfs under every node's persistent database folder
   * (root; unmounted at the end) and allow the 'diskfull' fault.
   */
  diskfull?: boolean;
  /**
   * Run the nodes in network namespaces with public addresses (root) and a
   * cluster lock; allows the 'partition' fault and counts addresses hosted
   * twice or on no node after every round.
   */
  netns?: boolean;
  /**
   * Writes run while the fault is on (default). false: they run just before
   * it, so a round checks only that healing keeps what was committed.
   */
  writeDuringFault?: boolean;
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
  /** Records whose value differs between nodes. */
  diverged: number;
  /** Public addresses on two or more nodes / on none, after recovery (netns runs). */
  duplicates: number; unhosted: number;
  /** diskfull: a write while full failed with an error (1), or succeeded / hung (0). */
  fullWriteFailedCleanly?: number;
  /** partition: the other nodes never saw the node disconnected (the fault did not bite). */
  partitionUnseen?: number;
  /** diskfull: writes after the space was freed that failed. */
  afterFreeFailed?: number;
  detail: string;
}

/** Totals of a run. */
export interface FaultSummary {
  seed: number; rounds: RoundResult[];
  faults: Record<string, number>;
  committed: number; failedWrites: number; lost: number; zombies: number; notRecovered: number;
  diverged: number; duplicates: number; unhosted: number;
  /** diskfull rounds whose write while full did not fail cleanly, or whose write after freeing failed. */
  diskfullProblems: number;
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
function countZombies(c: { procs: Map<number, ChildProcess> }): number {
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
  // A node that fails recovery on a full disk is banned (RecoveryBanPeriod): keep that short.
  // CTDB_FAULTS_BAN_PERIOD=default keeps the daemon's default (300 s), to replay ban-related hangs.
  const banPeriod = process.env.CTDB_FAULTS_BAN_PERIOD ?? '5';
  const banTunable = o.diskfull && banPeriod !== 'default' ? `RecoveryBanPeriod=${Number(banPeriod) || 5}\n` : '';
  const keep = process.env.CTDB_FAULTS_KEEP === '1';
  const nc = o.netns ? new FaultNetnsCluster(n, NETNS_PUBLIC_IPS, { lock: true }) : undefined;
  const c: FaultCluster = nc ?? (o.lock
    ? leadershipCluster({ nodes: n, firstOctet: o.firstOctet ?? 180, lock: (dir) => join(dir, 'cluster.lock'), keep, tunables: FAST_TUNABLES + banTunable })
    : new LocalCluster({ nodes: n, firstOctet: o.firstOctet ?? 180, keep, tunables: banTunable || undefined }));
  if (keep) log(`keeping the cluster folder ${c.dir} (CTDB_FAULTS_KEEP=1)`);
  const hasLock = o.lock || o.netns;
  const mounts: string[] = [];
  const committed = new Map<string, string>();
  /** Values a write that reported failure may or may not have left behind. */
  const uncertain = new Map<string, Set<string>>();
  const summary: FaultSummary = {
    seed: o.seed, rounds: [], faults: {}, committed: 0, failedWrites: 0, lost: 0, zombies: 0, notRecovered: 0,
    diverged: 0, duplicates: 0, unhosted: 0, diskfullProblems: 0,
  };
  const stopped = new Set<number>();
  const onSignal = (): void => {
    for (const p of c.procs.values()) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    process.exit(130);
  };
  if (o.handleSignals) { process.once('SIGINT', onSignal); process.once('SIGTERM', onSignal); }
  try {
    if (nc) nc.setup();
    if (o.diskfull) {
      for (let p = 0; p < n; p++) {
        const dir = join(c.base(p), 'db/persistent');
        const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${DB_TMPFS},mode=0700`, 'ctrel-faults', dir], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`cannot mount a tmpfs on ${dir} (root needed): ${r.stderr.trim()}`);
        mounts.push(dir);
      }
    }
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
      if (r.code !== 0) {
        // The outcome is unknown (a timeout may still commit): either value is acceptable later.
        const ok = uncertain.get(key) ?? new Set<string>();
        ok.add(value);
        uncertain.set(key, ok);
        return 'failed';
      }
      committed.set(key, value);
      uncertain.delete(key);
      return 'ok';
    };

    /** Committed records missing or stale on any node, and records whose value differs between nodes. */
    const countLost = async (): Promise<{ lost: number; diverged: number; detail: string }> => {
      let lost = 0; let detail = '';
      const views: Array<Map<string, string>> = [];
      for (let p = 0; p < n; p++) {
        const r = await c.ctdbAsync(p, ['catdb', DB], { timeoutMs: 30_000 });
        const recs = new Map<string, string>();
        for (const m of r.stdout.matchAll(/key\(\d+\) = "(.*)"\n(?:.*\n){3}data\(\d+\) = "(.*)"\n/g)) recs.set(m[1]!, m[2]!);
        views.push(recs);
        for (const [k, v] of committed) {
          const got = recs.get(k);
          if (got !== v && !(got !== undefined && uncertain.get(k)?.has(got))) {
            lost++; if (!detail) detail = `node ${p}: ${k} is ${got ?? 'missing'}, committed ${v}`;
          }
        }
      }
      // Count each lost record once: later rounds compare against what is left.
      for (const [k, v] of [...committed]) {
        if (views.some((recs) => recs.get(k) !== v && !(recs.get(k) !== undefined && uncertain.get(k)?.has(recs.get(k)!)))) committed.delete(k);
      }
      let diverged = 0;
      const keys = new Set(views.flatMap((v) => [...v.keys()]));
      for (const k of keys) {
        const vals = new Set(views.map((v) => v.get(k) ?? '<missing>'));
        if (vals.size > 1) { diverged++; if (!detail) detail = `${k} differs between nodes: ${[...vals].join(' / ')}`; }
      }
      return { lost, diverged, detail };
    };

    /** Waits (bounded) until every public address is on exactly one node; returns the last count. */
    const settleIps = async (): Promise<IpCount> => {
      let last: IpCount = { duplicates: 0, unhosted: 0, detail: '' };
      if (!nc) return last;
      for (let i = 0; i < 60; i++) {
        last = nc.countIps();
        if (last.duplicates === 0 && last.unhosted === 0) return last;
        await sleep(500);
      }
      return last;
    };

    for (let round = 1; round <= o.rounds; round++) {
      const fault = rng.pick(o.faults ?? REAL_FAULTS.filter((f) => (f !== 'lockfile' || hasLock) && (f !== 'diskfull' || o.diskfull) && (f !== 'partition' || o.netns)));
      const node = rng.int(n);
      summary.faults[fault] = (summary.faults[fault] ?? 0) + 1;
      const res: RoundResult = {
        round, fault, node, recovered: false, committed: 0, failedWrites: 0, lost: 0, zombies: 0, diverged: 0, duplicates: 0, unhosted: 0, detail: '',
      };
      const note = (s: string): void => { res.detail = res.detail ? `${res.detail}; ${s}` : s; };
      const writes = o.writesPerRound ?? 3;
      const writeNow = async (): Promise<void> => {
        for (let i = 0; i < writes; i++) {
          if ((await write(round, i)) === 'ok') res.committed++; else res.failedWrites++;
          await sleep(200 + rng.int(800));
        }
      };
      let writer: Promise<void>;
      if (o.writeDuringFault === false) { await writeNow(); writer = Promise.resolve(); } else writer = writeNow();
      if (fault === 'kill9') {
        await c.kill(node, 'SIGKILL');
        await sleep(1000 + rng.int(3000));
        c.start(node);
      } else if (fault === 'diskfull') {
        if (!o.diskfull) note('no tmpfs mounted (diskfull option off)');
        else {
          const fill = fillDisk(join(c.base(node), 'db/persistent'));
          // Writes that need new space on the full node (the TDB file may still have room inside,
          // so keep adding ~96 KiB records until one fails): the failure must be an error, not a hang or a crash.
          res.fullWriteFailedCleanly = 0;
          let err = '';
          let up = true;
          for (let i = 0; i < 12; i++) {
            const key = `r${round}-full-${i}`;
            const big = `full-${round}-${i}-${'x'.repeat(96 * 1024)}`;
            const r = await c.ctdbAsync(node, ['pstore', DB, key, big], { timeoutMs: 45_000 });
            const p = c.procs.get(node);
            up = !!p && p.exitCode === null && p.signalCode === null;
            if (r.code === 0) { committed.set(key, big); continue; }
            err = (r.stderr.trim().split('\n').pop() ?? '').slice(0, 160);
            const maybe = uncertain.get(key) ?? new Set<string>(); maybe.add(big); uncertain.set(key, maybe);
            if (r.code !== -1 && err !== '' && up) res.fullWriteFailedCleanly = 1;
            else note(`write while full: exit ${r.code}${r.code === -1 ? ' (killed after 45 s: hung)' : ''}, daemon ${up ? 'up' : 'DOWN'}, stderr '${err}'`);
            note(`write ${i + 1} while full failed: ${err || 'no error text'}`);
            break;
          }
          if (err === '' && up) note('no write failed while the disk was full (12 x 96 KiB fitted)');
          note(`filled ${fill.bytes} bytes`);
          await sleep(500 + rng.int(1500));
          rmSync(fill.path, { force: true });
          if (!up) { note('ctdbd exited on the full disk; restarted'); c.start(node); }
          // Space is back: once the cluster agrees again (a ban for failing recovery has run out),
          // writes through the node that was full must succeed again.
          const why = await settle(o.settleMs ?? 90_000);
          if (why) note(`after freeing space: ${why}`);
          res.afterFreeFailed = 0;
          for (let i = 0; i < 2; i++) {
            const key = `r${round}-after-${i}`;
            const value = `after-${round}-${i}`;
            const w = await c.ctdbAsync(node, ['pstore', DB, key, value], { timeoutMs: 30_000 });
            if (w.code === 0) { committed.set(key, value); res.committed++; }
            else { res.afterFreeFailed++; note(`write after freeing space failed: ${w.stderr.trim().split('\n').pop() ?? ''}`); }
          }
        }
      } else if (fault === 'partition') {
        if (!nc) note('no namespaces (netns option off)');
        else {
          nc.setLink(node, false);
          // Hold the partition until the rest of the cluster sees the node disconnected (bounded), then a little longer.
          const other = (node + 1) % n;
          let seen = false;
          for (let i = 0; i < 30 && !seen; i++) {
            await sleep(500);
            const x = await c.ctdbAsync(other, ['-X', 'status'], { timeoutMs: 10_000 });
            const row = x.stdout.split('\n').find((l) => l.startsWith(`|${node}|`));
            seen = row?.split('|')[3] === '1';
          }
          await sleep(1000 + rng.int(4000));
          const during = nc.countIps();
          nc.setLink(node, true);
          note(`partition ${seen ? 'seen' : 'NOT seen'} by node ${other}; during it: duplicates=${during.duplicates} unhosted=${during.unhosted}`);
          if (!seen) res.partitionUnseen = 1;
        }
      } else if (fault === 'stop') {
        const pid = c.procs.get(node)!.pid!;
        process.kill(pid, 'SIGSTOP'); stopped.add(node);
        await sleep(1000 + rng.int(6000));
        process.kill(pid, 'SIGCONT'); stopped.delete(node);
      } else if (fault === 'lockfile') {
        // The lock file vanishes under its holder: the helper must notice, and one node must take a new lock.
        if (!hasLock) res.detail = 'no cluster lock configured';
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
      if (why) note(why);
      let repairFailed = false;
      if (!res.recovered) {
        // Say why a node is unhealthy (its failing monitor script), for the report.
        for (let p = 0; p < n; p++) {
          const ev = await c.ctdbAsync(p, ['event', 'status', 'legacy', 'monitor'], { timeoutMs: 10_000 });
          if (ev.code !== 0) note(`node ${p} monitor: ${ev.stdout.replace(/\s+/g, ' ').trim().slice(0, 200)}`);
        }
        // Repair as a service manager would (kill -9 and restart the faulted node) so later rounds still test something.
        await c.kill(node, 'SIGKILL');
        c.start(node);
        const again = await settle(o.settleMs ?? 90_000);
        note(`repaired by restarting node ${node}: ${again ?? 'cluster agrees again'}`);
        repairFailed = again !== undefined;
      }
      const l = await countLost();
      res.lost = l.lost; res.diverged = l.diverged;
      if (l.detail) note(l.detail);
      res.zombies = countZombies(c);
      const ips = await settleIps();
      res.duplicates = ips.duplicates; res.unhosted = ips.unhosted;
      if (ips.detail) note(ips.detail);
      summary.rounds.push(res);
      summary.committed += res.committed; summary.failedWrites += res.failedWrites;
      summary.lost += res.lost; summary.zombies += res.zombies; summary.notRecovered += res.recovered ? 0 : 1;
      summary.diverged += res.diverged; summary.duplicates += res.duplicates; summary.unhosted += res.unhosted;
      if (fault === 'diskfull' && o.diskfull && (res.fullWriteFailedCleanly !== 1 || (res.afterFreeFailed ?? 0) > 0)) summary.diskfullProblems++;
      const extra = (nc ? ` duplicates=${res.duplicates} unhosted=${res.unhosted}` : '')
        + (res.fullWriteFailedCleanly !== undefined ? ` full-write-failed-cleanly=${res.fullWriteFailedCleanly === 1} after-free-failed=${res.afterFreeFailed}` : '');
      log(`round ${round}: ${fault} node ${node}: recovered=${res.recovered} committed=${res.committed} failed-writes=${res.failedWrites} lost=${res.lost} diverged=${res.diverged} zombies=${res.zombies}${extra}${res.detail ? ` (${res.detail})` : ''}`);
      if (repairFailed) break;
    }
    return summary;
  } finally {
    process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal);
    for (const p of stopped) { const pid = c.procs.get(p)?.pid; if (pid) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } } }
    if (mounts.length > 0) {
      // Daemons first (they hold the files), then the mounts, then the folders.
      await Promise.all([...c.procs.keys()].map((p) => c.kill(p, 'SIGTERM')));
      for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    }
    await c.stop();
  }
}
