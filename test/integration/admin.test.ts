import { createServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, LocalCluster } from '../harness/cluster.js';
import { hasTmux, TmuxSession } from './admin-tmux.js';

const built = existsSync(join(DIST, 'ctdbd.js')) && existsSync(join(DIST, 'ctdb.js'));

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.231', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Flag column values of `-X nodestatus` for one PNN. */
const disabled = (c: LocalCluster, pnn: number): boolean => (c.ctdb(0, ['nodestatus', String(pnn)]).code & 0x4) !== 0;

describe.skipIf(!built)('admin surface on a 3-node cluster (127.0.0.231-233)', () => {
  let port = 0;
  let c: LocalCluster;
  const home = mkdtempSync(join(tmpdir(), 'ctdb-admin-home-'));

  beforeAll(async () => {
    port = await freePort();
    c = new LocalCluster({
      nodes: 3, firstOctet: 231, tunables: 'KeepaliveInterval=1\nKeepaliveLimit=2\n',
      extraConf: (pnn) => (pnn === 0 ? `[metrics]\n\tlisten = 127.0.0.231:${port}\n` : ''),
    });
    c.startAll();
    expect(await c.waitAllOk(0, 90_000)).toBe(true);
  }, 120_000);
  afterAll(async () => { await c?.stop(); rmSync(home, { recursive: true, force: true }); });

  describe('ctdb node', () => {
    it('maps status, disable and enable onto the classic commands', async () => {
      const st = c.ctdb(0, ['node', 'status', 'all']);
      expect(st.code).toBe(0);
      expect(st.stdout).toBe(c.ctdb(0, ['nodestatus', 'all']).stdout);
      expect(c.ctdb(0, ['node', 'disable', '1']).code).toBe(0);
      expect(disabled(c, 1)).toBe(true);
      expect(c.ctdb(0, ['node', 'enable', '1']).code).toBe(0);
      expect(await c.waitFor(() => !disabled(c, 1), 20_000)).toBe(true);
    });

    it('reads argument lines from stdin when the PNN is omitted', () => {
      const r = c.ctdb(0, ['node', 'disable'], { input: '1\n2\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(disabled(c, 1) && disabled(c, 2)).toBe(true);
      expect(c.ctdb(0, ['node', 'enable'], { input: '1\n\n2\n' }).code).toBe(0);
      expect(disabled(c, 1) || disabled(c, 2)).toBe(false);
    });

    it('reads command lines from stdin and reports the failing line and what was applied', () => {
      const r = c.ctdb(0, ['node'], { input: 'disable 1\n# a comment\nenable 1\nbogus 2\nenable 2\n' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Unknown node command 'bogus'");
      expect(r.stderr).toContain('ctdb node: batch stopped at line 4: bogus 2');
      expect(r.stderr).toContain('line 4 failed with exit code 1; 2 line(s) were applied before it (lines 1,3); later lines were not run');
      expect(disabled(c, 1)).toBe(false);
    });

    it('rejects a bad PNN and a missing node with the classic messages', () => {
      const r = c.ctdb(0, ['node', 'disable', 'x']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Invalid node 'x'");
      const u = c.ctdb(0, ['node', 'ban', '1']);
      expect(u.code).toBe(1);
      expect(u.stderr).toBe('Usage: ctdb node ban <pnn> <bantime>\n');
      const m = c.ctdb(0, ['node', 'stop', '7']);
      expect(m.code).toBe(1);
      expect(m.stderr).toContain('Node 7 does not exist');
    });
  });

  describe('ctdb db', () => {
    it('stores in persistent databases with transactions and in volatile ones with writekey', () => {
      expect(c.ctdb(0, ['db', 'attach', 'admin_p.tdb', 'persistent']).code).toBe(0);
      expect(c.ctdb(0, ['db', 'attach', 'admin_v.tdb']).code).toBe(0);
      const st = c.ctdb(0, ['db', 'store'], { input: 'admin_p.tdb k1 v1\nadmin_p.tdb k2 "two words"\n' });
      expect(st.code, st.stderr).toBe(0);
      expect(c.ctdb(1, ['db', 'fetch', 'admin_p.tdb', 'k2']).stdout).toBe('two words\n');
      expect(c.ctdb(1, ['pfetch', 'admin_p.tdb', 'k1']).stdout).toBe('v1\n');
      expect(c.ctdb(0, ['db', 'store', 'admin_v.tdb', 'a', 'b']).code).toBe(0);
      expect(c.ctdb(0, ['db', 'fetch', 'admin_v.tdb', 'a']).stdout).toBe('Data: size:1 ptr:[b]\n');
      expect(c.ctdb(0, ['db', 'delete', 'admin_p.tdb', 'k1']).code).toBe(0);
      expect(c.ctdb(0, ['pfetch', 'admin_p.tdb', 'k1']).stdout).toBe('\n');
    });

    it('stops a command batch at the first failure, keeping what came before', () => {
      const r = c.ctdb(0, ['db'], { input: 'store admin_p.tdb k3 v3\nstatus no_such.tdb\nstore admin_p.tdb k4 v4\n' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("No database matching 'no_such.tdb' found");
      expect(r.stderr).toContain('ctdb db: batch stopped at line 2: status no_such.tdb');
      expect(r.stderr).toContain('1 line(s) were applied before it (line 1)');
      expect(c.ctdb(0, ['pfetch', 'admin_p.tdb', 'k3']).stdout).toBe('v3\n');
      expect(c.ctdb(0, ['pfetch', 'admin_p.tdb', 'k4']).stdout).toBe('\n');
    });

    it('lists databases as JSON following getdbmap -X', () => {
      const r = c.ctdb(0, ['--json', 'db', 'list']);
      expect(r.code, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
      const p = rows.find((x) => x.name === 'admin_p.tdb');
      expect(p).toMatchObject({ persistent: 1, replicated: 0, unhealthy: 0 });
      expect(p!.id).toMatch(/^0x[0-9A-F]{8}$/);
      expect(rows.length).toBe(c.ctdb(0, ['-X', 'getdbmap']).stdout.trim().split('\n').length - 1);
    });
  });

  describe('--json on classic listings', () => {
    it('converts listnodes, listvars, getdbstatus and statistics', () => {
      expect(JSON.parse(c.ctdb(0, ['--json', 'listnodes']).stdout)).toEqual([
        { pnn: 0, address: '127.0.0.231' }, { pnn: 1, address: '127.0.0.232' }, { pnn: 2, address: '127.0.0.233' }]);
      const vars = JSON.parse(c.ctdb(0, ['-j', 'listvars']).stdout) as Record<string, number>;
      expect(vars.KeepaliveInterval).toBe(1);
      expect(Object.keys(vars).length).toBe(c.ctdb(0, ['listvars']).stdout.trim().split('\n').length);
      expect(JSON.parse(c.ctdb(0, ['--json', 'getdbstatus', 'admin_p.tdb']).stdout)).toMatchObject({ name: 'admin_p.tdb', PERSISTENT: 'yes' });
      const stats = JSON.parse(c.ctdb(0, ['--json', 'statistics']).stdout) as Record<string, number>;
      expect(stats['CTDB version']).toBe(1);
      expect(stats.num_clients).toBeGreaterThanOrEqual(1);
    });

    it('wraps single values and reads event results from ctdb-eventd', () => {
      expect(JSON.parse(c.ctdb(1, ['--json', 'pnn']).stdout)).toEqual({ pnn: 1 });
      const leader = JSON.parse(c.ctdb(0, ['--json', 'leader']).stdout) as { leader: number };
      expect(leader.leader).toBe(Number(c.ctdb(0, ['leader']).stdout));
      expect(JSON.parse(c.ctdb(0, ['--json', 'runstate']).stdout)).toEqual({ runstate: 'RUNNING' });
      const ev = c.ctdb(0, ['--json', 'scriptstatus']);
      expect(ev.code, ev.stderr).toBe(0);
      expect(JSON.parse(ev.stdout)).toMatchObject({ component: 'legacy', event: 'monitor', result: 0, scripts: [] });
      const st = c.ctdb(0, ['--json', 'event', 'status', 'legacy', 'monitor']);
      expect(st.code).toBe(c.ctdb(0, ['event', 'status', 'legacy', 'monitor']).code);
      expect(JSON.parse(st.stdout)).toMatchObject({ component: 'legacy', event: 'monitor' });
      const never = c.ctdb(0, ['--json', 'event', 'status', 'legacy', 'takeip']);
      expect(never.code).not.toBe(0);
      expect(never.stderr).toContain('Event takeip has never run in legacy');
    });

    it('refuses commands without a JSON form', () => {
      const r = c.ctdb(0, ['--json', 'uptime']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("--json is not supported for 'uptime'");
      expect(r.stdout).toBe('');
    });
  });

  describe('ctdb event and ctdb ip', () => {
    it('runs event sub-commands from stdin lines', () => {
      const one = c.ctdb(0, ['event', 'status', 'legacy', 'monitor']);
      const batch = c.ctdb(0, ['event'], { input: 'status legacy monitor\n' });
      expect(batch.code).toBe(one.code);
      expect(batch.stdout).toBe(one.stdout);
    });

    it('keeps "ctdb ip" classic and maps "ctdb ip list"', () => {
      const classic = c.ctdb(0, ['ip']);
      expect(classic.code).toBe(0);
      expect(classic.stdout).toContain('Public IPs on node 0');
      expect(c.ctdb(0, ['ip', 'list']).stdout).toBe(classic.stdout);
      expect(JSON.parse(c.ctdb(0, ['--json', 'ip', 'list']).stdout)).toEqual([]);
    });

    it('routes "ctdb ip connection" to the ip command', () => {
      const r = c.ctdb(0, ['ip', 'connection', 'frobnicate']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Unknown ip connection command 'frobnicate'");
    });
  });

  describe('metrics', () => {
    it('prints Prometheus text for statistics', () => {
      const r = c.ctdb(1, ['statistics', '--prometheus']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('# TYPE ctdb_node_packets_total counter\n');
      expect(r.stdout).toMatch(/^ctdb_up\{pnn="1"\} 1$/m);
      expect(r.stdout).toMatch(/^ctdb_node_ok\{pnn="1",node="2",address="127\.0\.0\.233"\} 1$/m);
      // Every sample line is NAME{labels} VALUE.
      for (const line of r.stdout.trim().split('\n')) {
        if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$/);
      }
      expect(c.ctdb(0, ['--prometheus', 'status']).code).toBe(1);
    });

    it('serves the same families from the daemon endpoint', async () => {
      const res = await fetch(`http://127.0.0.231:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const text = await res.text();
      expect(text).toMatch(/^ctdb_up\{pnn="0"\} 1$/m);
      expect(text).toMatch(/^ctdb_generation\{pnn="0"\} \d+$/m);
      expect((await fetch(`http://127.0.0.231:${port}/other`)).status).toBe(404);
    });

    it('validates [metrics] listen in ctdb.conf', () => {
      const base = mkdtempSync(join(tmpdir(), 'ctdb-admin-conf-'));
      try {
        const validate = (text: string) => {
          writeFileSync(join(base, 'ctdb.conf'), text);
          return spawnSync(process.execPath, [join(DIST, 'ctdb-config.js'), 'validate'],
            { env: { ...process.env, CTDB_BASE: base, CTDB_TEST_MODE: 'yes' }, encoding: 'utf8' });
        };
        expect(validate('[metrics]\n\tlisten = 127.0.0.1:9479\n').status).toBe(0);
        const bad = validate('[metrics]\n\tlisten = localhost\n');
        expect(bad.status).not.toBe(0);
        expect(bad.stderr).toContain('ctdb.conf:2: invalid value for [metrics] -> "listen"');
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    });
  });

  describe('interactive prompt', () => {
    it('never prompts when stdin is piped', () => {
      const r = c.ctdb(0, [], { input: 'status\n' });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('Usage:');
      expect(r.stdout).not.toContain('ctdb>');
    });

    it.skipIf(!hasTmux)('completes, keeps going after a bad line, recalls history, quits (tmux)', async () => {
      const env = { ...c.env(0), HOME: home, CTDB_HISTFILE: join(home, 'hist') };
      const t = new TmuxSession('ctdb-admin', `${process.execPath} ${join(DIST, 'ctdb.js')}`, env);
      try {
        expect(await t.waitScreen((s) => s.includes('ctdb>'))).toContain('ctdb>');
        // Keys are sent one burst at a time: readline treats a multi-key burst as a paste and does not complete it.
        t.send(['nodes'], true); await new Promise((r) => setTimeout(r, 300));
        t.send(['Tab']); await new Promise((r) => setTimeout(r, 300));
        t.send([' all'], true); t.send(['Enter']);
        let screen = await t.waitScreen((s) => s.includes('pnn:2 127.0.0.233'));
        expect(screen).toContain('ctdb> nodestatus all');
        t.send(['frobnicate'], true); t.send(['Enter']);
        screen = await t.waitScreen((s) => s.includes("Unknown command 'frobnicate'"));
        expect(screen).toContain("Unknown command 'frobnicate'");
        t.send(['node li'], true); await new Promise((r) => setTimeout(r, 300));
        t.send(['Tab']); await new Promise((r) => setTimeout(r, 300));
        t.send(['Enter']);
        screen = await t.waitScreen((s) => s.includes('ctdb> node list') && /127\.0\.0\.233\n/.test(s.split('ctdb> node list')[1] ?? ''));
        expect(screen).toContain('ctdb> node list');
        t.send(['Up']); await new Promise((r) => setTimeout(r, 200));
        t.send(['Up']); await new Promise((r) => setTimeout(r, 200));
        screen = await t.waitScreen((s) => s.trimEnd().endsWith('ctdb> frobnicate'), 20);
        expect(screen.trimEnd().endsWith('ctdb> frobnicate')).toBe(true);
        t.send(['C-u']); t.send(['quit'], true); t.send(['Enter']);
        screen = await t.waitScreen((s) => s.includes('EXITED'));
        expect(screen).toContain('EXITED 0');
      } finally {
        t.kill();
      }
    }, 60_000);
  });
});
