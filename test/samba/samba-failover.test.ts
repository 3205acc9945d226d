/**
 * Clustered smbd behind public addresses: three node namespaces and a client
 * namespace (test/netns/netns-cluster.ts), our daemons with the 10.interface
 * script, smbd on every node listening on all addresses. A client using a
 * public address keeps working on a survivor when the node holding that
 * address dies, and its old connection is reset by the tickle ACKs (smbd
 * registered it with TCP_CLIENT). Needs root and Samba; skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST } from '../harness/cluster.js';
import { canUseNetns, NetnsCluster } from '../netns/netns-cluster.js';
import { SHARE, SMB_PORT, sambaMissing, stopProcess, writeSmbConf } from './samba-cluster.js';

const PUBLIC = ['10.78.0.31', '10.78.0.32', '10.78.0.33'];
const missing = sambaMissing() ?? (!existsSync(join(DIST, 'ctdbd.js')) ? 'dist/ctdbd.js is not built (npm run build)'
  : !canUseNetns() ? 'network namespaces need root and iproute2' : undefined);
if (missing) process.stderr.write(`samba failover tests skipped: ${missing}\n`);

describe.skipIf(missing !== undefined)('clustered smbd behind public addresses (namespaces)', () => {
  let c: NetnsCluster;
  const smbd = new Map<number, ChildProcess>();
  const others: ChildProcess[] = [];
  let shareDir = '';
  const conf = (pnn: number): string => join(c.cl.dir, `smb.${pnn}`, 'smb.conf');

  /** Runs smbclient inside the client namespace. */
  const smbclient = (address: string, cmds: string, timeoutMs = 60_000): { code: number; out: string } => {
    const r = spawnSync('ip', ['netns', 'exec', c.clientNs, '/usr/bin/smbclient', '-s', conf(0), '-p', String(SMB_PORT),
      `//${address}/${SHARE}`, '-N', '-c', cmds], { encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status ?? -1, out: (r.stdout ?? '') + (r.stderr ?? '') };
  };

  /** Client-side ports of established connections from the client namespace to `address`:SMB_PORT. */
  const clientPorts = (address: string): string[] => {
    const r = spawnSync('ip', ['netns', 'exec', c.clientNs, 'ss', '-Htn', 'state', 'established', 'dst', `${address}:${SMB_PORT}`], { encoding: 'utf8' });
    return [...(r.stdout ?? '').matchAll(/10\.78\.0\.100:(\d+)/g)].map((m) => m[1]!);
  };

  const startSmbd = (pnn: number): void => {
    // `ip netns exec` execs smbd, so the PID is smbd's; detached gives it its own process group for its SIGTERM.
    const p = spawn('ip', ['netns', 'exec', c.ns(pnn), '/usr/sbin/smbd', '-F', '--no-process-group', '-s', conf(pnn)],
      { detached: true, stdio: 'ignore' });
    smbd.set(pnn, p);
  };

  const ownerOf = (address: string): number => c.owners(0).get(address) ?? -1;

  beforeAll(async () => {
    c = new NetnsCluster({ nodes: 3, publicIps: PUBLIC, tunables: 'TickleUpdateInterval=1\nKeepaliveInterval=1\nKeepaliveLimit=3\n' });
    c.setup();
    chmodSync(c.cl.dir, 0o711);
    shareDir = join(c.cl.dir, 'share');
    mkdirSync(shareDir);
    chmodSync(shareDir, 0o777);
    for (let p = 0; p < 3; p++) {
      writeSmbConf({ conf: conf(p), smbDir: join(c.cl.dir, `smb.${p}`), shareDir, socket: join(c.cl.base(p), 'run/ctdbd.socket') });
    }
    c.startAll();
    expect(await c.waitFor(() => c.ctdb(0, ['nodestatus', 'all']).code === 0, 90_000, 300)).toBe(true);
    expect(await c.waitFor(() => c.hosted(0).length + c.hosted(1).length + c.hosted(2).length === PUBLIC.length, 30_000)).toBe(true);
    for (let p = 0; p < 3; p++) startSmbd(p);
    for (const a of PUBLIC) expect(await c.waitFor(() => smbclient(a, 'ls', 10_000).code === 0, 60_000, 300)).toBe(true);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(others.map((p) => stopProcess(p, false)));
    await Promise.all([...smbd.values()].map((p) => stopProcess(p, true)));
    await c?.teardown();
  }, 90_000);

  it('every public address serves the same share', () => {
    writeFileSync(join(c.cl.dir, 'in.txt'), 'through a public address\n');
    expect(smbclient(PUBLIC[0]!, `put ${join(c.cl.dir, 'in.txt')} public.txt`).code).toBe(0);
    for (const a of PUBLIC) {
      const r = smbclient(a, 'ls public.txt');
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/public\.txt/);
    }
  });

  it('moveip: the smbd serving a connection on the old node exits (RELEASE_IP message, releaseip connection kill); the client reconnects to the new node', async () => {
    const owners = c.owners(0);
    const [address, from] = [...owners].find(([, p]) => p === 0) ?? [...owners][0]!;
    const to = from === 1 ? 2 : 1;
    const held = spawn('ip', ['netns', 'exec', c.clientNs, '/usr/bin/smbclient', '-s', conf(0), '-p', String(SMB_PORT),
      `//${address}/${SHARE}`, '-N'], { stdio: ['pipe', 'pipe', 'pipe'] });
    held.stdout!.on('data', () => {}); held.stderr!.on('data', () => {});
    others.push(held);
    let ports: string[] = [];
    expect(await c.waitFor(() => (ports = clientPorts(address)).length > 0, 20_000, 200)).toBe(true);
    const port = ports[0]!;
    // The smbd child that owns the server side of this connection on the old node.
    const serverPid = (): number | undefined => {
      const r = spawnSync('ip', ['netns', 'exec', c.ns(from), 'ss', '-Htnp', 'state', 'established', 'dst', `10.78.0.100:${port}`], { encoding: 'utf8' });
      const m = /"smbd",pid=(\d+)/.exec(r.stdout ?? '');
      return m ? Number(m[1]) : undefined;
    };
    let child: number | undefined;
    expect(await c.waitFor(() => (child = serverPid()) !== undefined, 10_000, 200)).toBe(true);
    expect(c.ctdb(0, ['moveip', address, String(to)]).code).toBe(0);
    expect(c.hosted(to)).toContain(address);
    const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
    expect(await c.waitFor(() => !alive(child!), 30_000, 200)).toBe(true);
    expect(await c.waitFor(() => !clientPorts(address).includes(port), 30_000, 200)).toBe(true);
    writeFileSync(join(c.cl.dir, 'moved-in.txt'), 'after moveip\n');
    const r = smbclient(address, `put ${join(c.cl.dir, 'moved-in.txt')} moved.txt; ls moved.txt`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/moved\.txt/);
  }, 120_000);

  it('kill the node holding a client\'s address: its connection is reset, and the same address serves from a survivor', async () => {
    const address = PUBLIC.find((a) => ownerOf(a) === 2) ?? PUBLIC[2]!;
    const victim = ownerOf(address);
    expect(victim).toBeGreaterThanOrEqual(0);
    // An idle session held open on the victim's address.
    const held = spawn('ip', ['netns', 'exec', c.clientNs, '/usr/bin/smbclient', '-s', conf(0), '-p', String(SMB_PORT),
      `//${address}/${SHARE}`, '-N'], { stdio: ['pipe', 'pipe', 'pipe'] });
    held.stdout!.on('data', () => {}); held.stderr!.on('data', () => {});
    others.push(held);
    let ports: string[] = [];
    expect(await c.waitFor(() => (ports = clientPorts(address)).length > 0, 20_000, 200)).toBe(true);
    const port = ports[0]!;
    // smbd registered the connection (TCP_CLIENT); the victim replicates it to the other nodes.
    const survivor = victim === 0 ? 1 : 0;
    expect(await c.waitFor(() => c.ctdb(survivor, ['gettickles', address]).stdout.includes(`SRC: 10.78.0.100:${port}`), 20_000)).toBe(true);

    await c.crash(victim);
    await stopProcess(smbd.get(victim)!, true);
    smbd.delete(victim);
    expect(await c.waitFor(() => { const o = ownerOf(address); return o >= 0 && o !== victim; }, 60_000, 300)).toBe(true);
    const newOwner = ownerOf(address);
    expect(await c.waitFor(() => c.hosted(newOwner).includes(address), 30_000)).toBe(true);
    // The tickle ACK from the new holder resets the idle connection without any traffic from the client.
    expect(await c.waitFor(() => !clientPorts(address).includes(port), 30_000, 200)).toBe(true);
    const log = readFileSync(join(c.cl.base(newOwner), 'log.ctdb'), 'utf8');
    expect(log).toMatch(new RegExp(`"ip":"${address.replace(/\./g, '\\.')}","count":[1-9].*sent tickle ACKs`));

    const get = smbclient(address, `get public.txt ${join(c.cl.dir, 'out.txt')}`);
    expect(get.code, get.out).toBe(0);
    expect(readFileSync(join(c.cl.dir, 'out.txt'), 'utf8')).toBe('through a public address\n');
  }, 150_000);
});
