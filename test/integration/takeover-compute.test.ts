import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const helper = join(root, 'dist', 'ctdb_takeover_helper.js');
const manPage = join(root, 'man', 'ctdb_takeover_helper.1');

/** Runs the built helper synchronously (it reads all stdin, then exits). */
function run(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [helper, ...args], { input, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const compute = (flags: string, input: string, ...more: string[]) =>
  run(['--compute', '--node-flags', flags, ...more], input);

let tmp = '';
beforeAll(() => {
  if (!existsSync(helper)) throw new Error(`${helper} missing: run npm run build first`);
  tmp = mkdtempSync(join(tmpdir(), 'takeover-compute-'));
});
afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

describe('ctdb_takeover_helper', () => {
  it('prints usage with --help', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--compute/);
    expect(r.stdout).toMatch(/--node-flags/);
  });

  it('without --compute treats its arguments as a takeover run, not stdin as a preview', () => {
    const r = run([], '10.0.0.1 0\n');
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/WRITE-FD CTDBD-SOCKET/);
  });

  it('previews an allocation, IPv6 first, highest address first', () => {
    const r = compute('0,0,0x2', '10.0.0.1 0\n10.0.0.10 1\n2001:db8::1 -1 2\nfd00::1 2\n10.0.0.9 -1\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['fd00::1', '2001:db8::1', '10.0.0.10', '10.0.0.9', '10.0.0.1']);
    const owner = Object.fromEntries(lines.map((l) => l.split(' ')));
    expect(owner['2001:db8::1']).toBe('-1');
    expect(owner['10.0.0.1']).toBe('0');
    expect(owner['10.0.0.10']).toBe('1');
    for (const ip of ['fd00::1', '10.0.0.9']) expect(['0', '1']).toContain(owner[ip]);
  });

  it('accepts its own output as input and then changes nothing', () => {
    const first = compute('0,0,0,0', ['1', '2', '3', '4', '5', '6'].map((i) => `10.1.0.${i} -1`).join('\n'));
    expect(first.status).toBe(0);
    expect(compute('0,0,0,0', first.stdout).stdout).toBe(first.stdout);
  });

  it('applies --algorithm and the tunables', () => {
    const input = '10.0.0.3 0\n10.0.0.2 0\n10.0.0.1 0\n';
    expect(compute('0,0', input, '--algorithm', 'deterministic').stdout).toBe('10.0.0.3 0\n10.0.0.2 1\n10.0.0.1 0\n');
    expect(compute('0,0', input, '--no-ip-failback').stdout).toBe(input);
    expect(compute('0x20,0', input, '--no-ip-takeover').stdout).toBe('10.0.0.3 -1\n10.0.0.2 -1\n10.0.0.1 -1\n');
    // Node 1 hosts one address, node 2 none: only node 2 receives, unless node 1 is force-rebalanced.
    const five = '10.0.0.5 1\n10.0.0.4 0\n10.0.0.3 0\n10.0.0.2 0\n10.0.0.1 0\n';
    expect(compute('0,0,0', five).stdout).toBe('10.0.0.5 1\n10.0.0.4 2\n10.0.0.3 2\n10.0.0.2 0\n10.0.0.1 0\n');
    expect(compute('0,0,0', five, '--force-rebalance', '1').stdout)
      .toBe('10.0.0.5 1\n10.0.0.4 0\n10.0.0.3 2\n10.0.0.2 1\n10.0.0.1 0\n');
    const homes = join(tmp, 'home_nodes');
    writeFileSync(homes, '10.0.0.3 1\n');
    expect(compute('0,0', input, '--algorithm', 'deterministic', '--home-nodes', homes).stdout)
      .toBe('10.0.0.3 1\n10.0.0.2 1\n10.0.0.1 0\n');
  });

  it.each([
    ['a malformed line', '0,0', '10.0.0.1 0\n10.0.0.2\n', /line 2: expected/],
    ['a bad address', '0,0', '\n10.0.0.1 0\n10.0.0.256 1\n', /line 3: '10.0.0.256' is not an IP address/],
    ['a PNN beyond the node count', '0,0', '10.0.0.1 0\n10.0.0.2 2\n', /line 2: current PNN 2 is beyond the node count 2/],
    ['an allowed PNN beyond the node count', '0,0', '10.0.0.1 0 0,1,2\n', /line 1: .*PNN 2 is beyond/],
    ['an unknown flag word', '0,0x80', '10.0.0.1 0\n', /--node-flags: node 1: unknown flag bits/],
    ['a garbage flag word', '0,disabled', '10.0.0.1 0\n', /--node-flags: node 1: 'disabled'/],
  ])('rejects %s: one line on stderr, nothing on stdout', (_what, flags, input, msg) => {
    const r = compute(flags, input);
    expect(r.status).toBe(22);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });

  it('matches the "what if node 2 dies?" example in its man page', () => {
    const text = readFileSync(manPage, 'utf8');
    const m = /\$ cat now\.txt\n([\s\S]*?)\$ ctdb_takeover_helper \\-\\-compute \\-\\-node\\-flags (\S+) < now\.txt\n([\s\S]*?)\.fi/.exec(text);
    expect(m).not.toBeNull();
    const [, now, flags, want] = m!;
    expect(now!.trim().split('\n')).toHaveLength(8);
    const r = compute(flags!, now!);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(want);
  });
});

