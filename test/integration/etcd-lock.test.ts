import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterLock } from '../../src/cluster/cluster-lock.js';
import { EtcdClient } from '../../src/mutex/etcd-client.js';

const HELPER = join(import.meta.dirname, '../../dist/ctdb_etcd_lock.js');
const ETCD = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p));
if (!ETCD) process.stdout.write('etcd-lock tests skipped: no etcd binary (apt-get install etcd-server)\n');
const silent = pino({ level: 'silent' });
const TTL = '2';

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ETCD)('ctdb_etcd_lock against a private etcd (skipped without the etcd binary)', () => {
  let dir: string;
  let etcd: ChildProcess | undefined;
  let endpoint: string;
  let client: EtcdClient;
  let n = 0;
  const live: ClusterLock[] = [];
  const procs: ChildProcess[] = [];
  const key = (): string => `/test/lock-${process.pid}-${++n}`;
  const argvFor = (k: string, ep = endpoint): string[] => [process.execPath, HELPER, '-e', ep, '-k', k, '-t', TTL, '-T', '3'];
  const lockFor = (k: string, ep = endpoint): ClusterLock => {
    const l = new ClusterLock({ argv: argvFor(k, ep), timeoutMs: 15_000, log: silent });
    live.push(l);
    return l;
  };

  beforeAll(async () => {
    if (!existsSync(HELPER)) throw new Error(`${HELPER} missing: run npm run build first`);
    dir = mkdtempSync(join(tmpdir(), 'etcd-lock-'));
    const [cport, pport] = [await freePort(), await freePort()];
    endpoint = `http://127.0.0.1:${cport}`;
    const peer = `http://127.0.0.1:${pport}`;
    etcd = spawn(ETCD!, ['--name', 'lt', '--data-dir', join(dir, 'data'),
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `lt=${peer}`, '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] });
    client = new EtcdClient([endpoint], 2000);
    for (let i = 0; i < 100; i++) {
      try { await client.get('/probe'); return; } catch { await sleep(100); }
    }
    throw new Error(`etcd did not come up on ${endpoint}`);
  });
  afterEach(async () => {
    await Promise.all(live.splice(0).map((l) => l.release()));
    for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  afterAll(() => {
    if (etcd?.pid && etcd.exitCode === null) etcd.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holder gets 0, a second contender 1; release passes the lock at once', async () => {
    const k = key();
    const a = lockFor(k);
    const b = lockFor(k);
    expect(await a.take()).toBe('held');
    expect(await b.take()).toBe('contended');
    expect((await client.get(k))?.value).toMatch(/:\d+$/);
    await a.release();
    expect(await client.get(k)).toBeUndefined();
    expect(await b.take()).toBe('held');
  });

  it('a holder killed with SIGKILL loses the lock when its lease expires', async () => {
    const k = key();
    const holder = spawn(process.execPath, argvFor(k).slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(holder);
    const first = await new Promise<string>((resolve) => holder.stdout!.once('data', (b: Buffer) => resolve(b.toString())));
    expect(first).toBe('0');
    const b = lockFor(k);
    expect(await b.take()).toBe('contended');
    holder.kill('SIGKILL');
    let result = 'contended';
    for (let i = 0; i < 40 && result === 'contended'; i++) {
      await sleep(250);
      result = await b.take();
    }
    expect(result).toBe('held');
  });

  it('deleting the lock key under the holder makes it report loss', async () => {
    const k = key();
    const a = lockFor(k);
    expect(await a.take()).toBe('held');
    const lost = new Promise<void>((resolve) => a.once('lost', () => resolve()));
    expect(await client.delete(k)).toBe(1);
    await lost;
    expect(a.held).toBe(false);
  });

  it('etcd not reachable: status 3 and one clear stderr line', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = spawnSync(process.execPath, argvFor(key(), dead).slice(1), { encoding: 'utf8', timeout: 15_000 });
    expect(r.stdout).toBe('3');
    expect(r.stderr).toMatch(new RegExp(`^ctdb_etcd_lock: cannot get an etcd lease: cannot reach etcd at ${dead} \\(connect ECONNREFUSED`));
    expect(await lockFor(key(), dead).take()).toBe('error');
  });

  it('bad options exit 22 with a usage hint; --help documents the options', () => {
    const bad = spawnSync(process.execPath, [HELPER, '-t', '1'], { encoding: 'utf8' });
    expect(bad.status).toBe(22);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^ctdb_etcd_lock: invalid TTL '1'/);
    const help = spawnSync(process.execPath, [HELPER, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--endpoint/);
  });

  it('an orphaned holder (parent died) revokes its lease and exits', async () => {
    const k = key();
    // sh starts the helper in the background, waits for its '0', then exits: the helper is orphaned.
    const out = join(dir, `${k.replace(/\//g, '_')}.out`);
    const sh = spawnSync('sh', ['-c', 'out="$1"; shift; CTDB_MUTEX_PARENT_CHECK_MS=100 "$@" >"$out" & echo $!; '
      + 'i=0; while [ ! -s "$out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'sh', out, process.execPath, ...argvFor(k).slice(1)], { encoding: 'utf8', timeout: 20_000 });
    expect(readFileSync(out, 'utf8')).toBe('0');
    const pid = Number(sh.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try { process.kill(pid, 0); await sleep(50); } catch { alive = false; }
    }
    if (alive) process.kill(pid, 'SIGKILL');
    expect(alive).toBe(false);
    expect(await client.get(k)).toBeUndefined();
  });

  // Stops the shared etcd, so it runs last.
  it('a holder that cannot renew its lease for a TTL reports loss', async () => {
    const a = lockFor(key());
    expect(await a.take()).toBe('held');
    const lost = new Promise<void>((resolve) => a.once('lost', () => resolve()));
    etcd!.kill('SIGKILL');
    await lost;
    expect(a.held).toBe(false);
  });
});
