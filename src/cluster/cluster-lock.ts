/**
 * Daemon side of the cluster lock: runs a lock helper (the bundled fcntl
 * helper or any `!/path/helper args` command), reads its one status
 * character, keeps it running while the lock is held, and reports loss.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { CtdbError, oneLine } from '../common/errors.js';
import { logger } from '../common/log.js';
import { decodeMutexStatus, type TakeResult } from '../mutex/status.js';
import { helperEnv } from '../common/helper-env.js';

/** How long a helper gets to exit after SIGTERM before it is sent SIGKILL. */
const KILL_GRACE_MS = 5000;
/** Longest helper stderr line that is logged. */
const MAX_LOGGED_LINE = 300;

/**
 * Turns a `[cluster] cluster lock` value into the helper command line.
 * A plain value is a lock file for the bundled fcntl helper found in
 * `helperDir`; a value starting with `!` is a command split on spaces and
 * tabs whose first word must be an absolute path. Throws CtdbError('EINVAL')
 * on an empty value or a relative helper.
 */
export function parseClusterLockSetting(value: string, helperDir: string): { argv: string[] } {
  const v = value.trim();
  if (v === '') throw new CtdbError('EINVAL', 'cluster lock setting is empty');
  if (!v.startsWith('!')) {
    return { argv: [process.execPath, join(helperDir, 'ctdb_mutex_fcntl_helper.js'), v] };
  }
  const argv = v.slice(1).split(/[ \t]+/).filter((w) => w !== '');
  if (argv.length === 0) throw new CtdbError('EINVAL', `cluster lock setting '${value}' names no helper`);
  if (!isAbsolute(argv[0]!)) {
    throw new CtdbError('EINVAL', `cluster lock helper '${argv[0]}' must be an absolute path`);
  }
  return { argv };
}

/** Options of a ClusterLock. */
export interface ClusterLockOptions {
  /** Helper command line: argv[0] is executed with the rest as arguments. */
  argv: string[];
  /** Milliseconds to wait for the status character before giving up ('timeout'); 0 = wait forever. */
  timeoutMs: number;
  log?: Logger;
}

/**
 * The cluster lock as seen by the leader logic. `take()` resolves with the
 * helper's answer; while held, the helper keeps running and an unexpected
 * exit or EOF emits `'lost'` once. `release()` stops the helper (SIGTERM).
 * Events: `'lost'` (no arguments).
 */
export class ClusterLock extends EventEmitter {
  private readonly argv: string[];
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private pending: Promise<TakeResult> | undefined;
  private isHeld = false;
  private releasing = false;
  private latency: number | undefined;

  constructor(opts: ClusterLockOptions) {
    super();
    if (opts.argv.length === 0) throw new CtdbError('EINVAL', 'cluster lock helper command is empty');
    this.argv = [...opts.argv];
    this.timeoutMs = opts.timeoutMs;
    this.log = opts.log ?? logger('cluster-lock');
  }

  /** True while the helper reported '0' and has not exited since. */
  get held(): boolean {
    return this.isHeld;
  }

  /** Milliseconds the last successful take() took, for latency reporting. */
  get latencyMs(): number | undefined {
    return this.latency;
  }

  /**
   * Runs the helper and resolves with its answer. Resolves 'held' at once
   * when already held; concurrent calls share one attempt. Never rejects:
   * failures resolve 'error' (logged), a silent helper 'timeout' (killed).
   */
  take(): Promise<TakeResult> {
    if (this.isHeld) return Promise.resolve('held');
    if (!this.pending) {
      this.pending = this.runHelper().finally(() => { this.pending = undefined; });
    }
    return this.pending;
  }