/*
 * Opt-in comparison with Debian's real CTDB: four ctdbd daemons in test mode on
 * 127.77.0.1-4 (no event scripts), each with its own random public_addresses.
 * Random disable/enable/stop/continue/setvar steps; after each, the allocation
 * the real takeover helper made must equal our --compute prediction from the
 * previous allocation and the new node flags and tunables.
 */
const REAL_CTDBD = '/usr/sbin/ctdbd';
const compareReal = process.env.CTDB_COMPARE_REAL === '1' && existsSync(REAL_CTDBD);

describe.skipIf(!compareReal)('against Debian ctdbd (skipped unless CTDB_COMPARE_REAL=1: needs /usr/sbin/ctdbd, 2-5 minutes)', () => {
  const N = 4;
  const STEPS = Number(process.env.CTDB_COMPARE_STEPS ?? 30);
  const base = (i: number) => join(tmp, `node.${i}`);
  const pids: number[] = [];
  const env = (i: number) => ({ ...process.env, CTDB_TEST_MODE: 'yes', CTDB_BASE: base(i),
    CTDB_TEST_HELPER_BINDIR: '/usr/libexec/ctdb', CTDB_SCRIPT_VARDIR: join(base(i), 'var') });
  const ctdb = (i: number, ...args: string[]) =>
    spawnSync('ctdb', args, { env: env(i), encoding: 'utf8', timeout: 30_000 });
  let seed = Number(process.env.CTDB_COMPARE_SEED ?? 1);
  const rand = (n: number) => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const pool = [...Array(12).keys()].map((k) => `10.99.0.${k + 1}/24`)
    .concat([...Array(6).keys()].map((k) => `10.99.1.${k + 1}/24`), [...Array(6).keys()].map((k) => `fd00::${k + 1}/64`));
  const configured: string[][] = [];

  beforeAll(async () => {
    const { mkdirSync } = await import('node:fs');
    for (let i = 1; i <= N; i++) {
      for (const d of ['events/legacy', 'run', 'db/v', 'db/p', 'db/s', 'var']) mkdirSync(join(base(i), d), { recursive: true });
      writeFileSync(join(base(i), 'nodes'), [...Array(N).keys()].map((j) => `127.77.0.${j + 1}\n`).join(''));
      writeFileSync(join(base(i), 'ctdb.conf'), `[logging]\nlocation = file:${base(i)}/log.ctdb\nlog level = NOTICE\n`
        + `[cluster]\nnode address = 127.77.0.${i}\ncluster lock = ${tmp}/cluster.lock\n`
        + `[database]\nvolatile database directory = ${base(i)}/db/v\npersistent database directory = ${base(i)}/db/p\n`
        + `state database directory = ${base(i)}/db/s\n[legacy]\nrealtime scheduling = false\n`);
      const mine = pool.filter(() => rand(4) !== 0);
      configured.push(mine.map((a) => a.split('/')[0]!));
      writeFileSync(join(base(i), 'public_addresses'), mine.map((a) => `${a} eth0\n`).join(''));
      spawnSync(REAL_CTDBD, [], { env: env(i), stdio: 'ignore', timeout: 30_000 });
    }
    for (let i = 1; i <= N; i++) {
      const pidFile = join(base(i), 'run', 'ctdbd.pid');
      for (let t = 0; t < 40 && !existsSync(pidFile); t++) await new Promise((r) => setTimeout(r, 250));
      if (!existsSync(pidFile)) {
        const log = join(base(i), 'log.ctdb');
        throw new Error(`ctdbd ${i} did not start: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-500) : 'no log'}`);
      }
      pids.push(Number(readFileSync(pidFile, 'utf8')));
    }
    for (let t = 0; t < 120 && ctdb(1, 'nodestatus', 'all').status !== 0; t++) await new Promise((r) => setTimeout(r, 500));
    expect(ctdb(1, 'ipreallocate').status).toBe(0);
  }, 120_000);

  afterAll(() => {
    for (let i = 1; i <= N; i++) ctdb(i, 'shutdown');
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
  });

  const anyUp = () => [...Array(N).keys()].map((k) => k + 1).find((i) => ctdb(i, 'pnn').status === 0)!;
  const ipAll = (): Map<string, string> => new Map(ctdb(anyUp(), '-X', 'ip', 'all').stdout.trim().split('\n').slice(1)
    .map((l) => l.split('|').slice(1, 3) as [string, string]));
  const nodeStatus = () => ctdb(anyUp(), '-X', 'nodestatus', 'all').stdout.trim().split('\n').slice(1)
    .map((l) => l.split('|').slice(1).map(Number));
  // nodestatus -X fields: PNN IP Disconnected Unknown Banned Disabled Unhealthy Stopped Inactive ...
  const flagWord = (f: number[]) => (f[2]! ? 0x1 : 0) | (f[4]! ? 0x8 : 0) | (f[5]! ? 0x4 : 0) | (f[6]! ? 0x2 : 0) | (f[7]! ? 0x20 : 0);
  const getvar = (name: string) => ctdb(anyUp(), 'getvar', name).stdout.trim().split(/\s+/).pop()!;

  it('predicts every takeover run of the real helper', () => {
    const all = [...new Set(configured.flat())];
    const mismatches: string[] = [];
    let changedSteps = 0;
    for (let step = 0; step < STEPS; step++) {
      const before = ipAll();
      const k = rand(N);
      const st = nodeStatus()[k]!;
      const op = rand(10);
      if (op <= 3) ctdb(k + 1, st[5] ? 'enable' : 'disable');
      else if (op <= 6) ctdb(k + 1, st[7] ? 'continue' : 'stop');
      else {
        const [name, value] = op === 7 ? ['IPAllocAlgorithm', rand(3)] : op === 8 ? ['NoIPFailback', rand(2)]
          : ['NoIPTakeover', rand(3) === 0 ? 1 : 0];
        for (let i = 1; i <= N; i++) ctdb(i, 'setvar', name, String(value));
      }
      ctdb(anyUp(), 'ipreallocate');
      const after = ipAll();
      const flags = nodeStatus().map(flagWord).map((f) => `0x${f.toString(16)}`).join(',');
      const input = all.map((ip) => `${ip} ${before.get(ip) ?? -1} ${configured.flatMap((c, n) => (c.includes(ip) ? [n] : [])).join(',')}\n`).join('');
      const args = ['--algorithm', ['deterministic', 'nondeterministic', 'lcp2'][Number(getvar('IPAllocAlgorithm'))] ?? 'lcp2'];
      if (getvar('NoIPFailback') === '1') args.push('--no-ip-failback');
      if (getvar('NoIPTakeover') === '1') args.push('--no-ip-takeover');
      const r = compute(flags, input, ...args);
      expect(r.status).toBe(0);
      if ([...after].some(([ip, pnn]) => before.get(ip) !== pnn)) changedSteps++;
      if (process.env.CTDB_COMPARE_DEBUG) process.stderr.write(`step ${step} op ${op} node ${k} ${flags} ${args.join(' ')}\n${input}--\n${r.stdout}--\n${[...after].join(' ')}\n`);
      for (const line of r.stdout.trim().split('\n')) {
        const [ip, pnn] = line.split(' ');
        // `ctdb ip all` leaves out addresses that only inactive nodes list: those must be unassigned.
        const real = after.get(ip!) ?? '-1';
        if (real !== pnn) mismatches.push(`step ${step} (${flags} ${args.join(' ')}): ${ip} real ${real} ours ${pnn}`);
      }
    }
    expect(mismatches).toEqual([]);
    // A run in which nothing ever moved would prove nothing.
    expect(changedSteps).toBeGreaterThan(STEPS / 4);
  }, 600_000);
});
