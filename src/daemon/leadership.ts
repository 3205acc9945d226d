/**
 * Daemon side of leadership: the cluster lock the election races for (when
 * `[cluster] cluster lock` is set), recovery mode at election start, and the
 * leader's ban credits (fed by failed recovery controls and SRVID_BANNING).
 * The decisions live in src/cluster (election, banning); this wires them to
 * the lock helper and controls.
 */
import type { Logger } from 'pino';
import { oneLine } from '../common/errors.js';
import { BanCredits, type BanRules } from '../cluster/banning.js';
import { ClusterLock, parseClusterLockSetting } from '../cluster/cluster-lock.js';
import type { ElectionAction } from '../cluster/election.js';
import { NodeFlag, RecMode, Srvid } from '../protocol/constants.js';
import { Opcode } from '../protocol/opcodes.js';
import type { Ctdbd } from './ctdbd.js';

/** The daemon surface leadership needs (kept narrow so tests and readers see the contract). */
type Daemon = Pick<Ctdbd, 'opts' | 'log' | 'election' | 'membership' | 'pnn' | 'tunable' | 'onMessage' | 'onStop'
  | 'sendControlNoReply' | 'applyElection'> & { recmode: number };

/** Leadership state of one daemon: the cluster lock (if configured) and ban credits. */
export class Leadership {
  readonly credits = new BanCredits();
  /** The configured lock setting, or undefined when leadership is decided by messages. */
  readonly lockSetting: string | undefined;
  private readonly lock: ClusterLock | undefined;
  private readonly log: Logger;
  private stopped = false;
  /** Why the lock cannot be used at all (bad setting); logged on every attempt. */
  private readonly lockProblem: string | undefined;
  private lastResult: string = 'not tried';

  constructor(private readonly d: Daemon) {
    this.log = d.log.child({ component: 'leadership' });
    this.lockSetting = d.opts.config.cluster.clusterLock;
    if (this.lockSetting !== undefined) {
      let argv: string[] | undefined;
      try {
        argv = parseClusterLockSetting(this.lockSetting, d.opts.paths.helperDir).argv;
      } catch (err) {
        this.lockProblem = oneLine(err);
        this.log.error({ err, setting: this.lockSetting }, 'cluster lock setting unusable: this node will never lead');
      }
      if (argv) {
        this.lock = new ClusterLock({ argv, timeoutMs: this.takeTimeoutMs(), log: d.log.child({ component: 'cluster-lock' }) });
        this.lock.on('lost', () => {
          if (this.stopped) return;
          this.lastResult = 'lost';
          d.applyElection(d.election.onLockLost(Date.now(), d.membership.connectedPeers().length));
        });
      }
    }
    d.onMessage(Srvid.BANNING, (data) => this.onBanningMessage(data));
    d.onStop(() => this.stop());
  }

  /** True when this node holds the cluster lock. */
  get lockHeld(): boolean { return this.lock?.held ?? false; }

  /** A one-line state of the lock for logs and status ("held", "contended", …). */
  get lockState(): string {
    if (this.lockSetting === undefined) return 'none';
    if (this.lockProblem) return `unusable: ${this.lockProblem}`;
    return this.lock?.held ? 'held' : this.lastResult;
  }

  /** How long a helper may take to answer before it is killed ('timeout'). */
  private takeTimeoutMs(): number {
    return Math.max(2000, 2 * this.d.opts.config.cluster.leaderTimeout * 1000);
  }

  /** The ban rules from the current tunables. */
  banRules(): BanRules {
    return {
      gracePeriodSec: this.d.tunable('RecoveryGracePeriod'),
      banPeriodSec: Math.max(1, this.d.tunable('RecoveryBanPeriod')),
      enabled: this.d.tunable('EnableBans') !== 0,
    };
  }

  /** Number of nodes in the nodes file (deleted ones excluded): the ban threshold base. */
  numNodes(): number {
    return this.d.membership.list().filter((n) => (n.flags & NodeFlag.DELETED) === 0).length;
  }

  /** Gives `pnn` `n` ban credits (leader only; ignored while this node is inactive). */
  addCredits(pnn: number, n: number, why: string): void {
    this.credits.add(pnn, n, Date.now(), this.banRules(), this.d.membership.ownFlags);
    this.log.info({ pnn, added: n, credits: this.credits.count(pnn), why }, 'ban credits given');
  }

  private onBanningMessage(data: Buffer): void {
    if (data.length < 4 || !this.d.election.isLeader(Date.now())) return;
    const pnn = data.readUInt32LE(0);
    this.addCredits(pnn, this.numNodes(), 'banning request');
  }

  /**
   * Carries out a lock-mode election action. 'release-lock' resolves when
   * the helper has gone, so the caller can hold back later actions.
   */
  async act(a: ElectionAction): Promise<void> {
    if (this.stopped) return;
    if (a.type === 'take-lock') void this.takeLock();
    else if (a.type === 'release-lock') await this.lock?.release();
    else if (a.type === 'recmode-active') this.setRecmodeActiveEverywhere();
  }

  private async takeLock(): Promise<void> {
    const d = this.d;
    let result: 'held' | 'contended' | 'timeout' | 'error' = 'error';
    if (!this.lock) {
      this.log.error({ setting: this.lockSetting, problem: this.lockProblem }, 'cannot take the cluster lock: setting unusable');
    } else {
      result = await this.lock.take();
    }
    if (this.stopped) { if (result === 'held') await this.lock?.release(); return; }
    this.lastResult = result;
    d.applyElection(d.election.onLockResult(result, Date.now()));
  }

  private setRecmodeActiveEverywhere(): void {
    const d = this.d;
    const b = Buffer.alloc(4); b.writeUInt32LE(RecMode.ACTIVE);
    d.recmode = RecMode.ACTIVE;
    for (const pnn of d.membership.connectedPeers()) d.sendControlNoReply(pnn, Opcode.SET_RECMODE, b);
  }

  /** Releases the lock for good (daemon shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.lock?.release();
  }
}
