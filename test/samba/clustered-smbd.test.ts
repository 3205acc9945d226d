/**
 * Debian's real smbd with `clustering = yes` on a 3-node cluster of our
 * daemons (127.0.0.80–82), smbd on nodes 0 and 1 sharing one folder, node 2
 * running no smbd. Skipped, with the reason printed, when Samba is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST } from '../harness/cluster.js';
import { SambaCluster, SHARE, SMB_PORT, sambaMissing, smbtortureMissing, stopProcess } from './samba-cluster.js';

const missing = sambaMissing() ?? (existsSync(join(DIST, 'ctdbd.js')) ? undefined : 'dist/ctdbd.js is not built (npm run build)');
if (missing) process.stderr.write(`clustered-smbd tests skipped: ${missing}\n`);
const tortureMissing = smbtortureMissing();
if (!missing && tortureMissing) process.stderr.write(`smbtorture tests skipped: ${tortureMissing}\n`);

const PASSWORD = 'Clu5ter-pw';
const USER = `root%${PASSWORD}`;

describe.skipIf(missing !== undefined)('clustered smbd on our ctdbd', () => {
  let sc: SambaCluster;
  const sessions: ChildProcess[] = [];

  beforeAll(async () => {
    sc = new SambaCluster({ nodes: 3, keep: process.env.SAMBA_KEEP === '1', real: process.env.SAMBA_REAL_CTDB === '1' });
    await sc.startCluster();
    await sc.startSmbd(0);
    await sc.startSmbd(1);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(sessions.map((p) => stopProcess(p, false)));
    await sc?.stop();
  }, 60_000);

  const local = (name: string): string => join(sc.cluster.dir, name);

  it('guest put, list and get through node 0', () => {
    writeFileSync(local('guest-in.txt'), 'written as guest through node 0\n');
    const put = sc.smbCommands(0, `put ${local('guest-in.txt')} guest.txt; ls`);
    expect(put.code, put.stderr + put.stdout).toBe(0);
    expect(put.stdout).toMatch(/guest\.txt/);
    const get = sc.smbCommands(0, `get guest.txt ${local('guest-out.txt')}`);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('guest-out.txt'), 'utf8')).toBe('written as guest through node 0\n');
  });

  it('a file written through node 0 is listed and read through node 1', () => {
    writeFileSync(local('cross-in.txt'), 'cross-node content\n');
    expect(sc.smbCommands(0, `put ${local('cross-in.txt')} cross.txt`).code).toBe(0);
    const ls = sc.smbCommands(1, 'ls cross.txt');
    expect(ls.code, ls.stderr + ls.stdout).toBe(0);
    expect(ls.stdout).toMatch(/cross\.txt/);
    const get = sc.smbCommands(1, `get cross.txt ${local('cross-out.txt')}`);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('cross-out.txt'), 'utf8')).toBe('cross-node content\n');
  });

  it('a user added with smbpasswd on node 0 logs in on node 1 (passdb is clustered)', () => {
    const add = sc.tool(0, '/usr/bin/smbpasswd', ['-a', '-s', 'root'], { input: `${PASSWORD}\n${PASSWORD}\n` });
    expect(add.code, add.stderr + add.stdout).toBe(0);
    writeFileSync(local('user-in.txt'), 'written by root through node 1\n');
    const put = sc.smbCommands(1, `put ${local('user-in.txt')} user.txt; ls user.txt`, USER);
    expect(put.code, put.stderr + put.stdout).toBe(0);
    expect(put.stdout).toMatch(/user\.txt/);
    const get = sc.smbCommands(0, `get user.txt ${local('user-out.txt')}`, USER);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('user-out.txt'), 'utf8')).toBe('written by root through node 1\n');
    const bad = sc.smbCommands(1, 'ls', 'root%wrong-password');
    expect(bad.code).not.toBe(0);
  });

  it('net conf addshare on node 0 is visible and served on node 1 (registry is clustered)', () => {
    const add = sc.tool(0, '/usr/bin/net', ['conf', 'addshare', 'regshare', sc.shareDir, 'writeable=y', 'guest_ok=y', 'added on node 0']);
    expect(add.code, add.stderr + add.stdout).toBe(0);
    const show = sc.tool(1, '/usr/bin/net', ['conf', 'showshare', 'regshare']);
    expect(show.code, show.stderr + show.stdout).toBe(0);
    expect(show.stdout).toMatch(/added on node 0/);
    const ls = sc.smbclient(1, [`//${sc.address(1)}/regshare`, '-N', '-c', 'ls cross.txt']);
    expect(ls.code, ls.stderr + ls.stdout).toBe(0);
    expect(ls.stdout).toMatch(/cross\.txt/);
    const del = sc.tool(1, '/usr/bin/net', ['conf', 'delshare', 'regshare']);
    expect(del.code, del.stderr + del.stdout).toBe(0);
    expect(sc.tool(0, '/usr/bin/net', ['conf', 'listshares']).stdout).not.toMatch(/regshare/);
  });

  it('smbstatus on one node lists the sessions of both nodes', async () => {
    for (const pnn of [0, 1]) {
      const p = spawn('/usr/bin/smbclient', ['-s', sc.conf(pnn), '-p', String(SMB_PORT), `//${sc.address(pnn)}/${SHARE}`, '-U', USER],
        { stdio: ['pipe', 'pipe', 'pipe'] });
      p.stdout.on('data', () => {}); p.stderr.on('data', () => {});
      sessions.push(p);
    }
    // Each held session has pid "<pnn>:<pid>" in the clustered listing; wait until both nodes' appear.
    let out = '';
    const seen = await sc.cluster.waitFor(() => {
      const r = sc.tool(0, '/usr/bin/smbstatus', ['-b']);
      out = r.stdout + r.stderr;
      return r.code === 0 && /^\s*0:\d+\s+root/m.test(out) && /^\s*1:\d+\s+root/m.test(out);
    }, 30_000, 500);
    expect(seen, out).toBe(true);
    const s1 = sc.tool(1, '/usr/bin/smbstatus', ['-S']);
    expect(s1.code, s1.stderr).toBe(0);
    expect(s1.stdout).toMatch(new RegExp(`${SHARE}\\s+0:\\d+`));
    expect(s1.stdout).toMatch(new RegExp(`${SHARE}\\s+1:\\d+`));
  });

  it('a file held open through node 0 shows in node 1\'s lock list and reads through node 1', async () => {
    writeFileSync(local('held-in.txt'), 'held open on node 0\n');
    expect(sc.smbCommands(0, `put ${local('held-in.txt')} held.txt`).code).toBe(0);
    const p = spawn('/usr/bin/smbclient', ['-s', sc.conf(0), '-p', String(SMB_PORT), `//${sc.address(0)}/${SHARE}`, '-U', USER],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdout.on('data', () => {}); p.stderr.on('data', () => {});
    sessions.push(p);
    p.stdin.write('open held.txt\n');
    // locking.tdb is clustered: node 1 sees node 0's open (pid "0:<pid>") on the file.
    let out = '';
    const seen = await sc.cluster.waitFor(() => {
      const r = sc.tool(1, '/usr/bin/smbstatus', ['-L']);
      out = r.stdout + r.stderr;
      return /^0:\d+\s.*held\.txt/m.test(out);
    }, 30_000, 500);
    expect(seen, out).toBe(true);
    const get = sc.smbCommands(1, `get held.txt ${local('held-out.txt')}`, USER);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('held-out.txt'), 'utf8')).toBe('held open on node 0\n');
  });

  it('CHECK_PID_SRVID knows a live smbd child by its pid srvid (peer credentials) and forgets it when the child exits', async () => {
    const before = new Set([...sc.tool(0, '/usr/bin/smbstatus', ['-b']).stdout.matchAll(/^\s*0:(\d+)\s/gm)].map((m) => m[1]!));
    const p = spawn('/usr/bin/smbclient', ['-s', sc.conf(0), '-p', String(SMB_PORT), `//${sc.address(0)}/${SHARE}`, '-U', USER],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdout.on('data', () => {}); p.stderr.on('data', () => {});
    sessions.push(p);
    let pid = '';
    expect(await sc.cluster.waitFor(() => {
      const now = [...sc.tool(0, '/usr/bin/smbstatus', ['-b']).stdout.matchAll(/^\s*0:(\d+)\s/gm)].map((m) => m[1]!);
      pid = now.find((x) => !before.has(x)) ?? '';
      return pid !== '';
    }, 30_000, 300)).toBe(true);
    // smbd registers its pid as a srvid on its messaging connection; asked through node 1, forwarded to node 0.
    expect(sc.cluster.ctdb(1, ['-n', '0', 'process-exists', pid, pid]).code).toBe(0);
    expect(sc.cluster.ctdb(1, ['-n', '0', 'process-exists', pid, '1234567']).code).not.toBe(0);
    await stopProcess(p, false);
    const gone = await sc.cluster.waitFor(() => sc.cluster.ctdb(0, ['process-exists', pid, pid]).code !== 0, 30_000, 300);
    expect(gone).toBe(true);
  });

  it('change notify crosses nodes: a client watching through node 1 hears of a file created through node 0', async () => {
    // stdbuf: smbclient prints notifications through stdio, block-buffered on a pipe.
    const watcher = spawn('stdbuf', ['-o0', '/usr/bin/smbclient', '-s', sc.conf(1), '-p', String(SMB_PORT), `//${sc.address(1)}/${SHARE}`,
      '-U', USER, '-c', 'notify \\'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watcher.stdout.on('data', (d) => { out += d; }); watcher.stderr.on('data', (d) => { out += d; });
    sessions.push(watcher);
    writeFileSync(local('notify-in.txt'), 'notify me\n');
    // The watch may not be armed yet when the first file appears: create one every 2 s until one is heard.
    let n = 0;
    const heard = await sc.cluster.waitFor(() => {
      if (/notified-from-node0-\d+\.txt/.test(out)) return true;
      expect(sc.smbCommands(0, `put ${local('notify-in.txt')} notified-from-node0-${n++}.txt`, USER).code).toBe(0);
      return false;
    }, 30_000, 2000);
    expect(heard, out).toBe(true);
    expect(watcher.exitCode).toBe(null);
    await stopProcess(watcher, false);
  });

  it('smbcontrol all ping is answered by processes on both nodes', () => {
    const r = sc.tool(0, '/usr/bin/smbcontrol', ['-t', '5', 'all', 'ping'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const from = new Set([...r.stdout.matchAll(/PONG from pid (\d+):\d+/g)].map((m) => m[1]));
    expect([...from].sort()).toEqual(['0', '1']);
    // A message to one process on another node (its pid srvid, routed by node 0's daemon to node 1).
    const pid = sc.smbd.get(1)!.pid!;
    const one = sc.tool(0, '/usr/bin/smbcontrol', ['-t', '10', `1:${pid}`, 'ping'], { timeoutMs: 30_000 });
    expect(one.code, one.stderr + one.stdout).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`PONG from pid 1:${pid}\\b`));
  });

  const tortureRuns = ['smb2.lock.rw-exclusive', 'smb2.lock.contend', 'smb2.lock.async'].flatMap((test) => [0, 1].map((pnn) => ({ test, pnn })));
  it.skipIf(tortureMissing !== undefined).each(tortureRuns)('smbtorture $test passes through node $pnn', ({ test, pnn }) => {
    const r = sc.tool(pnn, '/usr/bin/smbtorture', [`//${sc.address(pnn)}/${SHARE}`, '-U', USER, `--option=torture:basedir=t-${test}-${pnn}`,
      '-p', String(SMB_PORT), test], { timeoutMs: 120_000 });
    expect(r.code, (r.stdout + r.stderr).slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^success: ${test.split('.').pop()!}$`, 'm'));
    expect(r.stdout).not.toMatch(/^(failure|error):/m);
  }, 150_000);

  it.skipIf(!existsSync('/usr/bin/python3') || spawnSync('/usr/bin/python3', ['-c', 'import tdb']).status !== 0)
    .each(['locking', 'smbXsrv_open_global'])('a process that dies holding every record lock of %s does not wedge smbd', async (db) => {
      const path = join(sc.cluster.base(0), 'db/volatile', `${db}.tdb.0`);
      // The same open flags smbd uses (DB_OPEN_FLAGS without CLEAR_IF_FIRST): robust mutexes, incompatible hash.
      const holder = spawn('/usr/bin/python3', ['-c',
        'import os, sys, time, tdb\nt = tdb.Tdb(sys.argv[1], 0, 0x1c40, os.O_RDWR)\nt.lock_all()\nprint("locked", flush=True)\ntime.sleep(300)', path],
      { stdio: ['ignore', 'pipe', 'pipe'] });
      let said = '';
      holder.stdout.on('data', (d) => { said += d; }); holder.stderr.on('data', (d) => { said += d; });
      sessions.push(holder);
      expect(await sc.cluster.waitFor(() => said.length > 0, 20_000, 50)).toBe(true);
      expect(said.trim()).toBe('locked');
      writeFileSync(local('wedge-in.txt'), `written past a dead ${db} lock holder\n`);
      const client = spawn('/usr/bin/smbclient', ['-s', sc.conf(0), '-p', String(SMB_PORT), `//${sc.address(0)}/${SHARE}`, '-U', USER,
        '-c', `put ${local('wedge-in.txt')} wedge-${db}.txt`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      client.stdout.on('data', (d) => { out += d; }); client.stderr.on('data', (d) => { out += d; });
      const finished = new Promise<number>((r) => client.on('close', (code) => r(code ?? -1)));
      sessions.push(client);
      // While the locks are held the open cannot finish.
      await new Promise((r) => setTimeout(r, 2000));
      expect(client.exitCode, out).toBe(null);
      holder.kill('SIGKILL');
      expect(await finished, out).toBe(0);
      const get = sc.smbCommands(1, `get wedge-${db}.txt ${local('wedge-out.txt')}`, USER);
      expect(get.code, get.stderr + get.stdout).toBe(0);
      expect(readFileSync(local('wedge-out.txt'), 'utf8')).toBe(`written past a dead ${db} lock holder\n`);
    }, 120_000);

  it('kill -9 of node 2 (no smbd): I/O through nodes 0 and 1 continues', async () => {
    await sc.cluster.kill(2, 'SIGKILL');
    // Wait until the survivors have recovered without node 2 (CTDB's nodestatus: node 2 DISCONNECTED, the rest OK).
    await sc.cluster.waitFor(async () => /DISCONNECTED/.test((await sc.cluster.ctdbAsync(0, ['nodestatus', 'all'])).stdout), 30_000, 300);
    writeFileSync(local('after-in.txt'), 'after node 2 died\n');
    const put = sc.smbCommands(0, `put ${local('after-in.txt')} after.txt`, USER, 90_000);
    expect(put.code, put.stderr + put.stdout).toBe(0);
    const get = sc.smbCommands(1, `get after.txt ${local('after-out.txt')}`, USER, 90_000);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('after-out.txt'), 'utf8')).toBe('after node 2 died\n');
    expect(sc.smbd.get(0)?.exitCode).toBe(null);
    expect(sc.smbd.get(1)?.exitCode).toBe(null);
  }, 150_000);

  it('node 2 restarts and rejoins: recovery keeps the running smbds and their data working', async () => {
    sc.cluster.start(2);
    expect(await sc.cluster.waitAllOk(0, 90_000)).toBe(true);
    const ls = sc.smbCommands(1, 'ls after.txt; ls user.txt', USER, 90_000);
    expect(ls.code, ls.stderr + ls.stdout).toBe(0);
    writeFileSync(local('rejoin-in.txt'), 'after node 2 rejoined\n');
    expect(sc.smbCommands(1, `put ${local('rejoin-in.txt')} rejoin.txt`, USER, 90_000).code).toBe(0);
    const get = sc.smbCommands(0, `get rejoin.txt ${local('rejoin-out.txt')}`, USER, 90_000);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('rejoin-out.txt'), 'utf8')).toBe('after node 2 rejoined\n');
    // The persistent passdb and registry survived the recovery on every node.
    expect(sc.tool(0, '/usr/bin/pdbedit', ['-L']).stdout).toMatch(/^root:/m);
  }, 150_000);

  it('kill -9 of the ctdbd under smbd 1: that smbd exits (as with CTDB), node 0 keeps serving', async () => {
    await sc.cluster.kill(1, 'SIGKILL');
    const smbd1 = sc.smbd.get(1)!;
    const exited = await sc.cluster.waitFor(() => smbd1.exitCode !== null || smbd1.signalCode !== null, 30_000, 200);
    expect(exited).toBe(true);
    await sc.cluster.waitFor(async () => /DISCONNECTED/.test((await sc.cluster.ctdbAsync(0, ['nodestatus', 'all'])).stdout), 30_000, 300);
    const get = sc.smbCommands(0, `get rejoin.txt ${local('last-out.txt')}`, USER, 90_000);
    expect(get.code, get.stderr + get.stdout).toBe(0);
    expect(readFileSync(local('last-out.txt'), 'utf8')).toBe('after node 2 rejoined\n');
  }, 150_000);
});
