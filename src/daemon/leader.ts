import { randomInt } from 'node:crypto';
import { Capability, INVALID_GENERATION, NodeFlag, RecMode, Srvid } from '../protocol/constants.js';
import { Opcode, opcodeName } from '../protocol/opcodes.js';
import { writeAll } from '../protocol/buffer.js';
import { encodeBanState } from '../protocol/payloads.js';
import type { Ctdbd } from './ctdbd.js';

/**
 * The leader's periodic duties (every RecoverInterval while this node is the
 * settled leader): check that every active node agrees on generation, vnnmap
 * and recovery mode, and run a recovery when they do not.
 */
export class LeaderLoop {
  recovering = false;
  private busy = false;
  private lastRecoveryEnd = 0;
  /** Why the last recovery ran (for logs and status). */
  lastReason = '';
  /**
   * Database recovery, plugged in by the databases layer: runs between the
   * new vnnmap and recovery mode NORMAL. Throws to fail the recovery.
   */
  recoverDatabases?: (active: number[], generation: number) => Promise<void>;

  constructor(private readonly d: Ctdbd) {}

  /** One loop iteration; never throws. */
  async step(): Promise<void> {
    const d = this.d;
    if (!d.election.isLeader(Date.now())) {
      // Credits are the leader's judgement; a new leader starts with none.
      d.leadership.credits.clear();
      return;
    }
    if (this.busy) return;
    if ((d.membership.ownFlags & NodeFlag.INACTIVE) !== 0) return;
    this.busy = true;
    try {
      const reason = await this.needRecovery();
      if (reason) await this.runRecovery(reason);
    } catch (err) {
      d.log.warn({ err }, 'leader loop step failed');
    } finally {
      this.busy = false;
    }
  }

  /** The LMASTER-capable active nodes, in PNN order: the vnnmap a recovery installs. */
  async expectedVnnmap(active: number[]): Promise<number[]> {
    const caps = await Promise.all(active.map(async (pnn) => {
      const r = await this.d.sendControl(pnn, Opcode.GET_CAPABILITIES, Buffer.alloc(0), 3000);
      return r.status === 0 && r.data && r.data.length >= 4 ? r.data.readUInt32LE(0) : 0;
    }));
    const map = active.filter((_, i) => (caps[i]! & Capability.LMASTER) !== 0);
    return map.length > 0 ? map : active.slice(0, 1);
  }

  /** Why a recovery is needed now, or undefined. */
  async needRecovery(): Promise<string | undefined> {
    const d = this.d;
    const active = d.membership.activeNodes();
    if (d.vnnmap.generation === INVALID_GENERATION) return 'no valid generation';
    const l = d.leadership;
    if (l.banRules().enabled && l.credits.overThreshold(l.numNodes())) return 'a node reached the ban threshold';
    const expected = await this.expectedVnnmap(active);
    if (expected.join(',') !== d.vnnmap.map.join(',')) return 'vnnmap does not match the active nodes';
    for (const pnn of active) {
      if (pnn === d.pnn) {
        if (d.recmode !== RecMode.NORMAL) return 'local node in recovery mode';
        continue;
      }
      const vm = await d.sendControl(pnn, Opcode.GETVNNMAP, Buffer.alloc(0), 3000);
      if (vm.status !== 0 || !vm.data || vm.data.length < 4) return undefined; // the node is going away; membership will tell
      const gen = vm.data.readUInt32LE(0);
      if (gen !== d.vnnmap.generation) return `node ${pnn} has generation ${gen}`;
      const rm = await d.sendControl(pnn, Opcode.GET_RECMODE, Buffer.alloc(0), 3000);
      if (rm.status === RecMode.ACTIVE) return `node ${pnn} is in recovery mode`;
    }
    return undefined;
  }

  /**
   * Bans every node at the ban threshold (SET_BAN_STATE for RecoveryBanPeriod).
   * True when a ban was sent: the recovery waits for the flags to settle and
   * runs again at the next step (at once aborted when the leader banned itself).
   */
  private async applyBans(): Promise<boolean> {
    const d = this.d;
    const l = d.leadership;
    const bans = l.credits.takeBans(l.numNodes(), l.banRules());
    for (const b of bans) {
      d.log.warn({ pnn: b.pnn, credits: b.credits, seconds: b.seconds }, 'banning node: too many ban credits');
      const data = writeAll(encodeBanState, { pnn: b.pnn, time: b.seconds });
      const r = await d.sendControl(b.pnn, Opcode.SET_BAN_STATE, data, d.tunable('RecoverTimeout') * 1000);
      if (r.status !== 0) d.log.warn({ pnn: b.pnn, errmsg: r.errmsg }, 'ban failed');
    }
    return bans.length > 0;
  }

  /** Installs a new generation and vnnmap on every active node. */
  async runRecovery(reason: string): Promise<boolean> {
    const d = this.d;
    const t0 = Date.now();
    const hold = d.opts.paths.testMode ? 0 : d.tunable('RerecoveryTimeout') * 1000;
    if (this.lastRecoveryEnd && t0 - this.lastRecoveryEnd < hold) return false;
    if (await this.applyBans()) return false;
    this.recovering = true;
    this.lastReason = reason;
    d.lastRecoveryStarted = t0;
    d.log.info({ reason }, 'starting recovery');
    try {
      const active = d.membership.activeNodes();
      const map = await this.expectedVnnmap(active);
      const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
      const all = async (opcode: number, data: Buffer): Promise<void> => {
        const res = await Promise.all(active.map((pnn) => d.sendControl(pnn, opcode, data, d.tunable('RecoverTimeout') * 1000)));
        const bad = active.filter((_, i) => res[i]!.status !== 0);
        // Each node that failed a recovery control earns one ban credit.
        for (const pnn of bad) d.leadership.addCredits(pnn, 1, `recovery control ${opcodeName(opcode)} failed`);
        if (bad.length > 0) throw new Error(`control ${opcodeName(opcode)} failed on node ${bad.join(',')}`);
      };
      await all(Opcode.SET_RECMODE, u32(RecMode.ACTIVE));
      await all(Opcode.START_RECOVERY, Buffer.alloc(0));
      let generation = INVALID_GENERATION;
      while (generation === INVALID_GENERATION || generation === d.vnnmap.generation) generation = randomInt(2, 0x7fffffff);
      const vm = Buffer.alloc(8 + 4 * map.length);
      vm.writeUInt32LE(generation, 0); vm.writeUInt32LE(map.length, 4);
      map.forEach((p, i) => vm.writeUInt32LE(p, 8 + 4 * i));
      // A leader that was paused (or lost its cluster lock) must not install a generation.
      const stillLeader = (): void => {
        if (!d.election.isLeader(Date.now())) throw new Error('no longer the leader (or the cluster lock was lost) during recovery');
      };
      stillLeader();
      await all(Opcode.SETVNNMAP, vm);
      if (this.recoverDatabases) await this.recoverDatabases(active, generation);
      stillLeader();
      await all(Opcode.SET_RECMODE, u32(RecMode.NORMAL));
      await all(Opcode.END_RECOVERY, Buffer.alloc(0));
      d.broadcastMessage(Srvid.RECONFIGURE, Buffer.alloc(0), true);
      d.stats.numRecoveries++;
      d.leadership.credits.clear();
      this.lastRecoveryEnd = Date.now();
      d.log.info({ generation, map, ms: Date.now() - t0 }, 'recovery complete');
      void d.takeoverRun();
      return true;
    } catch (err) {
      d.log.warn({ err }, 'recovery failed; will retry');
      return false;
    } finally {
      this.recovering = false;
    }
  }
}
