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

  it('refuses the takeover run mode with one clear line', () => {
    const r = run(['3', '/tmp/ctdbd.socket']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/takeover run mode is not available in this build/);
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
