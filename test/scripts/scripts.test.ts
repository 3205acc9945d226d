import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptSandbox, type StubRule } from './harness.js';

let sb: ScriptSandbox;
afterEach(() => sb?.cleanup());

/** One script test: `<script>.<event>.NNN`. */
interface Case {
  name: string;
  setup?: (sb: ScriptSandbox) => void;
  stubs?: StubRule[];
  args?: string[];
  env?: Record<string, string>;
  rc: number;
  out?: string | RegExp;
  calls?: string[];
  stdin?: string;
  check?: (sb: ScriptSandbox) => void;
}

const LINK_UP = (i: string): StubRule => ({ cmd: 'ip', args: `-o link show dev ${i}`, out: `2: ${i}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP\n` });
const LINK_DOWN = (i: string): StubRule => ({ cmd: 'ip', args: `-o link show dev ${i}`, out: `3: ${i}: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state DOWN\n` });
const SETLINK: StubRule = { cmd: 'ctdb', args: 'setifacelink *' };
const PUBLIC = (sb: ScriptSandbox): void => { sb.file('base/public_addresses', '10.0.0.5/24 eth0\n10.0.0.6/24 eth0,eth1\n# 10.9.9.9/24 eth9\n'); };
const SS_CONNS = '0 0 10.0.0.5:445 10.0.0.99:50000\n0 0 10.0.0.6:445 10.0.0.98:1234\n0 0 [fd00::5]:2049 [fd00::9]:800\n';

