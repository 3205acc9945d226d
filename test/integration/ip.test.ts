/**
 * Public IP commands on a 3-node loopback cluster (no root needed: the
 * addresses are bookkeeping only, as no event scripts are installed), with
 * Debian's ctdb tool pointed at our daemons for the outputs it shares.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CtdbClient } from '../../src/client/client.js';
import { ipAddr } from '../../src/client/ip.js';
import { writeAll } from '../../src/protocol/buffer.js';
import { registerSrvid } from '../../src/client/controls.js';
import { Srvid } from '../../src/protocol/constants.js';
import { Opcode } from '../../src/protocol/opcodes.js';
import { encodeConnection } from '../../src/protocol/payloads.js';
import { DIST, LocalCluster } from '../harness/cluster.js';

const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb_takeover_helper.js'));
const haveReal = existsSync('/usr/bin/ctdb');
const PUBLIC = '10.99.0.1/24 eth7\n10.99.0.2/24 eth7\n10.99.0.3/24 eth7,eth8\n';

describe.skipIf(!built)('ctdb ip commands on our daemons', () => {
  const c = new LocalCluster({ nodes: 3, firstOctet: 60, tunables: 'TickleUpdateInterval=1\n' });
  const owners = (from = 0): Map<string, number> => new Map(c.ctdb(from, ['-X', 'ip', 'all']).stdout.trim().split('\n').slice(1)
    .map((l) => l.split('|')).map((f) => [f[1]!, Number(f[2])]));

  beforeAll(async () => {
    for (let p = 0; p < 3; p++) writeFileSync(join(c.base(p), 'public_addresses'), PUBLIC);
    c.startAll();
    expect(await c.waitAllOk(0, 60_000)).toBe(true);
    expect(await c.waitFor(() => [...owners().values()].every((p) => p >= 0), 30_000)).toBe(true);
  });
  afterAll(async () => { await c.stop(); });

  it('every address is hosted once and every node agrees on the owners', () => {
    const o = owners();
    expect([...o.keys()]).toEqual(['10.99.0.1', '10.99.0.2', '10.99.0.3']);
    expect(new Set(o.values()).size).toBe(3);
    for (const p of [1, 2]) expect(owners(p)).toEqual(o);
  });

  it.skipIf(!haveReal)('ip, ip -v, ip -X, ipinfo, ifaces match Debian\'s tool byte for byte', () => {
    for (const args of [['ip'], ['ip', 'all'], ['-X', 'ip'], ['-v', 'ip'], ['-X', '-v', 'ip'], ['ipinfo', '10.99.0.3'],
      ['ifaces'], ['-X', 'ifaces'], ['-n', '1', 'ip'], ['-v', 'ip', 'all'], ['-X', '-v', 'ip', 'all']]) {
      const ours = c.ctdb(0, args);
      const real = c.ctdb(0, args, { real: true });
      expect({ args, out: ours.stdout, code: ours.code }).toEqual({ args, out: real.stdout, code: real.code });
    }
  });

  it.skipIf(!haveReal)('error texts match Debian\'s tool (unknown address, bad IP/mask, bad address)', () => {
    for (const args of [['gettickles', '10.99.0.77'], ['addip', 'bad/24', 'eth7'], ['delip', 'bad'], ['reloadips', '5']]) {
      const ours = c.ctdb(0, args);
      const real = c.ctdb(0, args, { real: true });
      expect({ args, out: ours.stdout, err: ours.stderr, code: ours.code }).toEqual({ args, out: real.stdout, err: real.stderr, code: real.code });
    }
  });

  it('ip -v shows the active, available and configured interfaces', () => {
    const o = owners();
    const host = o.get('10.99.0.3')!;
    expect(c.ctdb(host, ['-v', 'ip']).stdout).toContain('10.99.0.3 node[' + host + '] active[eth7] available[eth7,eth8] configured[eth7,eth8]');
  });

  it('addtickle/gettickles/deltickle, and the list reaches the other nodes from the host', async () => {
    const host = owners().get('10.99.0.1')!;
    const other = (host + 1) % 3;
    expect(c.ctdb(host, ['addtickle', '10.1.1.1:1000', '10.99.0.1:445']).code).toBe(0);
    expect(c.ctdb(host, ['addtickle'], { input: '10.1.1.2:1000 10.99.0.1:445\n10.1.1.3:1000 10.99.0.1:139\n' }).code).toBe(0);
    const got = c.ctdb(host, ['gettickles', '10.99.0.1', '445']).stdout;
    expect(got).toBe('Connections for IP: 10.99.0.1\nNum connections: 2\nSRC: 10.1.1.1:1000   DST: 10.99.0.1:445\nSRC: 10.1.1.2:1000   DST: 10.99.0.1:445\n');
    if (haveReal) expect(c.ctdb(host, ['-X', 'gettickles', '10.99.0.1'], { real: true }).stdout).toBe(c.ctdb(host, ['-X', 'gettickles', '10.99.0.1']).stdout);
    expect(await c.waitFor(() => c.ctdb(other, ['gettickles', '10.99.0.1']).stdout.includes('Num connections: 3'), 15_000)).toBe(true);
    expect(c.ctdb(host, ['deltickle', '10.1.1.1:1000', '10.99.0.1:445']).code).toBe(0);
    expect(c.ctdb(host, ['gettickles', '10.99.0.1']).stdout).toContain('Num connections: 2');
  });

  it('TCP_CLIENT registrations reach every node at once and vanish when the client disconnects', async () => {
    const host = owners().get('10.99.0.2')!;
    const client = await CtdbClient.connect(join(c.base(host), 'run/ctdbd.socket'));
    try {
      const conn = writeAll(encodeConnection, { src: ipAddr('10.3.3.3', 40000), dst: ipAddr('10.99.0.2', 445) });
      expect((await client.control(host, Opcode.TCP_CLIENT, conn)).status).toBe(0);
      const bad = writeAll(encodeConnection, { src: ipAddr('10.3.3.3', 40000), dst: ipAddr('10.3.3.4', 445) });
      expect((await client.control(host, Opcode.TCP_CLIENT, bad)).status).toBe(-1);
      for (const p of [0, 1, 2]) {
        expect(await c.waitFor(() => c.ctdb(p, ['gettickles', '10.99.0.2']).stdout.includes('SRC: 10.3.3.3:40000'), 10_000)).toBe(true);
      }
    } finally { client.close(); }
    for (const p of [0, 1, 2]) {
      expect(await c.waitFor(() => !c.ctdb(p, ['gettickles', '10.99.0.2']).stdout.includes('SRC: 10.3.3.3:40000'), 10_000)).toBe(true);
    }
  });

  it('moving an address tells local clients: RELEASE_IP on the old host, TAKE_IP on the new one', async () => {
    expect(c.ctdb(0, ['ipreallocate']).code).toBe(0);
    const from = owners().get('10.99.0.3')!;
    const to = (from + 1) % 3;
    const listen = async (pnn: number, srvid: bigint): Promise<{ client: CtdbClient; got: string[] }> => {
      const client = await CtdbClient.connect(join(c.base(pnn), 'run/ctdbd.socket'));
      const got: string[] = [];
      client.onMessage(srvid, (_s, data) => got.push(data.toString('utf8').replace(/\0$/, '')));
      await registerSrvid(client, srvid);
      return { client, got };
    };
    const rel = await listen(from, Srvid.RELEASE_IP);
    const take = await listen(to, Srvid.TAKE_IP);
    try {
      expect(c.ctdb(0, ['moveip', '10.99.0.3', String(to)]).code).toBe(0);
      expect(await c.waitFor(() => rel.got.includes('10.99.0.3') && take.got.includes('10.99.0.3'), 10_000)).toBe(true);
    } finally { rel.client.close(); take.client.close(); }
  });

  it('addtickle refuses a pair whose server is not a public address, as CTDB does', () => {
    const r = c.ctdb(0, ['addtickle', '10.99.0.1:445', '10.1.1.1:1002']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Control TCP_ADD_DELAYED_UPDATE failed, ret=-1\nFailed to register connection\n');
    if (haveReal) expect(c.ctdb(0, ['addtickle', '10.99.0.1:445', '10.1.1.1:1002'], { real: true }).stderr).toBe(r.stderr);
  });

  it('ip connection add/del/list, one pair and batches on stdin', () => {
    expect(c.ctdb(1, ['ip', 'connection', 'add', '10.99.0.2:2049', '10.0.1.33:987']).code).toBe(0);
    // Either order: the public address is the server.
    expect(c.ctdb(1, ['ip', 'connection', 'add', '10.0.1.34:988', '10.99.0.2:2049']).code).toBe(0);
    expect(c.ctdb(1, ['ip', 'connection', 'list', '10.99.0.2']).stdout).toBe('10.99.0.2:2049 10.0.1.33:987\n10.99.0.2:2049 10.0.1.34:988\n');
    const r = c.ctdb(1, ['ip', 'connection'], { input: 'del 10.99.0.2:2049 10.0.1.33:987\n# comment\n\nadd 10.99.0.3:2049 10.0.1.35:989\n' });
    expect(r.code).toBe(0);
    expect(c.ctdb(1, ['ip', 'connection', 'list']).stdout).toContain('10.99.0.3:2049 10.0.1.35:989\n');
    expect(c.ctdb(1, ['ip', 'connection', 'list']).stdout).not.toContain('10.0.1.33:987');
    const lines = Array.from({ length: 500 }, (_, i) => `10.99.0.3:445 10.2.${i >> 8}.${i & 255}:${1000 + i}`).join('\n');
    expect(c.ctdb(1, ['ip', 'connection', 'add'], { input: lines }).code).toBe(0);
    expect(c.ctdb(1, ['gettickles', '10.99.0.3', '445']).stdout).toContain('Num connections: 500');
  });

  it('a bad batch line names its line number and nothing of the batch is applied', () => {
    const r = c.ctdb(2, ['ip', 'connection', 'add'], { input: '10.99.0.1:1 10.5.0.1:1\n10.99.0.1:1 nonsense\n' });
    expect(r.code).toBe(22);
    expect(r.stderr).toMatch(/^line 2: /);
    const r2 = c.ctdb(2, ['ip', 'connection'], { input: 'add 10.99.0.1:1 10.5.0.1:1\nadd 10.5.0.2:1 10.5.0.3:1\n' });
    expect(r2.code).toBe(22);
    expect(r2.stderr).toContain('line 2: neither 10.5.0.2 nor 10.5.0.3 is a public address');
    expect(c.ctdb(2, ['ip', 'connection'], { input: 'frob 10.99.0.1:1 10.5.0.1:1\n' }).stderr).toContain("line 1: unknown command 'frob'");
    expect(c.ctdb(2, ['ip', 'connection', 'list']).stdout).not.toContain('10.5.0.');
  });

  it('IPv6 connections are tracked too', async () => {
    expect(c.ctdb(0, ['addip', 'fd00::10/64', 'eth9']).code).toBe(0);
    expect(c.ctdb(0, ['ip', 'connection', 'add', '[fd00::10]:445', '[fd00::99]:5000']).code).toBe(0);
    expect(c.ctdb(0, ['ip', 'connection', 'list', 'fd00::10']).stdout).toBe('[fd00::10]:445 [fd00::99]:5000\n');
    expect(c.ctdb(0, ['delip', 'fd00::10']).code).toBe(0);
  });

  it('moveip moves an address; a node that cannot host it is refused and nothing changes', async () => {
    // Earlier addip/delip asked for takeover runs of their own: let them finish first.
    expect(c.ctdb(0, ['ipreallocate']).code).toBe(0);
    const o = owners();
    const [ip, from] = [...o].find(([, p]) => p !== 2)!;
    expect(c.ctdb(0, ['moveip', ip, '2']).code).toBe(0);
    expect(owners().get(ip)).toBe(2);
    expect(owners(from).get(ip)).toBe(2);
    expect(c.ctdb(0, ['addip', '10.99.0.50/24', 'eth7']).code).toBe(0);
    // The daemon asks for a takeover run by itself; let it settle first.
    expect(await c.waitFor(() => owners().get('10.99.0.50') === 0, 15_000)).toBe(true);
    expect(c.ctdb(0, ['ipreallocate']).code).toBe(0);
    const before = owners();
    // Only node 0 lists 10.99.0.50: node 1 cannot host it.
    const r = c.ctdb(0, ['moveip', '10.99.0.50', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Node 1 CANNOT host IP address 10.99.0.50');
    expect(owners()).toEqual(before);
    expect(c.ctdb(0, ['delip', '10.99.0.50']).code).toBe(0);
  });

  it('addip: the daemon hosts the new address; a second add and a second delete are no-ops', async () => {
    expect(c.ctdb(1, ['addip', '10.99.0.9/24', 'eth9']).code).toBe(0);
    expect(await c.waitFor(() => owners(1).get('10.99.0.9') === 1, 15_000)).toBe(true);
    const again = c.ctdb(1, ['addip', '10.99.0.9/24', 'eth9']);
    expect(again).toMatchObject({ code: 0, stderr: 'Node already knows about IP 10.99.0.9\n' });
    expect(c.ctdb(1, ['delip', '10.99.0.9']).code).toBe(0);
    expect(c.ctdb(1, ['delip', '10.99.0.9'])).toMatchObject({ code: 0, stderr: 'Node does not know about IP address 10.99.0.9\n' });
    expect(owners(1).has('10.99.0.9')).toBe(false);
  });

  it('tickle: bad endpoints and bad stdin lines fail as with Debian\'s tool; a good pair is sent (root)', () => {
    const cases: Array<{ args: string[]; input?: string; code: number; err: string }> = [
      { args: ['tickle', '127.0.0.1:1', 'bad'], code: 1, err: 'Invalid IP address bad\n' },
      { args: ['tickle'], input: '127.0.0.1:1 127.0.0.1:2\nbad\n', code: 22, err: '' },
    ];
    if (process.getuid?.() === 0) {
      cases.push({ args: ['tickle', '127.0.0.1:1', '127.0.0.1:2'], code: 0, err: '' }, { args: ['tickle'], input: '127.0.0.1:1 127.0.0.1:2\n', code: 0, err: '' });
    }
    for (const k of cases) {
      const ours = c.ctdb(0, k.args, { input: k.input });
      expect({ args: k.args, code: ours.code, err: ours.stderr }).toEqual({ args: k.args, code: k.code, err: k.err });
      if (haveReal) {
        const real = c.ctdb(0, k.args, { input: k.input, real: true });
        expect({ args: k.args, code: real.code, err: real.stderr }).toEqual({ args: k.args, code: k.code, err: k.err });
      }
    }
  });

  it('ipinfo and setifacelink on unknown names fail as CTDB does', () => {
    expect(c.ctdb(0, ['ipinfo', '10.99.0.77'])).toMatchObject({ code: 1, stdout: 'Node 0 does not know about IP 10.99.0.77\n' });
    expect(c.ctdb(0, ['setifacelink', 'ethX', 'up'])).toMatchObject({ code: 1, stdout: 'Interface ethX not configured on node 0\n' });
  });

  it('setifacelink down takes the addresses on that interface away from the node', async () => {
    const host = owners().get('10.99.0.1')!;
    expect(c.ctdb(host, ['setifacelink', 'eth7', 'down']).code).toBe(0);
    expect(c.ctdb(host, ['ifaces']).stdout).toContain('name:eth7 link:down');
    expect(c.ctdb(0, ['ipreallocate']).code).toBe(0);
    const o = owners();
    expect(o.get('10.99.0.1')).not.toBe(host);
    expect(o.get('10.99.0.2')).not.toBe(host);
    expect(c.ctdb(host, ['setifacelink', 'eth7', 'up']).code).toBe(0);
  });

  it('disable moves the node\'s addresses away and enable brings it a share back', async () => {
    expect(c.ctdb(2, ['disable']).code).toBe(0);
    expect([...owners().values()]).not.toContain(2);
    expect(c.ctdb(2, ['enable']).code).toBe(0);
    expect(await c.waitFor(() => [...owners().values()].includes(2), 15_000)).toBe(true);
  });

  it('reloadips picks up a changed public_addresses file; a malformed one is refused and changes nothing', () => {
    for (let p = 0; p < 3; p++) writeFileSync(join(c.base(p), 'public_addresses'), `${PUBLIC}10.99.0.4/24 eth8\n`);
    expect(c.ctdb(0, ['reloadips']).code).toBe(0);
    expect(owners().get('10.99.0.4')).toBeGreaterThanOrEqual(0);
    writeFileSync(join(c.base(0), 'public_addresses'), `${PUBLIC}10.99.0.300/24 eth8\n`);
    const before = owners();
    const r = c.ctdb(0, ['reloadips', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('public_addresses:4');
    expect(owners()).toEqual(before);
  });
});

describe.skipIf(!built)('a malformed public_addresses file', () => {
  it('stops ctdbd at start with file:line and exit status 22', async () => {
    const c = new LocalCluster({ nodes: 1, firstOctet: 64 });
    try {
      writeFileSync(join(c.base(0), 'public_addresses'), '10.99.0.1/24 eth7\n10.99.0.2 eth7\n');
      const r = spawnSync(process.execPath, [join(DIST, 'ctdbd.js'), '-i'], { env: c.env(0), encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(22);
      expect(r.stderr).toContain(`${join(c.base(0), 'public_addresses')}:2: missing /MASK in '10.99.0.2'`);
    } finally { await c.stop(); }
  });
});
