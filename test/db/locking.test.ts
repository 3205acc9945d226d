// Cross-process locking: a child process holds a lock on the same file.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TdbFile, robustMutexesSupported } from '../../src/db/tdb.js';
import { persistentOpenFlags, volatileOpenFlags } from '../../src/db/tdb-flags.js';

const fixture = join(import.meta.dirname, 'fixtures', 'hold-lock.ts');
const dir = mkdtempSync(join(tmpdir(), 'tdb-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Holder { child: ChildProcessWithoutNullStreams; next: () => Promise<string> }
const holders: Holder[] = [];
const files: TdbFile[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) if (h.child.exitCode === null && h.child.pid) process.kill(h.child.pid, 'SIGKILL');
  for (const f of files.splice(0)) f.close();
});

/** Starts the fixture and resolves once it reports `locked`. */
async function hold(path: string, flags: number, ...args: string[]): Promise<Holder> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, String(flags), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error(`lock holder exited early: ${stderr}`);
    return r.value;
  };
  const h = { child, next };
  holders.push(h);
  expect(await next()).toBe('locked');
  return h;
}
async function release(h: Holder): Promise<void> {
  h.child.stdin.write('release\n');
  expect(await h.next()).toBe('released');
}

const kinds = [
  ['fcntl locks', persistentOpenFlags()],
  ['robust mutexes', volatileOpenFlags(true)],
] as const;
let seq = 0;

describe.each(kinds)('locks held by another process (%s)', (name, flags) => {
  const skip = name === 'robust mutexes' && !robustMutexesSupported();
  const b = (s: string): Buffer => Buffer.from(s);

  it.skipIf(skip)('makes a nonblocking chain lock fail; the async lock gets it after release', async () => {
    const path = join(dir, `chain${seq++}.tdb`);
    const h = await hold(path, flags, 'chain', 'k');
    const t = TdbFile.open(path, { hashSize: 131, tdbFlags: flags });
    files.push(t);
    expect(t.chainLock(b('k'), { nonblock: true })).toBe(false);
    // Some other key hashes to a free chain.
    const others = Array.from({ length: 10 }, (_, i) => b(`other${i}`));
    const free = others.find((k) => t.chainLock(k, { nonblock: true }));
    expect(free).toBeDefined();
    t.chainUnlock(free!);
    const waiting = t.chainLockAsync(b('k'));
    await release(h);
    expect(await waiting).toBe(true);
    t.store(b('k'), b('mine'));
    t.chainUnlock(b('k'));
    expect(t.fetch(b('k'))).toEqual(b('mine'));
  });

  it.skipIf(skip)('gives up an async chain lock when aborted, then releases what it got late', async () => {
    const path = join(dir, `abort${seq++}.tdb`);
    const h = await hold(path, flags, 'chain', 'k');
    const t = TdbFile.open(path, { hashSize: 131, tdbFlags: flags });
    files.push(t);
    const ac = new AbortController();
    const waiting = t.chainLockAsync(b('k'), { signal: ac.signal });
    // Let the queued call reach the native wait before aborting.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    ac.abort(new Error('caller gave up'));
    await expect(waiting).rejects.toMatchObject({ code: 'ECANCELED' });
    await release(h);
    // Queued behind the abandoned call, which must have dropped the lock it eventually got.
    expect(await t.chainLockAsync(b('k'))).toBe(true);
    t.chainUnlock(b('k'));
    expect(t.chainLock(b('k'), { nonblock: true })).toBe(true);
    t.chainUnlock(b('k'));
  });

  it.skipIf(skip)('waits for another process\'s transaction and then sees its commit', async () => {
    const path = join(dir, `trans${seq++}.tdb`);
    const h = await hold(path, flags, 'transaction', 'theirs', 'committed');
    const t = TdbFile.open(path, { hashSize: 131, tdbFlags: flags });
    files.push(t);
    const waiting = t.transactionStartAsync();
    await release(h);
    await waiting;
    expect(t.fetch(b('theirs'))).toEqual(b('committed'));
    t.store(b('mine'), b('too'));
    t.transactionCommit();
    expect(t.fetch(b('mine'))).toEqual(b('too'));
  });

  it.skipIf(skip)('makes a nonblocking whole-database lock fail while a chain is held', async () => {
    const path = join(dir, `all${seq++}.tdb`);
    const h = await hold(path, flags, 'chain', 'k');
    const t = TdbFile.open(path, { hashSize: 131, tdbFlags: flags });
    files.push(t);
    expect(t.lockAll({ nonblock: true })).toBe(false);
    await release(h);
    expect(t.lockAll({ nonblock: true })).toBe(true);
    t.unlockAll();
  });
});