  /**
   * Stops the helper (SIGTERM, SIGKILL after a grace period) and waits for it
   * to exit. No 'lost' is emitted. A take() still waiting for its answer
   * resolves 'error' (or 'held' if the answer raced in; the lock is then
   * released all the same).
   */
  async release(): Promise<void> {
    this.releasing = true;
    try {
      if (this.pending) {
        // Do not wait for an answer that may never come: stop the helper now.
        if (this.child && this.exited) void this.stopChild(this.child, this.exited);
        await this.pending.catch(() => undefined);
      }
      const child = this.child;
      this.isHeld = false;
      if (child && this.exited) {
        await this.stopChild(child, this.exited);
        this.log.info({ helper: this.argv[0] }, 'cluster lock released');
      }
    } finally {
      this.releasing = false;
    }
  }

  private stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => {
        this.log.warn({ helper: this.argv[0], pid: child.pid }, 'cluster lock helper ignored SIGTERM, killing it');
        child.kill('SIGKILL');
      }, KILL_GRACE_MS);
      return exited.finally(() => clearTimeout(killer));
    }
    return exited;
  }

  private runHelper(): Promise<TakeResult> {
    const started = Date.now();
    const [cmd, ...args] = this.argv as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: helperEnv() });
    this.child = child;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.exited = exited;
    this.forwardStderr(child);

    return new Promise<TakeResult>((resolve) => {
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      const answer = (result: TakeResult, why: string, fields: Record<string, unknown> = {}): void => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        if (result === 'held') {
          this.isHeld = true;
          this.latency = Date.now() - started;
          this.log.info({ helper: cmd, latencyMs: this.latency }, 'cluster lock taken');
        } else {
          const level = result === 'contended' ? 'info' : 'error';
          this.log[level]({ helper: cmd, ...fields }, `cluster lock not taken: ${why}`);
          // A helper that answered anything but '0' has no business running on.
          void this.stopChild(child, exited);
        }
        resolve(result);
      };

      if (this.timeoutMs > 0) {
        timer = setTimeout(() => answer('timeout', `no answer within ${this.timeoutMs} ms, helper killed`), this.timeoutMs);
      }
      child.once('error', (err) => answer('error', `cannot run helper (${oneLine(err)})`, { err }));
      child.stdout!.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        if (!answered) {
          const ch = text[0]!;
          const result = decodeMutexStatus(ch);
          if (result === 'error' && ch !== '3') {
            answer('error', 'helper printed garbage', { output: text.slice(0, 40) });
          } else {
            answer(result, result === 'error' ? 'helper reported an error' : result === 'timeout' ? 'helper reported a timeout' : 'lock held elsewhere');
          }
          if (result === 'held' && text.slice(1).trim() !== '') {
            this.log.warn({ helper: cmd, output: text.slice(1, 40) }, 'cluster lock helper printed extra output');
          }
        } else if (text.trim() !== '') {
          this.log.warn({ helper: cmd, output: text.slice(0, 40) }, 'cluster lock helper printed extra output');
        }
      });
      // EOF after '0' means the lock is gone, even if the helper lingers.
      child.stdout!.once('end', () => {
        if (answered) this.markLost(child, exited, 'helper closed its output');
      });
      child.once('close', (code, signal) => {
        if (this.child === child) this.child = undefined;
        if (!answered) {
          answer('error', 'helper exited without an answer', { code, signal });
          return;
        }
        this.markLost(child, exited, `helper exited (code ${code}, signal ${signal})`);
      });
    });
  }

  private markLost(child: ChildProcess, exited: Promise<void>, why: string): void {
    if (!this.isHeld || this.child !== child && this.child !== undefined) return;
    this.isHeld = false;
    if (this.releasing) return;
    this.log.error({ helper: this.argv[0], why }, 'cluster lock lost');
    void this.stopChild(child, exited);
    this.emit('lost');
  }

  private forwardStderr(child: ChildProcess): void {
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() !== '') this.log.warn({ helper: this.argv[0], line: line.slice(0, MAX_LOGGED_LINE) }, 'cluster lock helper stderr');
      }
      if (partial.length > MAX_LOGGED_LINE) partial = partial.slice(0, MAX_LOGGED_LINE);
    });
  }
}
