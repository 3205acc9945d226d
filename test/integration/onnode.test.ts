import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'onnode.js')) && existsSync(join(DIST, 'ctdbd.js'));
const dir = mkdtempSync(join(tmpdir(), 'onnode-test-'));

/** Runs dist/onnode.js. */
function onnode(args: string[], env: NodeJS.ProcessEnv = {}, cwd = dir): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(DIST, 'onnode.js'), ...args], {
    cwd, env: { ...process.env, CTDB_BASE: dir, ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe.skipIf(!built)('onnode with a remote shell', () => {
  // A stand-in for ssh: prints its arguments; the exit code comes from the address's last octet.
  const fakeSsh = join(dir, 'fake-ssh');
  beforeAll(() => {
    writeFileSync(fakeSsh, '#!/bin/sh\nfor a; do last=$a; done\necho "ARGS:$*"\necho "to stderr" >&2\n'
      + 'case "$*" in *127.0.0.9*) exit 3;; *127.0.0.8*) exit 5;; esac\nexit 0\n');
    chmodSync(fakeSsh, 0o755);
    writeFileSync(join(dir, 'nodes'), '127.0.0.7\n\n#127.0.0.1\n127.0.0.8 # comment\n127.0.0.9\n');
  });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });
  const ssh = { ONNODE_SSH: fakeSsh };

  it('runs serially on all live nodes with banners on stderr and ssh -n', () => {
    const r = onnode(['all', 'hostname', '-f'], ssh);
    expect(r.out).toBe('ARGS:-n 127.0.0.7 hostname -f\nARGS:-n 127.0.0.8 hostname -f\nARGS:-n 127.0.0.9 hostname -f\n');
    expect(r.err).toBe('\n>> NODE: 127.0.0.7 <<\nto stderr\n\n>> NODE: 127.0.0.8 <<\nto stderr\n\n>> NODE: 127.0.0.9 <<\nto stderr\n');
    expect(r.code).toBe(3);
  });

  it('exits with the last failure, 0 when all succeed', () => {
    expect(onnode(['4,3', 'x'], ssh).code).toBe(5);
    expect(onnode(['0', 'x'], ssh).code).toBe(0);
  });

  it('prints no banner for one node unless -v, none with -q', () => {
    expect(onnode(['0', 'x'], ssh).err).toBe('to stderr\n');
    expect(onnode(['-v', '0', 'x'], ssh).err).toBe('\n>> NODE: 127.0.0.7 <<\nto stderr\n');
    expect(onnode(['-q', '0,3', 'x'], ssh).err).toBe('to stderr\nto stderr\n');
  });

  it('prefixes every output line with the address in parallel mode', () => {
    const r = onnode(['-p', '0,3', 'x'], ssh);
    const lines = r.out.trim().split('\n').sort();
    expect(lines).toEqual(['[127.0.0.7] ARGS:-n 127.0.0.7 x', '[127.0.0.7] to stderr', '[127.0.0.8] ARGS:-n 127.0.0.8 x', '[127.0.0.8] to stderr']);
    expect(r.code).toBe(5);
    expect(onnode(['-pq', '0,3', 'x'], ssh).out).not.toContain('[127.0.0.');
  });

  it('keeps stdin with -i and changes directory with -c', () => {
    const r = onnode(['-c', '-i', '0', 'ls'], ssh);
    expect(r.out).toBe(`ARGS:127.0.0.7 cd ${dir} && ls\n`);
  });

  it('saves each node\'s stdout with -o PREFIX', () => {
    const r = onnode(['-q', '-o', join(dir, 'out'), '0,3', 'x'], ssh);
    expect(r.out).toBe('');
    expect(readFileSync(join(dir, 'out.127.0.0.7'), 'utf8')).toBe('ARGS:-n 127.0.0.7 x\n');
    expect(readFileSync(join(dir, 'out.127.0.0.8'), 'utf8')).toBe('ARGS:-n 127.0.0.8 x\n');
  });

  it('pushes files to the same absolute paths with -P', () => {
    const rsync = join(dir, 'fake-rsync');
    writeFileSync(rsync, '#!/bin/sh\necho "RSYNC:$*"\n');
    chmodSync(rsync, 0o755);
    const r = onnode(['-q', '-P', '0,3', 'a.txt', '/etc/hosts'], { ...ssh, ONNODE_RSYNC: rsync });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`RSYNC:-aR ${join(dir, 'a.txt')} /etc/hosts 127.0.0.7:/\nRSYNC:-aR ${join(dir, 'a.txt')} /etc/hosts 127.0.0.8:/\n`);
    const local = onnode(['-P', '0', 'a.txt'], { ONNODE_LOCAL: '1' });
    expect(local.code).toBe(1);
    expect(local.err).toContain('not supported with ONNODE_LOCAL');
  });

  it('accepts host names only with -n', () => {
    expect(onnode(['-n', 'db1,0', 'x'], ssh).out).toBe('ARGS:-n db1 x\nARGS:-n 127.0.0.7 x\n');
    const r = onnode(['db1', 'x'], ssh);
    expect(r.code).toBe(1);
    expect(r.err).toContain('Invalid <nodespec>');
  });

  it.each([
    [['1', 'x'], '"node 1" does not exist'],
    [['2', 'x'], '"node 2" does not exist'],
    [['0-2', 'x'], '"node 1" does not exist'],
    [['9', 'x'], '"node 9" does not exist'],
    [['all'], 'missing <COMMAND>'],
    [['-f', join(dir, 'missing'), 'all', 'x'], 'cannot read nodes file'],
  ])('fails with exit 1 for %j', (args, msg) => {
    const r = onnode(args, ssh);
    expect(r.code).toBe(1);
    expect(r.err).toContain(msg);
    expect(r.out).toBe('');
  });
});