const cases: Case[] = [
  { name: '00.ctdb.init.001',
    setup: (s) => s.file('var/scripts/old-state', 'x'),
    rc: 0, calls: [], check: (s) => { expect(existsSync(s.vardir)).toBe(true); expect(readdirSync(s.vardir)).toEqual([]); } },
  { name: '00.ctdb.monitor.001', rc: 0, calls: [] },

  { name: '01.reclock.monitor.001', stubs: [{ cmd: 'ctdb-config', args: 'get cluster cluster lock', out: '/tmp\n' }], rc: 0 },
  { name: '01.reclock.monitor.002', stubs: [{ cmd: 'ctdb-config', args: 'get cluster cluster lock', out: '!/usr/bin/lockhelper x\n' }], rc: 0 },
  { name: '01.reclock.monitor.003', stubs: [{ cmd: 'ctdb-config', args: 'get cluster cluster lock', out: '/nonexistent-dir/lock\n' }],
    env: { CTDB_RECLOCK_FAIL_LIMIT: '1' }, rc: 1, out: /ERROR: cluster lock folder "\/nonexistent-dir" not accessible/ },

  { name: '05.system.monitor.001',
    setup: (s) => s.file('meminfo', 'MemTotal: 1000 kB\nMemAvailable: 500 kB\n'),
    env: { CTDB_MONITOR_FILESYSTEM_USAGE: '/:80:90', CTDB_MONITOR_MEMORY_USAGE: '40:60' },
    stubs: [{ cmd: 'df', args: '-kP /', out: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 85 15 85% /\n' }],
    rc: 0, out: 'WARNING: Filesystem / utilization 85% >= threshold 80%\nWARNING: System memory utilization 50% >= threshold 40%\n' },
  { name: '05.system.monitor.002',
    env: { CTDB_MONITOR_FILESYSTEM_USAGE: '/:80:90', CTDB_MONITOR_MEMORY_USAGE: '', CTDB_PROC_MEMINFO: '/nonexistent' },
    stubs: [{ cmd: 'df', args: '-kP /', out: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 95 5 95% /\n' }],
    rc: 1, out: 'ERROR: Filesystem / utilization 95% >= threshold 90%\n' },

  { name: '10.interface.takeip.001', args: ['eth0', '10.0.0.5', '24'],
    stubs: [{ cmd: 'ip', args: 'link set eth0 up' }, { cmd: 'ip', args: 'addr add 10.0.0.5/24 brd + dev eth0' }],
    rc: 0, calls: ['ip link set eth0 up', 'ip addr add 10.0.0.5/24 brd + dev eth0'] },
  { name: '10.interface.takeip.002', args: ['eth0', '10.0.0.5', '24'],
    stubs: [{ cmd: 'ip', args: 'link set eth0 up' }, { cmd: 'ip', args: 'addr add *', rc: 2, out: 'RTNETLINK answers: File exists' }],
    rc: 1, out: /ERROR: failed to add 10\.0\.0\.5\/24 on interface eth0/ },
  { name: '10.interface.takeip.003', args: ['eth0', '10.0.0.5'], rc: 1, out: /must supply interface, IP and maskbits/, calls: [] },
  { name: '10.interface.releaseip.001', args: ['eth0', '10.0.0.5', '24'],
    stubs: [{ cmd: 'ss', args: '-tnH state established', out: SS_CONNS }, { cmd: 'ctdb_killtcp', args: 'eth0' },
      { cmd: 'ip', args: 'addr del 10.0.0.5/24 dev eth0' }, { cmd: 'ip', args: 'route flush cache' }],
    rc: 0, out: /Killing 1 TCP connections to released IP 10\.0\.0\.5/, stdin: '10.0.0.99:50000 10.0.0.5:445\n',
    calls: ['ss -tnH state established', 'ctdb_killtcp eth0', 'ip addr del 10.0.0.5/24 dev eth0', 'ip route flush cache'] },
  { name: '10.interface.releaseip.002', args: ['eth1', 'fd00::5', '64'],
    stubs: [{ cmd: 'ss', args: '-tnH state established', out: SS_CONNS }, { cmd: 'ctdb_killtcp', args: 'eth1' },
      { cmd: 'ip', args: 'addr del fd00::5/64 dev eth1' }, { cmd: 'ip', args: 'route flush cache' }],
    rc: 0, stdin: '[fd00::9]:800 [fd00::5]:2049\n' },
  { name: '10.interface.releaseip.003', args: ['eth0', '10.0.0.7', '24'],
    stubs: [{ cmd: 'ss', args: '-tnH state established', out: SS_CONNS },
      { cmd: 'ip', args: 'addr del 10.0.0.7/24 dev eth0' }, { cmd: 'ip', args: 'route flush cache' }],
    rc: 0, calls: ['ss -tnH state established', 'ip addr del 10.0.0.7/24 dev eth0', 'ip route flush cache'] },
  { name: '10.interface.updateip.001', args: ['eth0', 'eth1', '10.0.0.6', '24'],
    stubs: [{ cmd: 'ip', args: 'link set eth1 up' }, { cmd: 'ip', args: 'addr add 10.0.0.6/24 brd + dev eth1' },
      { cmd: 'ip', args: 'addr del 10.0.0.6/24 dev eth0' }, { cmd: 'ip', args: 'route flush cache' }],
    rc: 0, calls: ['ip link set eth1 up', 'ip addr add 10.0.0.6/24 brd + dev eth1', 'ip addr del 10.0.0.6/24 dev eth0', 'ip route flush cache'] },
  { name: '10.interface.monitor.001', setup: PUBLIC, stubs: [LINK_UP('eth0'), LINK_DOWN('eth1'), SETLINK],
    rc: 1, out: 'ERROR: public network interface eth1 is down\n' },
  { name: '10.interface.monitor.002', setup: PUBLIC, env: { CTDB_PARTIALLY_ONLINE_INTERFACES: 'yes' },
    stubs: [LINK_UP('eth0'), LINK_DOWN('eth1'), SETLINK], rc: 0 },
  { name: '10.interface.monitor.003', setup: PUBLIC, stubs: [LINK_UP('eth0'), LINK_UP('eth1'), SETLINK], rc: 0, out: '',
    check: (s) => expect(s.run('events/legacy/10.interface.script', ['monitor']).calls.filter((c) => c.startsWith('ctdb')))
      .toEqual(['ctdb setifacelink eth0 up', 'ctdb setifacelink eth1 up']) },
  { name: '10.interface.startup.001', rc: 0, calls: [] },

  { name: '11.routing.takeip.001', args: ['eth0', '10.0.0.5', '24'],
    setup: (s) => s.file('base/static-routes', 'eth0 192.168.10.0/24 10.0.0.1\neth1 10.2.0.0/16\neth0 10.3.0.0/16\n'),
    stubs: [{ cmd: 'ip', args: 'route add *' }], rc: 0,
    calls: ['ip route add 192.168.10.0/24 via 10.0.0.1 dev eth0', 'ip route add 10.3.0.0/16 dev eth0'] },

  { name: '13.per_ip_routing.takeip.001', args: ['eth0', '10.0.0.5', '24'],
    setup: (s) => s.file('routing.conf', '10.0.0.5 0.0.0.0/0 10.0.0.1\n10.0.0.6 10.5.0.0/16\n'),
    env: { CTDB_PER_IP_ROUTING_RULE_PREF: '100' },
    stubs: [{ cmd: 'ip', args: 'rule del *', rc: 2 }, { cmd: 'ip', args: 'route flush table 1000' },
      { cmd: 'ip', args: 'rule add from 10.0.0.5 lookup 1000 pref 100' }, { cmd: 'ip', args: 'route add 0.0.0.0/0 via 10.0.0.1 dev eth0 table 1000' }],
    rc: 0, check: (s) => expect(readFileSync(join(s.vardir, '13.per_ip_routing/tables'), 'utf8')).toBe('10.0.0.5 1000\n') },

  { name: '20.multipathd.monitor.001', env: { CTDB_MONITOR_MPDEVICES: 'mpatha mpathb' },
    stubs: [{ cmd: 'multipath', args: '-ll mpatha', out: 'mpatha (3600)\n`- 1:0:0:1 sdb 8:16 active ready running\n' },
      { cmd: 'multipath', args: '-ll mpathb', out: '' }],
    rc: 1, out: 'ERROR: multipath device "mpathb" not found\n' },

  { name: '31.clamd.monitor.001', env: { CTDB_CLAMD_SOCKET: '/run/clamd.sock' },
    stubs: [{ cmd: 'ss', args: '-xlnH', out: 'u_str LISTEN 0 5 /run/other.sock 123 * 0\n' }],
    rc: 1, out: 'ERROR: clamav-daemon socket "/run/clamd.sock" not found\n' },

  { name: '40.vsftpd.monitor.001', stubs: [{ cmd: 'ss', args: '-tlnH', out: 'LISTEN 0 32 0.0.0.0:21 0.0.0.0:*\n' }], rc: 0 },
  { name: '40.vsftpd.monitor.002', env: { CTDB_VSFTPD_UNHEALTHY_AFTER: '2' },
    stubs: [{ cmd: 'ss', args: '-tlnH', out: '' }, { cmd: 'service', args: 'vsftpd restart' }], rc: 0,
    out: 'ERROR: vsftpd tcp port 21 is not responding\n',
    check: (s) => {
      const second = s.run('events/legacy/40.vsftpd.script', ['monitor'], { CTDB_VSFTPD_UNHEALTHY_AFTER: '2' });
      expect(second.rc).toBe(1);
      expect(second.calls).toEqual(['ss -tlnH', 'service vsftpd restart']);
    } },

  { name: '41.httpd.startup.001', env: { CTDB_SERVICE_HTTPD: 'nginx' }, stubs: [{ cmd: 'service', args: 'nginx start' }], rc: 0, calls: ['service nginx start'] },
  { name: '41.httpd.startup.002', stubs: [{ cmd: 'service', args: 'apache2 start', rc: 1 }], rc: 1, out: 'ERROR: failed to start apache2\n' },
  { name: '41.httpd.monitor.001', env: { CTDB_HTTPD_PORTS: '80 443' },
    stubs: [{ cmd: 'ss', args: '-tlnH', out: 'LISTEN 0 511 0.0.0.0:80 0.0.0.0:*\nLISTEN 0 511 [::]:443 [::]:*\n' }], rc: 0 },
  { name: '41.httpd.monitor.002', env: { CTDB_HTTPD_PORTS: '80 443' },
    stubs: [{ cmd: 'ss', args: '-tlnH', out: 'LISTEN 0 511 0.0.0.0:80 0.0.0.0:*\nLISTEN 0 511 0.0.0.0:8443 0.0.0.0:*\n' }],
    rc: 1, out: 'ERROR: apache2 tcp port 443 is not responding\n' },
  { name: '41.httpd.shutdown.001', stubs: [{ cmd: 'service', args: 'apache2 stop' }], rc: 0, calls: ['service apache2 stop'] },

  { name: '48.netbios.monitor.001', stubs: [{ cmd: 'ss', args: '-ulnH', out: 'UNCONN 0 0 0.0.0.0:137 0.0.0.0:*\n' }], rc: 0 },
  { name: '49.winbind.monitor.001', stubs: [{ cmd: 'wbinfo', args: '-p', rc: 1, out: 'could not ping winbindd!' }],
    rc: 1, out: 'ERROR: wbinfo -p returned error\ncould not ping winbindd!\n' },
  { name: '49.winbind.startup.001', stubs: [{ cmd: 'service', args: 'winbind start' }], rc: 0 },

  { name: '50.samba.monitor.001',
    setup: (s) => { mkdirSync(join(s.root, 'share1'), { recursive: true }); },
    stubs: [{ cmd: 'ss', args: '-tlnH', out: 'LISTEN 0 50 0.0.0.0:445 0.0.0.0:*\n' }], rc: 0 },
  { name: '50.samba.monitor.002',
    stubs: [{ cmd: 'ss', args: '-tlnH', out: 'LISTEN 0 50 0.0.0.0:445 0.0.0.0:*\n' },
      { cmd: 'testparm', args: '-s', out: '[global]\n\tworkgroup = X\n[data]\n\tpath = /nonexistent/share\n[homes]\n\tpath = /home/%U\n' }],
    rc: 1, out: 'ERROR: smbd folder "/nonexistent/share" not available\n' },
  { name: '50.samba.monitor.003', env: { CTDB_SAMBA_SKIP_SHARE_CHECK: 'yes' },
    stubs: [{ cmd: 'ss', args: '-tlnH', out: 'LISTEN 0 50 0.0.0.0:445 0.0.0.0:*\n' }], rc: 0, calls: ['ss -tlnH'] },
  { name: '50.samba.ipreallocated.001',
    setup: (s) => s.file('var/scripts/50.samba/reconfigure', ''),
    stubs: [{ cmd: 'smbcontrol', args: 'smbd reload-config' }], rc: 0, calls: ['smbcontrol smbd reload-config'],
    check: (s) => expect(existsSync(join(s.vardir, '50.samba/reconfigure'))).toBe(false) },

  { name: '60.nfs.takeip.001', args: ['eth0', '10.0.0.5', '24'], rc: 0, calls: [],
    check: (s) => expect(readFileSync(join(s.vardir, 'service/nfs/public-ips'), 'utf8')).toBe('10.0.0.5\n') },
  { name: '60.nfs.monitor.001',
    setup: (s) => { s.file('exports', '/srv/missing 10.0.0.0/8(rw)\n'); },
    env: { CTDB_NFS_EXPORTS_FILE: '' },
    stubs: [{ cmd: 'exportfs', args: '', out: '/nonexistent/export\n\t10.0.0.0/8\n' }],
    rc: 1, out: 'ERROR: nfs folder "/nonexistent/export" not available\n' },
  { name: '60.nfs.monitor.002', env: { CTDB_NFS_SKIP_SHARE_CHECK: 'yes' },
    stubs: [{ cmd: 'rpcinfo', args: '-T tcp 127.0.0.1 100003 3', rc: 1, out: 'rpcinfo: RPC: Program not registered' },
      { cmd: 'rpcinfo', args: '*' }],
    rc: 0, out: 'WARNING: 20.nfs check failed (1 in a row)\n' },
  { name: '60.nfs.monitor.003', env: { CTDB_NFS_SKIP_SHARE_CHECK: 'yes' },
    stubs: [{ cmd: 'rpcinfo', args: '-T tcp 127.0.0.1 100000', rc: 1, out: 'rpcbind down' }, { cmd: 'rpcinfo', args: '*' }],
    rc: 1, out: 'ERROR: 00.portmapper check failed (1 in a row)\nrpcbind down\n' },

  { name: '70.iscsi.ipreallocated.001',
    setup: (s) => { s.file('iscsi/10.0.0.5.sh', '#!/bin/sh\necho target for 10.0.0.5 started\n', 0o755); s.file('iscsi/10.0.0.6.sh', '#!/bin/sh\necho wrong\n', 0o755); },
    env: { CTDB_START_ISCSI_SCRIPTS: '' }, // set per case below
    stubs: [{ cmd: 'ctdb', args: 'pnn', out: '1\n' }, { cmd: 'ctdb', args: '-X ip', out: '|Public IP|Node|\n|10.0.0.5|1|\n|10.0.0.6|0|\n' },
      { cmd: 'pkill', args: '-x tgtd', rc: 1 }],
    rc: 0, out: 'Starting iSCSI target for 10.0.0.5\ntarget for 10.0.0.5 started\n' },

  { name: '95.database.init.001',
    setup: (s) => { s.file('db/persistent/good.tdb.0', 'x'); s.file('db/persistent/bad.tdb.0', 'x'); },
    stubs: [{ cmd: 'ctdb-config', args: 'get database persistent database directory', out: '' }, // replaced in check
      { cmd: 'ctdb-config', args: 'get database state database directory', out: '/nonexistent\n' },
      { cmd: 'tdbtool', args: '*/good.tdb.0 check', out: 'Database integrity is OK and has 2 records.\n' },
      { cmd: 'tdbtool', args: '*/bad.tdb.0 check', rc: 1, out: 'tdb_check failed\n' }],
    rc: 0, out: /WARNING: database ".*\/bad\.tdb\.0" is corrupt; moved to ".*\/bad\.tdb\.0\.\d{8}\.\d{6}\.corrupt"/ },
];

function fixup(c: Case, s: ScriptSandbox): Case {
  // Values that depend on the sandbox's own paths.
  if (c.name === '70.iscsi.ipreallocated.001') return { ...c, env: { CTDB_START_ISCSI_SCRIPTS: join(s.root, 'iscsi') } };
  if (c.name === '05.system.monitor.001') return { ...c, env: { ...c.env, CTDB_PROC_MEMINFO: join(s.root, 'meminfo') } };
  if (c.name === '13.per_ip_routing.takeip.001') return { ...c, env: { ...c.env, CTDB_PER_IP_ROUTING_CONF: join(s.root, 'routing.conf') } };
  if (c.name === '50.samba.monitor.001') {
    return { ...c, stubs: [...c.stubs!, { cmd: 'testparm', args: '-s', out: `[data]\n\tpath = ${join(s.root, 'share1')}\n` }] };
  }
  if (c.name === '95.database.init.001') {
    const stubs = c.stubs!.map((r) => (r.args === 'get database persistent database directory' ? { ...r, out: `${join(s.root, 'db/persistent')}\n` } : r));
    return { ...c, stubs };
  }
  return c;
}

describe('event scripts with stub commands', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (name, c0) => {
    sb = new ScriptSandbox();
    const c = fixup(c0, sb);
    const [script, event] = [name.split('.').slice(0, 2).join('.'), name.split('.')[2]!];
    c.setup?.(sb);
    if (c.stubs) sb.stub(...c.stubs);
    const r = sb.run(`events/legacy/${script}.script`, [event, ...(c.args ?? [])], c.env ?? {});
    expect(r.calls.filter((l) => l.startsWith('UNEXPECTED'))).toEqual([]);
    if (typeof c.out === 'string') expect(r.out).toBe(c.out);
    else if (c.out) expect(r.out).toMatch(c.out);
    expect(r.rc, r.out).toBe(c.rc);
    if (c.calls) expect(r.calls).toEqual(c.calls);
    if (c.stdin !== undefined) expect(r.stdin).toBe(c.stdin);
    c.check?.(sb);
  });
});
