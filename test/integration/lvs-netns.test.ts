// 91.lvs.script in network namespaces. Addresses and scopes are real; the
// IPVS table is recorded by a stub ipvsadm, because kernels without IPVS in
// namespaces (like many CI machines) cannot hold it. Where the kernel does
// offer IPVS, a second block checks the real table.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeCtdb, repo } from '../fixtures/natgw/harness.js';
import { Namespaces, must, netnsUnavailable, run } from '../fixtures/natgw/netns.js';

const why = netnsUnavailable([]);
if (why) process.stderr.write(`lvs-netns: skipped: ${why}\n`);

const PRIV = ['192.168.78.10', '192.168.78.11', '192.168.78.12'];
const VIP = '198.51.100.80';
const script = join(repo, 'events/legacy/91.lvs.script');

/** Why real IPVS cannot be used in a namespace here, or undefined when it can. */
function ipvsUnavailable(): string | undefined {
  if (why) return why;
  if (run(['sh', '-c', 'command -v ipvsadm']).status !== 0) return 'ipvsadm is not installed';
  const probe = `ctlvs-probe-${process.pid}`;
  run(['ip', 'netns', 'add', probe]);
  const r = run(['ip', 'netns', 'exec', probe, 'ipvsadm', '-L', '-n']);
  run(['ip', 'netns', 'del', probe]);
  return r.status === 0 ? undefined : `kernel offers no IPVS in a namespace: ${r.stderr.trim().split('\n')[0]}`;
}