describe.skipIf(!built)('onnode local mode on a 3-node cluster (127.0.0.234-236)', () => {
  const c = new LocalCluster({ nodes: 3, firstOctet: 234, tunables: 'KeepaliveInterval=1\nKeepaliveLimit=2\n' });
  const bin = join(c.dir, 'bin');
  const env = (): NodeJS.ProcessEnv => ({
    ...c.env(0), ONNODE_LOCAL: '1', ONNODE_CTDB_BASE: join(c.dir, 'node.%n'), PATH: `${bin}:${process.env.PATH}`,
  });

  beforeAll(async () => {
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(DIST, 'ctdb.js'), join(bin, 'ctdb'));
    c.startAll();
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
  }, 120_000);
  afterAll(async () => { await c.stop(); });

  it('runs each node\'s command with that node\'s CTDB_BASE', () => {
    const r = onnode(['all', 'ctdb', 'pnn'], env(), c.dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('0\n1\n2\n');
    expect(r.err).toContain('>> NODE: 127.0.0.236 <<');
    const p = onnode(['-p', 'all', 'echo $ONNODE_ADDRESS $CTDB_BASE'], env(), c.dir);
    expect(p.out.trim().split('\n').sort()).toEqual([0, 1, 2].map((n) => `[127.0.0.${234 + n}] 127.0.0.${234 + n} ${c.base(n)}`));
  });

  it('picks nodes by state from ctdb -X status: ok, con, any', async () => {
    expect(onnode(['ok', 'ctdb pnn'], env(), c.dir).out).toBe('0\n1\n2\n');
    await c.kill(2);
    expect(await c.waitFor(() => (c.ctdb(0, ['nodestatus', '2']).code & 1) === 1, 30_000)).toBe(true);
    const ok = onnode(['ok', 'ctdb pnn'], env(), c.dir);
    expect(ok.out).toBe('0\n1\n');
    expect(onnode(['con', 'ctdb pnn'], env(), c.dir).out).toBe('0\n1\n');
    expect(onnode(['any', 'ctdb pnn'], env(), c.dir).out).toBe('0\n');
    const dead = onnode(['2', 'ctdb pnn'], env(), c.dir);
    expect(dead.code).not.toBe(0);
    expect(dead.err).toContain('Failed to connect to CTDB daemon');
  }, 60_000);
});
