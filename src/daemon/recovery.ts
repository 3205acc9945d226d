/**
 * Daemon side of database recovery: the leader runs `ctdb_recovery_helper`
 * as a child process for the database step of each recovery (between the
 * new vnnmap and recovery mode NORMAL), waits for it with a deadline, and
 * turns the culprits it reports into ban credits. Every node also tracks
 * peers that were banned or stopped: their volatile records are not pulled
 * at the next recovery that includes them again, so records deleted while
 * they were away cannot come back (zombie prevention).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CtdbError } from '../common/errors.js';
import { NodeFlag, RecMode } from '../protocol/constants.js';
import type { Ctdbd } from './ctdbd.js';
import { attachVacuum } from './vacuum.js';
import { helperEnv } from '../common/helper-env.js';

/** Flags that make a node's volatile records untrustworthy when it comes back. */
const AWAY = NodeFlag.BANNED | NodeFlag.STOPPED;

/** Nodes that were banned/stopped and have not been through a recovery since they returned. */
export class StaleNodes {
  private readonly stale = new Map<number, number | undefined>();

  /** Feeds the current flags of every node and the current generation/recovery mode. */
  observe(nodes: Array<{ pnn: number; flags: number }>, generation: number, recmode: number): void {
    for (const n of nodes) {
      if (n.flags & AWAY) { this.stale.set(n.pnn, undefined); continue; }
      if (!this.stale.has(n.pnn)) continue;
      const returnedAt = this.stale.get(n.pnn);
      if (returnedAt === undefined) this.stale.set(n.pnn, generation);
      else if (returnedAt !== generation && recmode === RecMode.NORMAL) this.stale.delete(n.pnn);
    }
  }

  /** The stale nodes among `active`. */
  among(active: number[]): number[] { return active.filter((p) => this.stale.has(p)); }

  /** Forgets nodes after a recovery wiped and refilled them. */
  clear(pnns: number[]): void { for (const p of pnns) this.stale.delete(p); }
}

/** Plugs database recovery (and vacuuming) into the daemon. */
export function attachRecovery(d: Ctdbd): void {
  const log = d.log.child({ component: 'recovery' });
  const stale = new StaleNodes();
  const observe = (): void => {
    stale.observe(d.membership.list().map((n) => ({ pnn: n.pnn, flags: d.membership.flagsOf(n.pnn) })), d.vnnmap.generation, d.recmode);
  };
  const timer = setInterval(observe, 200);
  timer.unref();
  d.onStop(() => clearInterval(timer));

  d.leader.recoverDatabases = async (active, generation) => {
    observe();
    const noPull = d.pnn === undefined ? [] : stale.among(active).filter((p) => p !== d.pnn);
    await runHelper(d, log, active, generation, noPull);
    stale.clear(active);
  };
  attachVacuum(d);
}

/** Spawns the helper and waits for it; throws (after giving credits) when it fails. */
async function runHelper(d: Ctdbd, log: Ctdbd['log'], active: number[], generation: number, noPull: number[]): Promise<void> {
  const script = join(d.opts.paths.helperDir, 'ctdb_recovery_helper.js');
  const args = [script, '-', d.opts.paths.socket, String(generation), active.join(',')];
  if (noPull.length > 0) args.push('--no-pull', noPull.join(','));
  // The helper's own controls time out after RecoverTimeout; the whole run gets a few rounds of that.
  const deadlineMs = Math.max(10, d.tunable('RecoverTimeout') || 30) * 1000 * 4;
  const t0 = Date.now();
  log.info({ generation, active, noPull }, 'starting recovery helper');
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: helperEnv({ CTDB_DEBUGLEVEL: process.env.CTDB_DEBUGLEVEL ?? 'NOTICE' }),
  });
  const culprits = new Map<number, number>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^culprit (\d+) (\d+)$/.exec(line.trim());
    if (m) culprits.set(Number(m[1]), Number(m[2]));
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    let fields: Record<string, unknown> | undefined;
    try { fields = JSON.parse(line) as Record<string, unknown>; } catch { /* plain text */ }
    if (fields) {
      const { msg, level, time: _t, pid: _p, hostname: _h, ...rest } = fields;
      const lvl = typeof level === 'number' && level >= 50 ? 'error' : typeof level === 'number' && level >= 40 ? 'warn' : 'info';
      log[lvl]({ helper: child.pid, ...rest }, String(msg ?? ''));
    } else if (line.trim() !== '') log.warn({ helper: child.pid }, line);
  });
  const code = await new Promise<number>((resolve) => {
    const timer = setTimeout(() => {
      log.error({ pid: child.pid, deadlineMs }, 'recovery helper timed out; killing it');
      child.kill('SIGKILL');
    }, deadlineMs);
    child.once('error', (err) => { log.error({ err }, 'cannot start recovery helper'); });
    child.once('close', (c, sig) => { clearTimeout(timer); resolve(c ?? (sig ? -1 : 1)); });
  });
  for (const [pnn, n] of culprits) d.leadership.addCredits(pnn, n, 'failed database recovery controls');
  if (code !== 0) throw new CtdbError('EIO', `recovery helper failed with status ${code}`);
  log.info({ generation, ms: Date.now() - t0 }, 'databases recovered');
}
