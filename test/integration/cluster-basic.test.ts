import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb.js'));

/** Node flags column of `ctdb -X nodestatus all` as seen from `from`, per PNN. */
function flagsSeen(c: LocalCluster, from: number): Map<number, string> {
  const r = c.ctdb(from, ['-X', 'nodestatus', 'all']);
  const out = new Map<number, string>();
  for (const line of r.stdout.trim().split('\n').slice(1)) {
    const f = line.split('|');
    out.set(Number(f[1]), f.slice(3, 11).join(''));
  }
  return out;
}

const human = (c: LocalCluster, from: number, pnn: number): string => {
  const line = c.ctdb(from, ['nodestatus', 'all']).stdout.split('\n').find((l) => l.startsWith(`pnn:${pnn} `)) ?? '';
  return line.replace(/^pnn:\d+ \S+\s+/, '').replace(' (THIS NODE)', '');
};

describe.skipIf(!built)('3-node local cluster (our ctdbd, our ctdb)', () => {
  const c = new LocalCluster({ nodes: 3, tunables: 'KeepaliveInterval=1\nKeepaliveLimit=2\n' });

  beforeAll(async () => {
    c.startAll();
    expect(await c.waitAllOk(0, 60_000)).toBe(true);
  });
  afterAll(async () => { await c.stop(); });

  it('reaches all-OK with one agreed generation and leader on every node', async () => {
    const views = [0, 1, 2].map((p) => c.ctdb(p, ['status']));
    for (const v of views) expect(v.code).toBe(0);
    const gen = (s: string) => /Generation:(\d+)/.exec(s)?.[1];
    const leader = (s: string) => /Leader:(\d+)/.exec(s)?.[1];
    expect(new Set(views.map((v) => gen(v.stdout))).size).toBe(1);
    expect(gen(views[0]!.stdout)).toBeDefined();
    expect(new Set(views.map((v) => leader(v.stdout))).size).toBe(1);
    expect(views[0]!.stdout).toContain('Recovery mode:NORMAL (0)');
    expect(views[0]!.stdout).toMatch(/^Number of nodes:3\npnn:0 127\.0\.0\.1 {8}OK \(THIS NODE\)\npnn:1 127\.0\.0\.2 {8}OK\npnn:2 127\.0\.0\.3 {8}OK\n/);
    expect(views[0]!.stdout).toMatch(/Size:3\nhash:0 lmaster:0\nhash:1 lmaster:1\nhash:2 lmaster:2\n/);
  });

  it('status -v adds the cluster lock lines; --json is valid JSON', () => {
    const v = c.ctdb(0, ['-v', 'status']).stdout;
    expect(v).toMatch(/\nLeader:\d+\nCluster lock:none\n$/);
    const j = JSON.parse(c.ctdb(0, ['--json', 'status']).stdout);
    expect(j.nodes.map((n: { status: string }) => n.status)).toEqual(['OK', 'OK', 'OK']);
    expect(j.cluster_lock).toBeNull();
  });

  it('answers identity and runstate commands', () => {
    expect(c.ctdb(1, ['pnn']).stdout).toBe('1\n');
    expect(c.ctdb(0, ['runstate']).stdout).toBe('RUNNING\n');
    expect(c.ctdb(0, ['runstate', 'startup', 'running']).code).toBe(0);
    const r = c.ctdb(0, ['runstate', 'startup']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('CTDB not in required run state (got RUNNING)\n');
    expect(c.ctdb(0, ['getcapabilities']).stdout).toBe('LEADER: YES\nLMASTER: YES\n');
    expect(c.ctdb(0, ['-X', 'getcapabilities']).stdout).toBe('|LEADER|LMASTER|\n|1|1|\n');
    expect(c.ctdb(0, ['listnodes']).stdout).toBe('127.0.0.1\n127.0.0.2\n127.0.0.3\n');
    expect(c.ctdb(0, ['-X', 'listnodes']).stdout).toBe('|0|127.0.0.1|\n|1|127.0.0.2|\n|2|127.0.0.3|\n');
    expect(c.ctdb(2, ['getpid']).stdout).toBe(`${c.procs.get(2)!.pid}\n`);
  });

  it('forwards controls to other nodes with -n', () => {
    expect(c.ctdb(0, ['-n', '2', 'ping']).stdout).toMatch(/^response from 2 time=\d+\.\d{6} sec {2}\(\d+ clients\)\n$/);
    expect(c.ctdb(0, ['-n', '1', 'getpid']).stdout).toBe(`${c.procs.get(1)!.pid}\n`);
    expect(c.ctdb(0, ['-n', '1', 'uptime']).stdout).toMatch(/^Current time of node 1 {8}:/);
    const bad = c.ctdb(0, ['-n', '7', 'ping']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('Node 7 does not exist\n');
    const local = c.ctdb(0, ['-n', '1', 'pnn']);
    expect(local.code).toBe(1);
    expect(local.stderr).toBe('Node cannot be specified for command pnn\n');
  });

  it('gets and sets tunables, and refuses unknown and obsolete names', () => {
    expect(c.ctdb(0, ['getvar', 'RecoverTimeout']).stdout).toBe('RecoverTimeout             = 30\n');
    expect(c.ctdb(0, ['-n', '1', 'setvar', 'recovertimeout', '45']).code).toBe(0);
    expect(c.ctdb(1, ['getvar', 'RecoverTimeout']).stdout).toBe('RecoverTimeout             = 45\n');
    expect(c.ctdb(0, ['getvar', 'RecoverTimeout']).stdout).toBe('RecoverTimeout             = 30\n');
    for (const args of [['getvar', 'NoSuch'], ['setvar', 'MaxRedirectCount', '3']]) {
      const r = c.ctdb(0, args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(`No such tunable ${args[1]}\n`);
    }
    const lines = c.ctdb(0, ['listvars']).stdout.trim().split('\n');
    expect(lines).toHaveLength(49);
    expect(lines[0]).toBe('SeqnumInterval             = 1000');
    expect(c.ctdb(0, ['getvar', 'KeepaliveInterval']).stdout).toBe('KeepaliveInterval          = 1\n');
  });

  it('sets and reads the debug level', () => {
    expect(c.ctdb(0, ['setdebug', 'DEBUG']).code).toBe(0);
    expect(c.ctdb(0, ['getdebug']).stdout).toBe('DEBUG\n');
    expect(c.ctdb(0, ['setdebug', '4']).code).toBe(0);
    expect(c.ctdb(0, ['getdebug']).stdout).toBe('NOTICE\n');
    expect(c.ctdb(0, ['setdebug', 'LOUD']).code).toBe(1);
  });

  it('reports statistics and resets them', () => {
    const s = c.ctdb(0, ['statistics']).stdout;
    expect(s).toMatch(/^CTDB version 1\nCurrent time of statistics {2}: {16}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);
    expect(s).toMatch(/\n {5}req_control +\d+\n/);
    const x = c.ctdb(0, ['-X', 'statistics']).stdout.split('\n');
    expect(x[0]!.split('|').length).toBe(x[1]!.split('|').length);
    expect(c.ctdb(0, ['statisticsreset']).code).toBe(0);
  });

  it('process-exists is true only for connected clients', () => {
    const r = c.ctdb(0, ['process-exists', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('PID 1 does not exist\n');
  });

  it('ban, stop and disable show on every node and reverse', async () => {
    const check = async (args: string[], undo: string[], text: string): Promise<void> => {
      expect(c.ctdb(0, args).code).toBe(0);
      for (const from of [0, 1, 2]) {
        expect(await c.waitFor(() => human(c, from, 1) === text, 10_000)).toBe(true);
      }
      expect(c.ctdb(0, undo).code).toBe(0);
      for (const from of [0, 1, 2]) {
        expect(await c.waitFor(() => human(c, from, 1) === 'OK', 15_000)).toBe(true);
      }
    };
    await check(['-n', '1', 'ban', '300'], ['-n', '1', 'unban'], 'BANNED|INACTIVE');
    await check(['-n', '1', 'stop'], ['-n', '1', 'continue'], 'STOPPED|INACTIVE');
    await check(['-n', '1', 'disable'], ['-n', '1', 'enable'], 'DISABLED');
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
  });

  it('a banned node freezes its databases until a recovery takes it back', async () => {
    expect(c.ctdb(0, ['attach', 'freezetest.tdb']).code).toBe(0);
    expect(c.ctdb(0, ['writekey', 'freezetest.tdb', 'k', 'v']).code).toBe(0);
    const frozen = (pnn: number): string | undefined => / frozen +(\d+)\n/.exec(c.ctdb(0, ['-n', String(pnn), 'statistics']).stdout)?.[1];
    expect(frozen(1)).toBe('0');
    expect(c.ctdb(0, ['-n', '1', 'ban', '300']).code).toBe(0);
    expect(await c.waitFor(() => frozen(1) === '1', 10_000)).toBe(true);
    expect(frozen(2)).toBe('0');
    expect(c.ctdb(0, ['-n', '1', 'unban']).code).toBe(0);
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
    expect(await c.waitFor(() => frozen(1) === '0', 15_000)).toBe(true);
    expect(c.ctdb(1, ['readkey', 'freezetest.tdb', 'k']).stdout).toBe('Data: size:1 ptr:[v]\n');
  });

  it('short-circuits repeated admin commands like CTDB', () => {
    const r = c.ctdb(0, ['-n', '1', 'unban']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('Node 1 is not banned\n');
    expect(c.ctdb(0, ['ban', '0']).code).toBe(22);
    expect(c.ctdb(0, ['-n', '2', 'continue']).stderr).toBe('Node 2 is not stopped\n');
  });

  it('marks a killed node DISCONNECTED at once and takes it back on restart', async () => {
    await c.kill(2, 'SIGKILL');
    for (const from of [0, 1]) {
      expect(await c.waitFor(() => flagsSeen(c, from).get(2)?.startsWith('1') === true, 10_000)).toBe(true);
    }
    expect(human(c, 0, 2)).toBe('DISCONNECTED|INACTIVE');
    // The survivors recover into a 2-node vnnmap.
    expect(await c.waitFor(() => /Size:2\n/.test(c.ctdb(0, ['status']).stdout), 20_000)).toBe(true);
    c.start(2);
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
    expect(await c.waitFor(() => /Size:3\n/.test(c.ctdb(2, ['status']).stdout), 20_000)).toBe(true);
  });

  it('detects a hung node by missed keepalives (SIGSTOP) and takes it back (SIGCONT)', async () => {
    const p = c.procs.get(1)!;
    p.kill('SIGSTOP');
    try {
      // KeepaliveInterval 1 s x KeepaliveLimit 2: silence is noticed within a few seconds.
      expect(await c.waitFor(() => flagsSeen(c, 0).get(1)?.startsWith('1') === true, 15_000)).toBe(true);
    } finally {
      p.kill('SIGCONT');
    }
    expect(await c.waitAllOk(0, 30_000)).toBe(true);
  });

  it('elects a new leader when the leader is killed', async () => {
    const leader = Number(c.ctdb(0, ['leader']).stdout.trim());
    expect(leader).toBeGreaterThanOrEqual(0);
    await c.kill(leader, 'SIGKILL');
    const others = [0, 1, 2].filter((p) => p !== leader);
    expect(await c.waitFor(() => {
      const l = others.map((p) => c.ctdb(p, ['leader']).stdout.trim());
      return l[0] === l[1] && l[0] !== String(leader) && l[0] !== 'UNKNOWN';
    }, 30_000, 500)).toBe(true);
    c.start(leader);
    expect(await c.waitAllOk(others[0], 30_000)).toBe(true);
  });
});

describe.skipIf(!built)('ctdb tool errors (no daemon needed)', () => {
  const c = new LocalCluster({ nodes: 1, firstOctet: 9 });
  afterAll(async () => { await c.stop(); });

  it('rejects unknown commands and options with CTDB\'s messages and exit codes', () => {
    const u = c.ctdb(0, ['frobnicate']);
    expect(u.code).toBe(1);
    expect(u.stderr).toBe("Unknown command 'frobnicate'\n");
    const o = c.ctdb(0, ['-Q', 'status']);
    expect(o.code).toBe(1);
    expect(o.stderr).toBe('Invalid option -Q: unknown option\n');
    const none = c.ctdb(0, []);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('Commands:\n  version ');
    const help = c.ctdb(0, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\n {2}status {10} {28} show node status\n/);
  });

  it('reports a missing daemon like CTDB', () => {
    const r = c.ctdb(0, ['pnn']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Failed to connect to CTDB daemon (${join(c.base(0), 'run/ctdbd.socket')})\n`);
  });

  it('listnodes works without a daemon and -n is refused for it', () => {
    expect(c.ctdb(0, ['listnodes']).stdout).toBe('127.0.0.9\n');
    const r = c.ctdb(0, ['-n', '0', 'listnodes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Cannot specify node for command listnodes\n');
  });
});
