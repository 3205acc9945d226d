/**
 * Per-record work queue for the daemon. Work on one (db, key) runs strictly
 * in arrival order, one item at a time, under the record's TDB chain lock.
 * The lock is only ever tried without blocking; while a client process holds
 * it, the attempt is retried on a timer with back-off, so ctdbd's event loop
 * never waits on a lock. Because later packets for the same key queue behind
 * the one waiting, there is at most one lock waiter per record, and requests
 * for a record that is being migrated wait instead of being bounced.
 */
import type { TdbFile } from './tdb.js';

/** Work done while the chain lock is held; must be synchronous. */
export type LockedWork = () => void;

interface KeyQueue { key: Buffer; items: LockedWork[]; timer?: NodeJS.Timeout; attempts: number; waitingSince?: number; warned?: boolean }

/** Serialises work per key on one TDB. */
export class RecordLocks {
  private readonly queues = new Map<string, KeyQueue>();
  /** When false, queued work is held (database frozen); `resume` restarts it. */
  private running = true;
  /** Number of queued (not yet run) items, for statistics. */
  pending = 0;

  /**
   * `onSlow` is told once per wait when a record lock has not been obtained
   * within `slowMs` (a client holding a record for long).
   */
  constructor(private readonly tdb: () => TdbFile, private readonly onError: (err: unknown) => void,
    private readonly onSlow: (key: Buffer, waitedMs: number) => void = () => {}, private readonly slowMs = 10_000) {}

  /** True while `key` has queued or running work. */
  busy(key: Buffer): boolean { return this.queues.has(key.toString('latin1')); }

  /** Runs `work` under `key`'s chain lock after earlier work for `key`. */
  run(key: Buffer, work: LockedWork): void {
    const k = key.toString('latin1');
    let q = this.queues.get(k);
    this.pending++;
    if (q) { q.items.push(work); return; }
    q = { key: Buffer.from(key), items: [work], attempts: 0 };
    this.queues.set(k, q);
    this.pump(k, q);
  }

  /** Holds all queued work (freeze). Work already running finishes. */
  pause(): void { this.running = false; }

  /** Restarts queued work after `pause`. */
  resume(): void {
    this.running = true;
    for (const [k, q] of this.queues) if (!q.timer) this.pump(k, q);
  }

  /** Drops every queued item (database detached or wiped by recovery). */
  clear(): void {
    for (const q of this.queues.values()) if (q.timer) clearTimeout(q.timer);
    this.queues.clear();
    this.pending = 0;
  }

  private pump(k: string, q: KeyQueue): void {
    q.timer = undefined;
    while (q.items.length > 0) {
      if (!this.running) return;
      let locked: boolean;
      try {
        locked = this.tdb().chainLock(q.key, { nonblock: true });
      } catch (err) {
        this.onError(err);
        locked = false;
        q.items.shift(); this.pending--;
        continue;
      }
      if (!locked) {
        const now = Date.now();
        q.waitingSince ??= now;
        if (!q.warned && now - q.waitingSince >= this.slowMs) { q.warned = true; this.onSlow(q.key, now - q.waitingSince); }
        // Held by a client process: try again soon, backing off up to 50 ms.
        const delay = Math.min(50, 1 << Math.min(q.attempts, 6));
        q.attempts++;
        q.timer = setTimeout(() => this.pump(k, q), delay);
        return;
      }
      q.attempts = 0;
      q.waitingSince = undefined; q.warned = false;
      const work = q.items.shift()!;
      this.pending--;
      try { work(); } catch (err) { this.onError(err); } finally {
        try { this.tdb().chainUnlock(q.key); } catch (err) { this.onError(err); }
      }
    }
    this.queues.delete(k);
  }
}
