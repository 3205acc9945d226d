import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordLocks } from './record-locks.js';
import { TdbFile } from './tdb.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** A child process that holds `key`'s chain lock on `path` until its stdin closes. */
async function holdLock(dir: string, path: string, key: string): Promise<ChildProcess> {
  const script = join(dir, 'hold.mts');
  writeFileSync(script, `
    import { TdbFile } from ${JSON.stringify(join(ROOT, 'src/db/tdb.ts'))};
    const t = TdbFile.open(${JSON.stringify(path)}, {});
    t.chainLock(Buffer.from(${JSON.stringify(key)}));
    process.stdout.write('locked\\n');
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => { t.chainUnlock(Buffer.from(${JSON.stringify(key)})); t.close(); process.exit(0); });
  `);
  const p = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    p.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) res(); });
    p.once('exit', (code) => rej(new Error(`lock holder exited with ${code}`)));
  });
  return p;
}

describe('RecordLocks', () => {
  let dir: string;
  let tdb: TdbFile;
  let holder: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctdb-locks-'));
    tdb = TdbFile.open(join(dir, 'l.tdb'), { hashSize: 131 });
  });
  afterEach(async () => {
    if (holder && holder.exitCode === null) {
      const gone = new Promise((r) => holder!.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
    }
    holder = undefined;
    tdb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs work per key in arrival order, re-entrant queueing included', () => {
    const locks = new RecordLocks(() => tdb, (e) => { throw e; });
    const order: string[] = [];
    locks.run(Buffer.from('a'), () => { order.push('a1'); locks.run(Buffer.from('a'), () => order.push('a3')); });
    locks.run(Buffer.from('b'), () => order.push('b1'));
    expect(order).toEqual(['a1', 'a3', 'b1']);
    expect(locks.busy(Buffer.from('a'))).toBe(false);
  });

  it('waits without blocking while another process holds the chain, and keeps later work for that key behind it', async () => {
    holder = await holdLock(dir, join(dir, 'l.tdb'), 'held');
    const slow: string[] = [];
    const locks = new RecordLocks(() => tdb, (e) => { throw e; }, (k) => slow.push(k.toString()), 20);
    const order: string[] = [];
    locks.run(Buffer.from('held'), () => order.push('held1'));
    locks.run(Buffer.from('held'), () => order.push('held2'));
    locks.run(Buffer.from('free'), () => order.push('free'));
    // The event loop is free: timers run while the chain is held elsewhere.
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(['free']);
    expect(locks.busy(Buffer.from('held'))).toBe(true);
    expect(slow).toEqual(['held']); // reported once, not per retry
    holder.stdin!.end();
    for (let i = 0; i < 200 && order.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['free', 'held1', 'held2']);
  });

  it('holds work while paused and handles 60,000 queued requests', () => {
    const locks = new RecordLocks(() => tdb, (e) => { throw e; });
    locks.pause();
    let done = 0;
    for (let i = 0; i < 60_000; i++) locks.run(Buffer.from(`k${i % 20_000}`), () => { done++; });
    expect(done).toBe(0);
    expect(locks.pending).toBe(60_000);
    locks.resume();
    expect(done).toBe(60_000);
    expect(locks.pending).toBe(0);
  });
});
