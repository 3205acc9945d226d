import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterLock, parseClusterLockSetting } from '../../src/cluster/cluster-lock.js';

const ROOT = join(import.meta.dirname, '../..');
const DIST = join(ROOT, 'dist');
const HELPER = join(DIST, 'ctdb_mutex_fcntl_helper.js');
const DEBIAN_HELPER = '/usr/libexec/ctdb/ctdb_mutex_fcntl_helper';
const HOLD_BYTE = join(ROOT, 'test/fixtures/mutex/hold-byte.mjs');
const silent = pino({ level: 'silent' });

let dir: string;
let n = 0;
const lockFile = (): string => join(dir, `lock.${++n}`);
const live: ClusterLock[] = [];
const procs: ChildProcess[] = [];

function lockFor(argv: string[]): ClusterLock {
  const l = new ClusterLock({ argv, timeoutMs: 10_000, log: silent });
  live.push(l);
  return l;
}
const ours = (file: string, ...extra: string[]): ClusterLock =>
  lockFor([...parseClusterLockSetting(file, DIST).argv, ...extra]);

/** Waits for an event, failing after a bounded time rather than hanging the suite. */
function waitFor(l: ClusterLock, event: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    l.once(event, () => { clearTimeout(t); resolve(); });
  });
}

/** Starts a process and resolves once it printed `want` on stdout. */
function startPrinting(cmd: string, args: string[], want: string): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.startsWith(want)) resolve(child);
      else if (out.length >= want.length) reject(new Error(`${cmd} printed ${JSON.stringify(out)}, wanted ${JSON.stringify(want)}`));
    });
    child.once('close', () => reject(new Error(`${cmd} exited, printed ${JSON.stringify(out)}`)));
  });
}

beforeAll(() => {
  if (!existsSync(HELPER)) throw new Error(`${HELPER} missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'mutex-fcntl-'));
});
afterEach(async () => {
  await Promise.all(live.splice(0).map((l) => l.release()));
  for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ctdb_mutex_fcntl_helper through ClusterLock', () => {
  it('two contenders on one file: one held, one contended; release passes it on', async () => {
    const file = lockFile();
    const a = ours(file);
    const b = ours(file);
    expect(await a.take()).toBe('held');
    expect(await b.take()).toBe('contended');
    await a.release();
    expect(await b.take()).toBe('held');
    expect(await a.take()).toBe('contended');
  });

  it('removing the lock file makes the holder give up (lost) within the recheck interval', async () => {
    const file = lockFile();
    const a = ours(file, '1');
    expect(await a.take()).toBe('held');
    const lost = waitFor(a, 'lost', 5000);
    unlinkSync(file);
    await lost;
    expect(a.held).toBe(false);
  });

  it('replacing the lock file (same name, new inode) makes the holder give up', async () => {
    const file = lockFile();
    const a = ours(file, '1');
    expect(await a.take()).toBe('held');
    const lost = waitFor(a, 'lost', 5000);
    writeFileSync(`${file}.new`, '');
    renameSync(`${file}.new`, file);
    await lost;
    // The new file is free, so someone else can lock it now.
    expect(await ours(file).take()).toBe('held');
  });

  it('a wedged byte-1 probe past the ping timeout makes the holder give up', async () => {
    const file = lockFile();
    const a = ours(file, '1', '1');
    expect(await a.take()).toBe('held');
    const lost = waitFor(a, 'lost', 8000);
    await startPrinting(process.execPath, [HOLD_BYTE, file, '1'], 'locked\n');
    await lost;
  });

  it('the holder exits when its parent dies, freeing the lock', async () => {
    const file = lockFile();
    // sh starts the helper in the background and exits at once: the helper is orphaned.
    const out = `${file}.out`;
    const sh = spawnSync('sh', ['-c', 'out="$1"; shift; CTDB_MUTEX_PARENT_CHECK_MS=100 "$@" >"$out" & echo $!; '
      + 'i=0; while [ ! -s "$out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'sh', out, process.execPath, HELPER, file, '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(readFileSync(out, 'utf8')).toBe('0');
    const pid = Number(sh.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try { process.kill(pid, 0); await new Promise((r) => setTimeout(r, 50)); } catch { alive = false; }
    }
    if (alive) process.kill(pid, 'SIGKILL');
    expect(alive).toBe(false);
    expect(await ours(file).take()).toBe('held');
  });
});

describe('ctdb_mutex_fcntl_helper command line', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [HELPER, ...args], { encoding: 'utf8', timeout: 10_000 });

  it('prints 3 and a clear line when the file cannot be opened', () => {
    const r = run([join(dir, 'no/such/dir/lock')]);
    expect(r.stdout).toBe('3');
    expect(r.stderr).toMatch(/cannot open lock file .*no\/such\/dir\/lock/);
  });

  it.each([[[]], [['f', 'x']], [['f', '1', '-1']], [['f', '1', '2', '3']]])('rejects arguments %j with EINVAL (22)', (args) => {
    const r = run(args);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(22);
    expect(r.stderr).toMatch(/^ctdb_mutex_fcntl_helper: /);
  });

  it('--help prints the usage', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ctdb_mutex_fcntl_helper FILE/);
  });
});

describe.skipIf(!existsSync(DEBIAN_HELPER))(`interoperation with ${DEBIAN_HELPER} (skipped when the Debian ctdb package is absent)`, () => {
  it('Debian holds → ours is contended; after Debian releases, ours gets it', async () => {
    const file = lockFile();
    const debian = lockFor([DEBIAN_HELPER, file]);
    expect(await debian.take()).toBe('held');
    expect(await ours(file).take()).toBe('contended');
    await debian.release();
    expect(await ours(file).take()).toBe('held');
  });

  it('ours holds → Debian is contended', async () => {
    const file = lockFile();
    expect(await ours(file).take()).toBe('held');
    expect(await lockFor([DEBIAN_HELPER, file]).take()).toBe('contended');
  });

  it('the standalone Debian helper prints 1 against ours', async () => {
    const file = lockFile();
    expect(await ours(file).take()).toBe('held');
    const r = spawnSync(DEBIAN_HELPER, [file], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout).toBe('1');
  });
});