function setup(prefix: string, stub: boolean) {
  const nss = new Namespaces(prefix);
  const nodes: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'ctlvs-'));
  const base = join(tmp, 'base');
  const stubs = join(tmp, 'bin');
  mkdirSync(base);
  mkdirSync(stubs);
  symlinkSync(join(repo, 'events/functions'), join(base, 'functions'));
  writeFileSync(join(base, 'lvs_nodes'), `${PRIV[0]} follower-only\n${PRIV[1]}\n${PRIV[2]}\n`);
  writeFileSync(join(base, 'script.options'),
    `CTDB_LVS_NODES=${join(base, 'lvs_nodes')}\nCTDB_LVS_PUBLIC_IP=${VIP}\nCTDB_LVS_PUBLIC_IFACE=pub\n`);
  if (stub) {
    // Records each call per namespace; only the verbs 91.lvs uses are accepted.
    writeFileSync(join(stubs, 'ipvsadm'), '#!/bin/sh\ncase "$1" in -A|-D|-a) ;; *) echo "stub ipvsadm: $*" >&2; exit 99 ;; esac\n'
      + `echo "$*" >>"${tmp}/ipvsadm.$(ip netns identify)"\n`);
    chmodSync(join(stubs, 'ipvsadm'), 0o755);
  }
  const scenario = (flags: string[]): void =>
    writeFileSync(join(tmp, 'scenario'), flags.map((f, i) => `${i} ${PRIV[i]} ${f}\n`).join(''));
  scenario(['OK', 'OK', 'OK']);
  const sw = nss.add('sw');
  must(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
  must(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
  for (let i = 0; i < 3; i++) {
    const ns = nss.add(`n${i}`);
    nodes.push(ns);
    nss.plug(ns, 'pub', sw, 'br0', `p${i}`);
    must(['ip', '-n', ns, 'addr', 'add', `${PRIV[i]}/24`, 'dev', 'pub']);
  }
  const event = (pnn: number, ev: string) => run(['ip', 'netns', 'exec', nodes[pnn] ?? '', script, ev], {
    env: {
      PATH: stub ? `${stubs}:${process.env.PATH}` : process.env.PATH, CTDB_BASE: base, CTDB: fakeCtdb,
      FAKE_CTDB_NODES: join(tmp, 'scenario'), FAKE_CTDB_PNN: String(pnn), FAKE_CTDB_LOG: join(tmp, `ctdb.${pnn}`),
      CTDB_SCRIPT_VARDIR: join(tmp, `var${pnn}`), CTDB_HELPER_BINDIR: '/nonexistent',
      CTDB_LVS_HELPER: join(repo, 'dist/ctdb_lvs.js'),
    },
  });
  const calls = (pnn: number): string[] => {
    try { return readFileSync(join(tmp, `ipvsadm.${nodes[pnn]}`), 'utf8').trim().split('\n'); } catch { return []; }
  };
  const clearCalls = (): void => { for (const n of nodes) rmSync(join(tmp, `ipvsadm.${n}`), { force: true }); };
  const loAddr = (pnn: number): string => must(['ip', '-n', nodes[pnn] ?? '', '-o', 'addr', 'show', 'dev', 'lo']);
  const cleanup = (): void => { nss.cleanup(); rmSync(tmp, { recursive: true, force: true }); };
  return { nodes, tmp, scenario, event, calls, clearCalls, loAddr, cleanup };
}

describe.skipIf(why !== undefined)(`91.lvs.script with a recording ipvsadm${why ? ` (skipped: ${why})` : ''}`, () => {
  let t: ReturnType<typeof setup>;
  beforeAll(() => { t = setup(`ctlvs-${process.pid % 100000}-`, true); });
  afterAll(() => t?.cleanup());

  it('91.lvs.startup.001: the address goes on lo with host scope, old services are dropped', () => {
    for (let i = 0; i < 3; i++) {
      expect(t.event(i, 'startup')).toMatchObject({ status: 0, stderr: '' });
      expect(t.loAddr(i)).toMatch(new RegExp(`inet ${VIP}/32 scope host`));
      expect(t.calls(i)).toEqual([`-D -t ${VIP}`, `-D -u ${VIP}`]);
    }
  });

  it('91.lvs.ipreallocated.001: node 1 (first non-follower-only) leads and balances over the others', () => {
    t.clearCalls();
    for (let i = 0; i < 3; i++) expect(t.event(i, 'ipreallocated')).toMatchObject({ status: 0, stderr: '' });
    expect(t.loAddr(1)).toMatch(new RegExp(`inet ${VIP}/32 scope global`));
    expect(t.loAddr(0)).toMatch(new RegExp(`inet ${VIP}/32 scope host`));
    expect(t.loAddr(2)).toMatch(new RegExp(`inet ${VIP}/32 scope host`));
    expect(t.calls(1)).toEqual([
      `-D -t ${VIP}`, `-D -u ${VIP}`,
      `-A -t ${VIP} -p 1999999 -s lc`, `-A -u ${VIP} -p 1999999 -s lc`,
      `-a -t ${VIP} -r ${PRIV[0]} -g`, `-a -u ${VIP} -r ${PRIV[0]} -g`,
      `-a -t ${VIP} -r ${PRIV[2]} -g`, `-a -u ${VIP} -r ${PRIV[2]} -g`,
      `-a -t ${VIP} -r 127.0.0.1`, `-a -u ${VIP} -r 127.0.0.1`,
    ]);
    expect(t.calls(0)).toEqual([`-D -t ${VIP}`, `-D -u ${VIP}`]);
    expect(readFileSync(join(t.tmp, 'ctdb.1'), 'utf8')).toContain(`gratarp ${VIP} pub`);
  });

  it('91.lvs.ipreallocated.002: the leader goes away; node 2 leads, unusable nodes are left out', () => {
    t.clearCalls();
    t.scenario(['UNHEALTHY', 'DISCONNECTED', 'OK']);
    for (const i of [0, 2]) expect(t.event(i, 'ipreallocated')).toMatchObject({ status: 0, stderr: '' });
    expect(t.loAddr(2)).toMatch(new RegExp(`inet ${VIP}/32 scope global`));
    expect(t.calls(2).filter((c) => c.startsWith('-a -t'))).toEqual([`-a -t ${VIP} -r 127.0.0.1`]);
  });

  it('91.lvs.monitor.001: fails when the public interface is down', () => {
    expect(t.event(2, 'monitor')).toMatchObject({ status: 0 });
    must(['ip', '-n', t.nodes[2] ?? '', 'link', 'set', 'pub', 'down']);
    const r = t.event(2, 'monitor');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('LVS interface pub is down');
  });

  it('91.lvs.shutdown.001: services dropped and the address removed', () => {
    t.clearCalls();
    expect(t.event(2, 'shutdown')).toMatchObject({ status: 0 });
    expect(t.loAddr(2)).not.toContain(VIP);
    expect(t.calls(2)).toEqual([`-D -t ${VIP}`, `-D -u ${VIP}`]);
  });
});

const noIpvs = ipvsUnavailable();
if (noIpvs) process.stderr.write(`lvs-netns: real IPVS block skipped: ${noIpvs}\n`);

describe.skipIf(noIpvs !== undefined)(`91.lvs.script with real IPVS${noIpvs ? ` (skipped: ${noIpvs})` : ''}`, () => {
  let t: ReturnType<typeof setup>;
  beforeAll(() => { t = setup(`ctlvs-${process.pid % 100000}-r`, false); });
  afterAll(() => t?.cleanup());

  it('the leader holds a virtual service over the usable nodes', () => {
    for (let i = 0; i < 3; i++) expect(t.event(i, 'startup')).toMatchObject({ status: 0 });
    for (let i = 0; i < 3; i++) expect(t.event(i, 'ipreallocated')).toMatchObject({ status: 0 });
    const table = must(['ip', 'netns', 'exec', t.nodes[1] ?? '', 'ipvsadm', '-L', '-n']);
    expect(table).toContain(`TCP  ${VIP}:0 lc persistent 1999999`);
    expect(table).toContain(`${PRIV[0]}:0`);
    expect(table).toContain(`${PRIV[2]}:0`);
    expect(must(['ip', 'netns', 'exec', t.nodes[2] ?? '', 'ipvsadm', '-L', '-n'])).not.toContain(VIP);
  });
});
