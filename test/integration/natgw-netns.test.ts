// 11.natgw.script for real: three nodes on a private bridge and an outside
// host on a public one, each in its own network namespace. The fake ctdb
// reports node states; ctdb_natgw (built) chooses the leader.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeCtdb, repo } from '../fixtures/natgw/harness.js';
import { Namespaces, must, netnsUnavailable, run } from '../fixtures/natgw/netns.js';

const why = netnsUnavailable(['iptables']);
if (why) process.stderr.write(`natgw-netns: skipped: ${why}\n`);

const PRIV = ['192.168.77.10', '192.168.77.11', '192.168.77.12'];
const OUTSIDE = '198.51.100.1';
const NATGW_IP = '198.51.100.10';
const PORT = 8077;
const script = join(repo, 'events/legacy/11.natgw.script');

describe.skipIf(why !== undefined)(`11.natgw.script in namespaces${why ? ` (skipped: ${why})` : ''}`, () => {
  const nss = new Namespaces(`ctnat-${process.pid % 100000}-`);
  const nodes: string[] = [];
  let out = '';
  let tmp = '';
  let server: ChildProcess | undefined;

  const scenario = (flags: string[]): void =>
    writeFileSync(join(tmp, 'scenario'), flags.map((f, i) => `${i} ${PRIV[i]} ${f}\n`).join(''));

  const event = (pnn: number, ev: string): { stdout: string; stderr: string; status: number | null } => run(
    ['ip', 'netns', 'exec', nodes[pnn] ?? '', script, ev], {
      env: {
        PATH: process.env.PATH, CTDB_BASE: join(tmp, 'base'), CTDB: fakeCtdb,
        FAKE_CTDB_NODES: join(tmp, 'scenario'), FAKE_CTDB_PNN: String(pnn),
        CTDB_SCRIPT_VARDIR: join(tmp, `var${pnn}`), CTDB_HELPER_BINDIR: '/nonexistent',
        CTDB_NATGW_HELPER: join(repo, 'dist/ctdb_natgw.js'),
      },
    });

  /** Connects from a node to the outside host; returns the source address the outside saw. */
  const seenFrom = (pnn: number): string => {
    const js = `const s=require('net').connect(${PORT},'${OUTSIDE}');let d='';`
      + `s.on('data',(b)=>d+=b);s.on('end',()=>{process.stdout.write(d)});`
      + `s.setTimeout(4000,()=>{process.stderr.write('timeout');process.exit(3)});s.on('error',(e)=>{process.stderr.write(String(e));process.exit(2)})`;
    const r = run(['ip', 'netns', 'exec', nodes[pnn] ?? '', process.execPath, '-e', js], { timeout: 10_000 });
    return r.status === 0 ? r.stdout.trim() : `failed(${r.status}): ${r.stderr.trim()}`;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ctnat-'));
    const base = join(tmp, 'base');
    mkdirSync(base);
    symlinkSync(join(repo, 'events/functions'), join(base, 'functions'));
    writeFileSync(join(base, 'natgw_nodes'), `${PRIV[0]}\n${PRIV[1]}\n${PRIV[2]} follower-only\n`);
    writeFileSync(join(base, 'script.options'), [
      `CTDB_NATGW_NODES=${join(base, 'natgw_nodes')}`, `CTDB_NATGW_PUBLIC_IP=${NATGW_IP}/24`,
      'CTDB_NATGW_PUBLIC_IFACE=pub', 'CTDB_NATGW_PRIVATE_NETWORK=192.168.77.0/24',
      `CTDB_NATGW_DEFAULT_GATEWAY=${OUTSIDE}`, ''].join('\n'));
    scenario(['OK', 'OK', 'OK']);

    const sw = nss.add('sw');
    must(['ip', '-n', sw, 'link', 'add', 'brpriv', 'type', 'bridge']);
    must(['ip', '-n', sw, 'link', 'add', 'brpub', 'type', 'bridge']);
    must(['ip', '-n', sw, 'link', 'set', 'brpriv', 'up']);
    must(['ip', '-n', sw, 'link', 'set', 'brpub', 'up']);
    for (let i = 0; i < 3; i++) {
      const ns = nss.add(`n${i}`);
      nodes.push(ns);
      nss.plug(ns, 'priv', sw, 'brpriv', `p${i}`);
      nss.plug(ns, 'pub', sw, 'brpub', `q${i}`);
      must(['ip', '-n', ns, 'addr', 'add', `${PRIV[i]}/24`, 'dev', 'priv']);
    }
    out = nss.add('out');
    nss.plug(out, 'eth0', sw, 'brpub', 'o0');
    must(['ip', '-n', out, 'addr', 'add', `${OUTSIDE}/24`, 'dev', 'eth0']);

    // The outside host answers every connection with the address it came from.
    const js = `require('net').createServer((c)=>c.end(c.remoteAddress.replace(/^::ffff:/,'')))`
      + `.listen(${PORT},'${OUTSIDE}',()=>console.log('listening'))`;
    server = spawn('ip', ['netns', 'exec', out, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: server.stdout! });
    for await (const l of lines) if (l === 'listening') break;
  });

  afterAll(() => {
    if (server?.pid !== undefined) { try { process.kill(server.pid, 'SIGKILL'); } catch { /* gone */ } }
    nss.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('11.natgw.startup.001: succeeds on every node', () => {
    for (let i = 0; i < 3; i++) expect(event(i, 'startup')).toMatchObject({ status: 0 });
  });

  it('11.natgw.ipreallocated.001: node 0 leads, the others route through it', () => {
    for (let i = 0; i < 3; i++) {
      const r = event(i, 'ipreallocated');
      expect({ i, status: r.status, stderr: r.stderr }).toEqual({ i, status: 0, stderr: '' });
    }
    expect(must(['ip', '-n', nodes[0] ?? '', '-o', 'addr', 'show', 'dev', 'pub'])).toContain(`${NATGW_IP}/24`);
    expect(must(['ip', 'netns', 'exec', nodes[0] ?? '', 'iptables', '-t', 'nat', '-S', 'POSTROUTING']))
      .toContain('-s 192.168.77.0/24 ! -d 192.168.77.0/24 -j MASQUERADE');
    for (const i of [1, 2]) {
      expect(must(['ip', '-n', nodes[i] ?? '', 'route', 'show', 'default'])).toContain(`default via ${PRIV[0]} dev priv metric 10`);
      expect(must(['ip', '-n', nodes[i] ?? '', '-o', 'addr', 'show', 'dev', 'pub'])).not.toContain(NATGW_IP);
    }
  });

  it('followers reach the outside, which sees the NAT gateway address', () => {
    expect(seenFrom(1)).toBe(NATGW_IP);
    expect(seenFrom(2)).toBe(NATGW_IP);
  });

  it('11.natgw.monitor.001: passes while the public interface is up', () => {
    for (let i = 0; i < 3; i++) expect(event(i, 'monitor')).toMatchObject({ status: 0 });
  });

  it('11.natgw.ipreallocated.002: nothing changed, nothing redone', () => {
    const r = event(1, 'ipreallocated');
    expect([r.status, r.stdout]).toEqual([0, '']);
    const routes = must(['ip', '-n', nodes[1] ?? '', 'route', 'show', 'default']).trim().split('\n');
    expect(routes).toEqual([`default via ${PRIV[0]} dev priv metric 10`]);
  });

  it('11.natgw.ipreallocated.003: the leader dies; node 1 takes over and traffic flows again', () => {
    // "Kill" node 0: its links go down and ctdb reports it disconnected.
    must(['ip', '-n', nodes[0] ?? '', 'link', 'set', 'priv', 'down']);
    must(['ip', '-n', nodes[0] ?? '', 'link', 'set', 'pub', 'down']);
    scenario(['DISCONNECTED', 'OK', 'OK']);
    for (const i of [1, 2]) expect(event(i, 'ipreallocated')).toMatchObject({ status: 0, stderr: '' });
    expect(must(['ip', '-n', nodes[1] ?? '', '-o', 'addr', 'show', 'dev', 'pub'])).toContain(`${NATGW_IP}/24`);
    expect(must(['ip', '-n', nodes[1] ?? '', 'route', 'show', 'default'])).toContain(`default via ${OUTSIDE} dev pub metric 10`);
    expect(must(['ip', '-n', nodes[2] ?? '', 'route', 'show', 'default']).trim()).toBe(`default via ${PRIV[1]} dev priv metric 10`);
    // The outside still maps the gateway address to the dead node's MAC; a real
    // failover is announced by the cluster, here we just forget the entry.
    must(['ip', '-n', out, 'neigh', 'flush', 'dev', 'eth0']);
    expect(seenFrom(2)).toBe(NATGW_IP);
  });

  it('11.natgw.ipreallocated.004: no usable leader → the event fails clearly', () => {
    scenario(['DISCONNECTED', 'DISABLED', 'OK']);
    const r = event(2, 'ipreallocated');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no NAT gateway leader');
    scenario(['DISCONNECTED', 'OK', 'OK']);
  });

  it('11.natgw.monitor.002: fails when the public interface is down', () => {
    must(['ip', '-n', nodes[1] ?? '', 'link', 'set', 'pub', 'down']);
    try {
      const r = event(1, 'monitor');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('interface pub is down');
    } finally {
      must(['ip', '-n', nodes[1] ?? '', 'link', 'set', 'pub', 'up']);
    }
  });

  it('11.natgw.shutdown.001: the leader drops the address and the NAT rules', () => {
    expect(event(1, 'shutdown')).toMatchObject({ status: 0 });
    expect(must(['ip', '-n', nodes[1] ?? '', '-o', 'addr', 'show', 'dev', 'pub'])).not.toContain(NATGW_IP);
    const nat = must(['ip', 'netns', 'exec', nodes[1] ?? '', 'iptables', '-t', 'nat', '-S', 'POSTROUTING']);
    expect(nat).not.toContain('MASQUERADE');
    expect(must(['ip', 'netns', 'exec', nodes[1] ?? '', 'iptables', '-S', 'INPUT'])).not.toContain('REJECT');
  });
});

describe.skipIf(why !== undefined)('11.natgw.script configuration checks', () => {
  const cfg = (opts: string, ev: string, publicAddresses = ''): { stdout: string; stderr: string; status: number | null } => {
    const d = mkdtempSync(join(tmpdir(), 'ctnat-cfg-'));
    try {
      symlinkSync(join(repo, 'events/functions'), join(d, 'functions'));
      writeFileSync(join(d, 'nodes'), `${PRIV[0]}\n`);
      writeFileSync(join(d, 'fo'), `${PRIV[0]} follower-only\n`);
      writeFileSync(join(d, 'scenario'), `0 ${PRIV[0]} OK\n`);
      writeFileSync(join(d, 'script.options'), opts.replaceAll('@D@', d));
      writeFileSync(join(d, 'public_addresses'), publicAddresses);
      return run([script, ev], {
        env: { PATH: process.env.PATH, CTDB_BASE: d, CTDB: fakeCtdb, FAKE_CTDB_NODES: join(d, 'scenario'),
          CTDB_SCRIPT_VARDIR: join(d, 'var'), CTDB_PROC_DIR: join(d, 'proc') },
      });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  };
  it('11.natgw.setup.001: not configured → nothing to do', () => {
    expect(cfg('', 'setup')).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });
  it('11.natgw.setup.002: unreadable nodes file is an error naming it', () => {
    const r = cfg('CTDB_NATGW_NODES=@D@/missing\n', 'setup');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing" is not readable/);
  });
  it('11.natgw.setup.003: a leader-capable node needs the public address', () => {
    const r = cfg('CTDB_NATGW_NODES=@D@/nodes\nCTDB_NATGW_PRIVATE_NETWORK=192.168.77.0/24\n', 'setup');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CTDB_NATGW_PUBLIC_IP is not set');
  });
  it('11.natgw.setup.004: a follower-only node does not', () => {
    const r = cfg('CTDB_NATGW_NODES=@D@/fo\nCTDB_NATGW_PRIVATE_NETWORK=192.168.77.0/24\n', 'setup');
    expect(r).toMatchObject({ status: 0, stderr: '' });
  });
  it('11.natgw.setup.005: the private network is always required', () => {
    const r = cfg('CTDB_NATGW_NODES=@D@/fo\n', 'setup');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CTDB_NATGW_PRIVATE_NETWORK is not set');
  });
  it('11.natgw.startup.002: the gateway address must not also be a public address', () => {
    const r = cfg('CTDB_NATGW_NODES=@D@/nodes\nCTDB_NATGW_PRIVATE_NETWORK=192.168.77.0/24\n'
      + 'CTDB_NATGW_PUBLIC_IP=198.51.100.10/24\nCTDB_NATGW_PUBLIC_IFACE=pub\n', 'startup', '198.51.100.10/24 pub\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('also a public address');
  });
});
